"""Offerings, search and the request -> quote -> accept -> bind flow over the API."""

from datetime import UTC, datetime, timedelta

from marketplace.extensions import db
from marketplace.market.models import CoverageRequest, Offering

R = "/api/v1"


def jpy(n):
    return {"amount": str(n), "currency": "JPY"}


OFFER = {"title": "Test cover", "perils": ["theft_hack", "insider_fraud", "operational_failure"],
         "jurisdictions": ["JP"], "min_limit": jpy(100), "max_limit": jpy(1000), "capacity": jpy(2000),
         "deductible": jpy(10), "min_term_months": 12, "max_term_months": 24, "indicative_rate": "0.01",
         "status": "listed"}


def later(days=7):
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_create_offering_validation_and_approval(world):
    r = world.call("post", f"{R}/offerings", "tokio", json=OFFER)
    assert r.status_code == 201 and r.json["status"] == "listed" and r.json["capacity_used"] == jpy(0)
    bad = world.call("post", f"{R}/offerings", "tokio", json={**OFFER, "perils": ["asteroid"], "indicative_rate": 0.01,
                                                              "min_term_months": 0, "min_limit": jpy(5000)})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json["errors"]} == {"#/perils/0", "#/indicative_rate", "#/min_term_months"}
    incons = world.call("post", f"{R}/offerings", "tokio", json={**OFFER, "min_limit": jpy(5000)})
    assert incons.status_code == 422 and {e["pointer"] for e in incons.json["errors"]} == {"#/min_limit"}
    nova = world.call("post", f"{R}/offerings", "nova", json=OFFER)  # pending approval: cannot list
    assert nova.status_code == 409 and "not approved" in nova.json["detail"]
    draft = world.call("post", f"{R}/offerings", "nova", json={**OFFER, "status": "draft"})
    assert draft.status_code == 201
    assert world.call("post", f"{R}/offerings/{draft.json['id']}/list", "nova").status_code == 409
    assert world.call("post", f"{R}/offerings", "sakura", json=OFFER).status_code == 403


def test_search_filters_sort_and_eligibility(world):
    hits = world.call("get", f"{R}/offerings?jurisdiction=JP&sort=rate", "sakura").json
    titles = [h["offering"]["title"] for h in hits["items"]]
    assert titles == ["Hot-wallet theft cover", "Exchange crime and custody cover (JPY)",
                      "Global digital-asset cover (USD)"]
    by = {h["offering"]["title"]: h for h in hits["items"]}
    harbour = by["Hot-wallet theft cover"]
    assert harbour["insurer_rating"] == "BBB" and not harbour["eligibility"]["eligible"]
    assert harbour["eligibility"]["failing_checks"] == ["insurer_rating"]
    assert by["Exchange crime and custody cover (JPY)"]["eligibility"]["eligible"]
    assert by["Exchange crime and custody cover (JPY)"]["remaining_capacity"] == jpy(17_000_000_000)
    q = world.call("get", f"{R}/offerings?perils=custodian_failure,theft_hack&currency=JPY&min_rating=A", "sakura")
    assert [h["offering"]["title"] for h in q.json["items"]] == ["Exchange crime and custody cover (JPY)"]
    q = world.call("get", f"{R}/offerings?sort=-capacity&per_page=1", "sakura")
    assert q.json["total"] == 3 and q.json["items"][0]["offering"]["title"] == "Exchange crime and custody cover (JPY)"
    assert 'rel="next"' in q.headers["Link"]
    q = world.call("get", f"{R}/offerings?limit=3000000000&jurisdiction=EU", "rhein")
    assert q.json["total"] == 0
    bad = world.call("get", f"{R}/offerings?sort=cheap&perils=asteroid&min_rating=Z", "sakura")
    assert bad.status_code == 422 and {e["parameter"] for e in bad.json["errors"]} >= {"sort", "min_rating"}


def test_suspended_insurer_drops_out_at_once(world):
    harbour = world.org("harbour").id
    assert world.call("post", f"{R}/insurers/{harbour}/suspend", "fsa", json={"reason": "capital"}).status_code == 200
    hits = world.call("get", f"{R}/offerings?jurisdiction=JP", "sakura").json["items"]
    assert "Hot-wallet theft cover" not in [h["offering"]["title"] for h in hits]
    # still approved in HK: HK callers see it, JP callers cannot request it
    hk = world.call("get", f"{R}/offerings?jurisdiction=HK", "victoria").json["items"]
    assert "Hot-wallet theft cover" in [h["offering"]["title"] for h in hk]
    offering = db.session.query(Offering).filter_by(title="Hot-wallet theft cover").one()
    r = world.call("post", f"{R}/coverage-requests", "sakura", json={
        "offering": offering.id, "limit": jpy(500_000_000), "term_start": "2027-01-01", "term_months": 12})
    assert r.status_code == 404


def test_request_quote_accept_bind(world):
    o = world.call("post", f"{R}/offerings", "tokio", json=OFFER).json
    req = world.call("post", f"{R}/coverage-requests", "sakura", json={
        "offering": o["id"], "limit": jpy(800), "term_start": "2027-01-01", "term_months": 12,
        "perils": ["theft_hack"], "message": "please"})
    assert req.status_code == 201 and req.json["status"] == "requested"
    rid = req.json["id"]
    early = world.call("post", f"{R}/coverage-requests/{rid}/bind", "tokio", json={})
    assert early.status_code == 409 and early.json["current_state"] == "requested"
    assert world.call("post", f"{R}/coverage-requests/{rid}/accept", "sakura").json["current_state"] == "requested"
    q = world.call("post", f"{R}/coverage-requests/{rid}/quote", "tokio", json={
        "premium": jpy(8), "deductible": jpy(20), "expires_at": later()})
    assert q.status_code == 200 and q.json["status"] == "quoted"
    assert q.json["quote"]["term_end"] == "2027-12-31" and q.json["quote"]["deductible"] == jpy(20)
    assert world.call("post", f"{R}/coverage-requests/{rid}/quote", "sakura", json={
        "premium": jpy(8), "expires_at": later()}).status_code == 403
    assert world.call("post", f"{R}/coverage-requests/{rid}/accept", "sakura").json["status"] == "accepted"
    b = world.call("post", f"{R}/coverage-requests/{rid}/bind", "tokio", json={"policy_number": "T-1"})
    assert b.status_code == 200 and b.json["status"] == "bound" and b.json["policy"]
    pol = world.call("get", f"{R}/policies/{b.json['policy']}", "sakura").json
    assert (pol["number"], pol["limit"], pol["deductible"], pol["source"]) == ("T-1", jpy(800), jpy(20), "market")
    assert world.call("get", f"{R}/offerings/{o['id']}", "tokio").json["capacity_used"] == jpy(800)
    again = world.call("post", f"{R}/coverage-requests/{rid}/bind", "tokio", json={})
    assert again.status_code == 409 and again.json["current_state"] == "bound"


def test_a_quote_for_a_term_starting_mid_month_ends_the_day_before_its_anniversary(world):
    o = world.call("post", f"{R}/offerings", "tokio", json=OFFER).json
    rid = world.call("post", f"{R}/coverage-requests", "sakura", json={
        "offering": o["id"], "limit": jpy(800), "term_start": "2027-01-15", "term_months": 12}).json["id"]
    q = world.call("post", f"{R}/coverage-requests/{rid}/quote", "tokio",
                   json={"premium": jpy(8), "expires_at": later()})
    assert q.status_code == 200 and q.json["quote"]["term_end"] == "2028-01-14"  # 12 months, not 11 and a half


def test_quote_expiry_decline_and_withdraw(world):
    o = world.call("post", f"{R}/offerings", "tokio", json=OFFER).json
    body = {"offering": o["id"], "limit": jpy(500), "term_start": "2027-01-01", "term_months": 12}
    rid = world.call("post", f"{R}/coverage-requests", "sakura", json=body).json["id"]
    world.call("post", f"{R}/coverage-requests/{rid}/quote", "tokio", json={"premium": jpy(5), "expires_at": later()})
    row = db.session.get(CoverageRequest, rid)
    row.quote_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert world.call("get", f"{R}/coverage-requests/{rid}", "sakura").json["status"] == "expired"
    r = world.call("post", f"{R}/coverage-requests/{rid}/accept", "sakura")
    assert r.status_code == 409 and r.json["current_state"] == "expired"
    rid2 = world.call("post", f"{R}/coverage-requests", "sakura", json=body).json["id"]
    d = world.call("post", f"{R}/coverage-requests/{rid2}/decline", "tokio", json={"reason": "too risky"})
    assert d.json["status"] == "declined" and d.json["decline_reason"] == "too risky"
    rid3 = world.call("post", f"{R}/coverage-requests", "sakura", json=body).json["id"]
    assert world.call("post", f"{R}/coverage-requests/{rid3}/withdraw", "sakura").json["status"] == "withdrawn"
    assert world.call("post", f"{R}/coverage-requests/{rid3}/quote", "tokio", json={
        "premium": jpy(5), "expires_at": later()}).json["current_state"] == "withdrawn"
    assert world.call("get", f"{R}/coverage-requests?status=declined", "tokio").json["total"] == 1


def test_request_must_fit_the_offering(world):
    o = world.call("post", f"{R}/offerings", "tokio", json=OFFER).json
    r = world.call("post", f"{R}/coverage-requests", "sakura", json={
        "offering": o["id"], "limit": jpy(5000), "term_start": "2027-01-01", "term_months": 48,
        "perils": ["custodian_failure"]})
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json["errors"]} == {"#/limit/amount", "#/term_months", "#/perils"}
    r = world.call("post", f"{R}/coverage-requests", "sakura", json={
        "offering": o["id"], "limit": {"amount": "500", "currency": "USD"}, "term_start": "2027-01-01",
        "term_months": 12})
    assert r.json["errors"][0]["pointer"] == "#/limit/currency"
    r = world.call("post", f"{R}/coverage-requests", "rhein", json={
        "offering": o["id"], "limit": jpy(500), "term_start": "2027-01-01", "term_months": 12})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "#/offering"  # a JP-only offering
