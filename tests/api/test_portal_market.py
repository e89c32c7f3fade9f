"""The market's portal pages over HTTP: offerings (create, edit, withdraw, relist), search with eligibility,
request -> quote -> accept -> bind, each change checked in the database and through the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from marketplace.extensions import db
from marketplace.market.models import CoverageRequest, Offering
from marketplace.policies.models import Policy
from tests.portal_client import text_of

R = "/api/v1"
NEW = "/market/offerings/new"


def field_error(resp, name: str) -> str:
    """The message shown next to a form field (empty when there is none)."""
    m = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">(.*?)</p>', resp.get_data(as_text=True), re.S)
    return m.group(1).strip() if m else ""


def offering_form(**over) -> dict:
    form = {"title": "Portal cover", "perils": ["theft_hack", "insider_fraud", "operational_failure"],
            "jurisdictions": ["JP"], "currency": "JPY", "min_limit": "¥100,000,000", "max_limit": "1,000,000,000",
            "capacity": "2 000 000 000", "deductible": "10,000,000", "min_term_months": "12",
            "max_term_months": "24", "indicative_rate": "0.011", "cancellation_notice_days": "90",
            "status": "listed"}
    form.update(over)
    return form


def create(portal, **over) -> Offering:
    c = portal("tokio")
    r = c.post(NEW, offering_form(**over), page=NEW)
    assert r.status_code == 302, text_of(r)[:600]
    return db.session.query(Offering).filter_by(title=over.get("title", "Portal cover")).one()


def request_cover(portal, offering: Offering, **over) -> CoverageRequest:
    c = portal("sakura")
    page = f"/market/offerings/{offering.id}/request"
    form = {"limit": "500,000,000", "term_start": "2027-01-01", "term_months": "12", "message": "for 2027"}
    form.update(over)
    r = c.post(page, form, page=page)
    assert r.status_code == 302, text_of(r)[:600]
    return db.session.get(CoverageRequest, r.headers["Location"].rsplit("/", 1)[1])


def in_a_week() -> str:
    return (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")


def test_an_insurer_creates_an_offering_typed_in_major_units(portal, world):
    o = create(portal)
    assert (o.min_limit, o.max_limit, o.capacity, o.deductible) == (100_000_000, 1_000_000_000, 2_000_000_000,
                                                                     10_000_000)
    assert (o.status, o.currency, o.indicative_rate, o.perils) == (
        "listed", "JPY", "0.011", ["insider_fraud", "operational_failure", "theft_hack"])
    api = world.call("get", f"{R}/offerings/{o.id}", "tokio").json
    assert api["capacity"] == {"amount": "2000000000", "currency": "JPY"} and api["status"] == "listed"
    usd = create(portal, title="Dollar cover", currency="USD", min_limit="1,000.50", max_limit="$10,000",
                 capacity="20000", deductible="0.99", status="draft")
    assert (usd.min_limit, usd.max_limit, usd.deductible, usd.status) == (100_050, 1_000_000, 99, "draft")

    page = text_of(portal("tokio").get("/market/offerings"))
    assert "Portal cover" in page and "¥2,000,000,000" in page and "Dollar cover" in page
    assert "Withdraw Portal cover" in page and "List Dollar cover" in page and "Edit Portal cover" in page


def test_a_refused_offering_shows_each_error_next_to_its_field_and_keeps_nothing(portal):
    c = portal("tokio")
    before = db.session.query(Offering).count()
    r = c.post(NEW, offering_form(min_limit="12.5", max_limit="-3", capacity="lots", perils=[],
                                  indicative_rate="1.5", min_term_months="0"), page=NEW)
    assert r.status_code == 422
    assert "JPY amounts have no decimals" in field_error(r, "min_limit")
    assert "negative" in field_error(r, "max_limit")
    assert "enter an amount in JPY" in field_error(r, "capacity")
    assert field_error(r, "perils") and field_error(r, "indicative_rate") and field_error(r, "min_term_months")
    assert 'value="lots"' in r.get_data(as_text=True)  # what was typed comes back
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    # consistent one by one, but not together: the service's rules, next to the field
    r = c.post(NEW, offering_form(min_limit="5,000,000,000", min_term_months="36"), page=NEW)
    assert r.status_code == 422 and "must not exceed max_limit" in field_error(r, "min_limit")
    assert "must not exceed max_term_months" in field_error(r, "min_term_months")
    r = c.post(NEW, offering_form(min_limit="0"), page=NEW)  # the database's limit_range, refused before it
    assert r.status_code == 422 and "above 0" in field_error(r, "min_limit")
    r = c.post(NEW, offering_form(currency="XXX"), page=NEW)
    assert r.status_code == 422 and field_error(r, "currency")
    # listing where the insurer is not approved: harbour is not approved in the EU
    r = portal("harbour").post(NEW, offering_form(jurisdictions=["EU"]), page=NEW)
    assert r.status_code == 422 and "not approved in EU" in field_error(r, "jurisdictions")
    assert db.session.query(Offering).count() == before


def test_edit_withdraw_and_relist_an_offering(portal, world):
    o = create(portal)
    c = portal("tokio")
    edit = f"/market/offerings/{o.id}/edit"
    form = c.get(edit)
    assert form.status_code == 200 and 'value="2,000,000,000"' in form.get_data(as_text=True)
    r = c.post(edit, offering_form(title="Portal cover v2", capacity="3,000,000,000", indicative_rate="0.0105"),
               page=edit)
    assert r.status_code == 302
    api = world.call("get", f"{R}/offerings/{o.id}", "tokio").json
    assert (api["title"], api["capacity"]["amount"], api["indicative_rate"]) == ("Portal cover v2", "3000000000",
                                                                                 "0.0105")
    r = c.post(edit, offering_form(title="Portal cover v2", capacity="500,000,000"), page=edit)
    assert r.status_code == 422 and "at least max_limit" in field_error(r, "capacity")
    # capacity never below what is bound
    db.session.get(Offering, o.id).capacity_used = 1_500_000_000
    db.session.commit()
    r = c.post(edit, offering_form(title="Portal cover v2", max_limit="1,000,000,000", capacity="1,000,000,000"),
               page=edit)
    assert r.status_code == 422 and "already bound" in field_error(r, "capacity")
    assert db.session.get(Offering, o.id).capacity == 3_000_000_000

    r = c.post(f"/market/offerings/{o.id}/withdraw", page="/market/offerings")
    assert r.status_code == 302
    assert world.call("get", f"{R}/offerings/{o.id}", "tokio").json["status"] == "withdrawn"
    page = text_of(c.get("/market/offerings"))
    assert "Relist Portal cover v2" in page and "withdrawn" in page.lower()
    twice = c.post(f"/market/offerings/{o.id}/withdraw", page="/market/offerings")  # a double submit
    assert twice.status_code == 422 and "cannot move an offering from withdrawn to withdrawn" in text_of(twice)
    assert c.post(f"/market/offerings/{o.id}/list", page="/market/offerings").status_code == 302
    assert world.call("get", f"{R}/offerings/{o.id}", "tokio").json["status"] == "listed"

    # another insurer may see a listed offering in the market but never change it
    h = portal("harbour")
    assert h.get(edit).status_code == 403
    assert h.post(f"/market/offerings/{o.id}/withdraw", page="/market/offerings").status_code == 403
    assert world.call("get", f"{R}/offerings/{o.id}", "tokio").json["status"] == "listed"


def test_search_shows_eligibility_with_failing_checks_in_words(portal):
    c = portal("sakura")
    r = c.get("/market")
    assert r.status_code == 200
    page = text_of(r)
    assert "3 offerings found" in page
    hot = page[page.index("Hot-wallet theft cover"):]
    assert "Not eligible" in hot[:2000] and "Insurer rating: rating BBB; minimum A" in hot[:2000]
    jpy = page[page.index("Exchange crime and custody cover (JPY)"):]
    assert "Eligible" in jpy[:1500] and "¥17,000,000,000" in jpy[:1500]  # remaining capacity
    r = c.get("/market?perils=custodian_failure&perils=theft_hack&currency=JPY&min_rating=A")
    assert "1 offerings found" in text_of(r) and "Hot-wallet theft cover" not in text_of(r)
    r = c.get("/market?currency=JPY&limit=3,000,000,000&sort=-capacity")
    titles = re.findall(r"<h3 [^>]*>(.*?)</h3>", r.get_data(as_text=True))
    assert titles == ["Exchange crime and custody cover (JPY)"]
    first = c.get("/market?per_page=1&sort=-capacity")
    assert re.findall(r"<h3 [^>]*>(.*?)</h3>", first.get_data(as_text=True)) == [
        "Exchange crime and custody cover (JPY)"]
    assert "Page 1 of 3" in text_of(first)
    nxt = re.search(r'href="([^"]*page=2[^"]*)"', first.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert "per_page=1" in nxt and "sort=-capacity" in nxt and "Page 2 of 3" in text_of(c.get(nxt))
    bad = c.get("/market?limit=abc&currency=JPY&sort=cheap")
    assert bad.status_code == 422 and "enter an amount in JPY" in field_error(bad, "limit") and field_error(bad, "sort")
    bad = c.get("/market?min_capacity=5")
    assert bad.status_code == 422 and "currency" in field_error(bad, "min_capacity").lower()


def test_request_quote_accept_bind_over_the_portal(portal, world):
    o = create(portal)
    sakura, tokio, harbour = portal("sakura"), portal("tokio"), portal("harbour")
    page = f"/market/offerings/{o.id}/request"
    assert "Request cover: Portal cover" in text_of(sakura.get(page))
    r = sakura.post(page, {"limit": "5,000,000,000", "term_start": "2027-01-01", "term_months": "48"}, page=page)
    assert r.status_code == 422 and "must be between" in field_error(r, "limit")
    assert "must be between 12 and 24" in field_error(r, "term_months")
    r = sakura.post(page, {"limit": "5e9", "term_start": "2027-02-30", "term_months": "12"}, page=page)
    assert r.status_code == 422 and field_error(r, "limit") and field_error(r, "term_start")
    assert db.session.query(CoverageRequest).filter_by(offering_id=o.id).count() == 0

    req = request_cover(portal, o, perils=["theft_hack"])
    assert (req.status, req.limit, req.perils, req.term_months) == ("requested", 500_000_000, ["theft_hack"], 12)
    assert world.call("get", f"{R}/coverage-requests/{req.id}", "sakura").json["status"] == "requested"

    incoming = text_of(tokio.get("/market/requests/incoming"))
    assert "Sakura Digital Exchange" in incoming and f"Request {req.id[:8].upper()}" in incoming
    detail = f"/market/requests/{req.id}"
    # another insurer can neither see nor quote it
    assert harbour.get(detail).status_code == 404
    assert harbour.post(f"{detail}/quote", {"premium": "1", "expires_at": in_a_week()},
                        page="/market/requests/incoming").status_code == 404
    assert req.id not in harbour.get("/market/requests/incoming").get_data(as_text=True)

    r = tokio.post(f"{detail}/quote", {"premium": "six million", "expires_at": "2001-01-01T00:00"}, page=detail)
    assert r.status_code == 422 and "enter an amount in JPY" in field_error(r, "premium")
    r = tokio.post(f"{detail}/quote", {"premium": "6,000,000", "expires_at": "2001-01-01T00:00"}, page=detail)
    assert r.status_code == 422 and "in the future" in field_error(r, "expires_at")
    r = tokio.post(f"{detail}/quote", {"premium": "6,000,000", "deductible": "600,000,000",
                                       "expires_at": in_a_week()}, page=detail)
    assert r.status_code == 422 and "below the limit" in field_error(r, "deductible")
    assert world.call("get", f"{R}/coverage-requests/{req.id}", "tokio").json["status"] == "requested"
    r = tokio.post(f"{detail}/quote", {"premium": "6,000,000", "limit": "500,000,000", "deductible": "5,000,000",
                                       "term_start": "2027-01-01", "expires_at": in_a_week()}, page=detail)
    assert r.status_code == 302
    quote = world.call("get", f"{R}/coverage-requests/{req.id}", "sakura").json["quote"]
    assert quote["premium"]["amount"] == "6000000" and quote["term_end"] == "2027-12-31"

    mine = sakura.get("/market/requests")
    text = text_of(mine)
    assert "Quoted" in text and "¥6,000,000" in text and "Accept quote for Portal cover" in text
    assert tokio.post(f"{detail}/bind", {}, page=detail).status_code == 422  # not accepted yet
    assert sakura.post(f"{detail}/accept", page="/market/requests").status_code == 302
    assert world.call("get", f"{R}/coverage-requests/{req.id}", "sakura").json["status"] == "accepted"

    r = tokio.post(f"{detail}/bind", {"policy_number": "x" * 65}, page=detail)
    assert r.status_code == 422 and field_error(r, "policy_number")
    r = tokio.post(f"{detail}/bind", {"policy_number": "PORTAL-1"}, page=detail)
    assert r.status_code == 302
    got = world.call("get", f"{R}/coverage-requests/{req.id}", "tokio").json
    assert got["status"] == "bound"
    policy = world.call("get", f"{R}/policies/{got['policy']}", "sakura").json
    assert (policy["number"], policy["limit"]["amount"], policy["deductible"]["amount"], policy["source"]) == (
        "PORTAL-1", "500000000", "5000000", "market")
    assert db.session.get(Offering, o.id).capacity_used == 500_000_000
    shown = text_of(tokio.get(detail))
    assert "policy PORTAL-1 exists" in shown and "Bound" in shown
    assert "PORTAL-1" in text_of(sakura.get(detail))
    # a double submit binds nothing twice
    r = tokio.post(f"{detail}/bind", {"policy_number": "PORTAL-2"}, page=detail)
    assert r.status_code == 422 and "cannot bind a request that is bound" in text_of(r)
    assert db.session.query(Policy).filter(Policy.number.in_(["PORTAL-1", "PORTAL-2"])).count() == 1
    assert db.session.get(Offering, o.id).capacity_used == 500_000_000


def test_bind_with_a_used_policy_number_is_refused_next_to_the_field(portal, world):
    o = create(portal)
    req = request_cover(portal, o)
    detail = f"/market/requests/{req.id}"
    tokio = portal("tokio")
    r = tokio.post(f"{detail}/quote", {"premium": "1,000", "expires_at": in_a_week()}, page=detail)
    assert r.status_code == 302
    assert portal("sakura").post(f"{detail}/accept", page=detail).status_code == 302
    r = tokio.post(f"{detail}/bind", {"policy_number": "TMC-2026-0001"}, page=detail)  # the demo's bound policy
    assert r.status_code == 422 and "already used" in field_error(r, "policy_number")
    assert world.call("get", f"{R}/coverage-requests/{req.id}", "tokio").json["status"] == "accepted"
    assert db.session.get(Offering, o.id).capacity_used == 0


def test_decline_with_a_reason_and_withdraw(portal, world):
    o = create(portal)
    first, second = request_cover(portal, o), request_cover(portal, o, limit="200,000,000")
    tokio, sakura = portal("tokio"), portal("sakura")
    detail = f"/market/requests/{first.id}"
    r = tokio.post(f"{detail}/decline", {"reason": ""}, page=detail)
    assert r.status_code == 422 and field_error(r, "reason")
    assert tokio.post(f"{detail}/decline", {"reason": "aggregate full"}, page=detail).status_code == 302
    got = world.call("get", f"{R}/coverage-requests/{first.id}", "sakura").json
    assert (got["status"], got["decline_reason"]) == ("declined", "aggregate full")
    assert "aggregate full" in text_of(sakura.get("/market/requests"))
    assert sakura.post(f"/market/requests/{second.id}/withdraw", page="/market/requests").status_code == 302
    assert world.call("get", f"{R}/coverage-requests/{second.id}", "sakura").json["status"] == "withdrawn"
    r = sakura.post(f"/market/requests/{second.id}/withdraw", page="/market/requests")
    assert r.status_code == 422 and "cannot withdraw a request that is withdrawn" in text_of(r)
    # the exchange cannot act for the insurer, nor another exchange for it
    assert sakura.post(f"/market/requests/{second.id}/decline", {"reason": "x"}, page=detail).status_code == 403
    assert portal("rhein").get(f"/market/requests/{second.id}").status_code == 404


def test_each_side_keeps_to_its_own_pages(portal):
    sakura, tokio = portal("sakura"), portal("tokio")
    for path in ("/market/offerings", "/market/offerings/new", "/market/requests/incoming"):
        assert sakura.get(path).status_code == 403, path
    for path in ("/market", "/market/requests"):
        assert tokio.get(path).status_code == 403, path
    o = db.session.query(Offering).filter_by(title="Hot-wallet theft cover").one()
    assert tokio.get(f"/market/offerings/{o.id}/request").status_code == 403
    assert portal("fsa").get("/market").status_code == 403
    from tests.portal_client import PortalClient

    anonymous = PortalClient(portal("sakura").app).get("/market/offerings")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_pages_in_japanese(portal):
    c = portal("sakura")
    page = text_of(c.get("/market", headers={"Accept-Language": "ja"}))
    assert "不適格" in page and "保険会社の格付: rating BBB; minimum A" in page and "検索" in page
    o = db.session.query(Offering).filter_by(title="Hot-wallet theft cover").one()
    r = c.post(f"/market/offerings/{o.id}/request", {"limit": "1.5", "term_start": "2027-01-01", "term_months": "12"},
               page=f"/market/offerings/{o.id}/request", headers={"Accept-Language": "ja"})
    assert r.status_code == 422 and "引受を依頼" in text_of(r) and field_error(r, "limit")


def test_an_unknown_or_invisible_offering_is_404(portal):
    c = portal("sakura")
    assert c.get("/market/offerings/nope/request").status_code == 404
    draft = create(portal, title="Quiet draft", status="draft")
    assert c.get(f"/market/offerings/{draft.id}/request").status_code == 404  # a draft is not in the market


def test_an_empty_offering_form_names_its_fields_by_their_labels_and_links_each_error(portal):
    """The summary names the fields as the page labels them (never a code name such as min_term_months), and
    a checkbox group points at its error as every other field does (aria-describedby on its fieldset)."""
    c = portal("tokio")
    r = c.post(NEW, {"status": "listed"}, page=NEW)
    assert r.status_code == 422
    summary = re.search(r"Check these fields: ([^<]*)", r.get_data(as_text=True)).group(1)
    for label in ("Title", "Perils covered", "Jurisdictions", "Minimum limit per insured", "Total capacity",
                  "Shortest term (months)", "Indicative rate"):
        assert label in summary, summary
    assert "_" not in summary, summary
    page = r.get_data(as_text=True)
    for group in ("perils", "jurisdictions"):
        fieldset = re.search(rf'<fieldset[^>]*id="{group}"[^>]*>', page).group(0)
        described = re.search(r'aria-describedby="([^"]*)"', fieldset)
        assert described and f"{group}-error" in described.group(1).split(), fieldset
        assert 'aria-invalid="true"' in fieldset and field_error(r, group)
