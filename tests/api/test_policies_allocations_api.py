"""Policies (register, amend, cancel, lapse, events) and allocations (attach, refuse, detach, offset)."""

from datetime import date, timedelta

from sqlalchemy import select

from marketplace.events.models import Event
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.policies.models import Policy

R = "/api/v1"


def jpy(n):
    return {"amount": str(n), "currency": "JPY"}


def register(world, number="REG-1", limit=1_000_000, **kw):
    body = {"number": number, "insured": world.org("sakura").id, "limit": jpy(limit), "deductible": jpy(0),
            "perils": ["theft_hack", "insider_fraud", "operational_failure"], "term_start": "2026-12-01",
            "term_end": "2028-11-30", "cancellation_notice_days": 90, **kw}
    return world.call("post", f"{R}/policies", "tokio", json=body)


def obligation_id(world) -> str:
    return db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=world.org("sakura").id))


def events(kind):
    db.session.remove()
    return db.session.scalars(select(Event).filter_by(kind=kind)).all()


def test_register_and_read_policies(world):
    r = register(world)
    assert r.status_code == 201 and r.json["revision"] == 1 and r.json["revisions"][0]["limit"] == jpy(1_000_000)
    dup = register(world)
    assert dup.status_code == 409 and dup.json["errors"][0]["pointer"] == "#/number"
    bad = register(world, number="REG-2", deductible=jpy(2_000_000), term_end="2020-01-01", perils=[])
    assert bad.status_code == 422 and {e["pointer"] for e in bad.json["errors"]} == {"#/perils"}
    bad = register(world, number="REG-2", deductible=jpy(2_000_000), term_end="2020-01-01")
    assert {e["pointer"] for e in bad.json["errors"]} == {"#/deductible", "#/term_end"}
    assert register(world, number="X", insured=world.org("rhein").id).status_code == 201  # Tokio approved in EU
    assert world.call("post", f"{R}/policies", "harbour", json={
        "number": "H", "insured": world.org("rhein").id, "limit": jpy(1), "deductible": jpy(0),
        "perils": ["theft_hack"],
        "term_start": "2027-01-01", "term_end": "2027-12-31", "cancellation_notice_days": 90}).status_code == 422
    assert world.call("get", f"{R}/policies", "sakura").json["total"] == 4  # 3 demo + REG-1
    assert world.call("get", f"{R}/policies", "fsa").json["total"] == 4
    assert world.call("get", f"{R}/policies", "harbour").json["total"] == 1
    assert world.call("get", f"{R}/policies/{r.json['id']}", "victoria").status_code == 404


def test_amend_creates_revision_event_and_flags_over_limit(world):
    pid = register(world).json["id"]
    ob = obligation_id(world)
    assert world.call("post", f"{R}/obligations/{ob}/allocations", "sakura",
                      json={"policy": pid, "amount": jpy(800_000)}).status_code == 201
    r = world.call("post", f"{R}/policies/{pid}/amend", "tokio", json={"limit": jpy(500_000)})
    assert r.status_code == 200 and r.json["revision"] == 2 and len(r.json["revisions"]) == 2
    assert r.json["revisions"][0]["limit"] == jpy(1_000_000)
    [ev] = events("policy.amended")
    assert ev.subject_id == pid and ev.payload["before"]["limit_amount"] == 1_000_000
    assert len(ev.payload["over_limit_allocations"]) == 1
    allocs = world.call("get", f"{R}/obligations/{ob}/allocations", "sakura").json["items"]
    assert [a["over_limit"] for a in allocs if a["policy"] == pid] == [True]
    refused = world.call("post", f"{R}/obligations/{ob}/allocations", "sakura", json={"policy": pid, "amount": jpy(1)})
    assert refused.status_code == 409 and refused.json["remaining"] == jpy(0)
    assert world.call("post", f"{R}/policies/{pid}/amend", "tokio", json={}).status_code == 422
    assert world.call("post", f"{R}/policies/{pid}/amend", "tokio",
                      json={"limit": {"amount": "1", "currency": "USD"}}).status_code == 422


def test_cancel_respects_notice_and_records_event(world):
    pid = register(world).json["id"]
    soon = (date.today() + timedelta(days=30)).isoformat()
    r = world.call("post", f"{R}/policies/{pid}/cancel", "tokio", json={"effective_on": soon})
    earliest = (date.today() + timedelta(days=90)).isoformat()
    assert r.status_code == 422 and earliest in r.json["detail"]
    assert events("policy.cancelled") == []
    r = world.call("post", f"{R}/policies/{pid}/cancel", "tokio",
                   json={"effective_on": earliest, "reason": "non-payment"})
    assert r.status_code == 200 and r.json["status"] == "cancelled" and r.json["cancelled_effective"] == earliest
    [ev] = events("policy.cancelled")
    assert ev.payload == {"effective_on": earliest, "reason": "non-payment", "policy_id": pid, "number": "REG-1",
                          "insurer_id": world.org("tokio").id, "exchange_id": world.org("sakura").id,
                          "jurisdiction": "JP"}
    again = world.call("post", f"{R}/policies/{pid}/cancel", "tokio", json={"effective_on": earliest})
    assert again.status_code == 409 and again.json["current_state"] == "cancelled"


def test_lapse_only_after_term_end(world):
    pid = register(world).json["id"]
    r = world.call("post", f"{R}/policies/{pid}/lapse", "tokio")
    assert r.status_code == 409 and "2028-11-30" in r.json["detail"]
    old = register(world, number="OLD", term_start="2024-01-01", term_end="2025-12-31").json["id"]
    assert world.call("post", f"{R}/policies/{old}/lapse", "tokio").json["status"] == "lapsed"
    assert [e.subject_id for e in events("policy.lapsed")] == [old]


def test_lapse_sweep(world):
    from marketplace.policies.service import lapse_expired

    old = register(world, number="OLD", term_start="2024-01-01", term_end="2025-12-31").json["id"]
    assert lapse_expired(date.today()) == [old]
    db.session.commit()
    assert lapse_expired(date.today()) == []


def test_demo_offset_report(world):
    """Demo JP 2027-Q1 obligation 5,883,337,500 JPY, rule-set JP-FSA-2026@1:
    TMC-2026-0001 (Tokio, A; limit 3bn, deductible 50m) allocated 2,000,000,000:
        deductible share 50m x 2/3 = 33,333,333.33 -> 33,333,333;
        1,966,666,667 x 0.95 = 1,868,333,333.65 -> 1,868,333,334
    TMC-USD-0042 (Tokio, USD limit 10,000,000.00, deductible 100,000.00) allocated USD 5,000,000.00:
        share 100,000.00 x 1/2 = 50,000.00; 4,950,000.00 x 0.95 = 4,702,500.00;
        x 150.25 (USD/JPY 2026-12-30) = 706,550,625 JPY; x (1 - 0.08) = 650,026,575
    HSR-JP-7781 (Harbour, BBB < A-): fails insurer_rating -> 0
    Tokio total 2,518,359,909 <= 50% cap 2,941,668,750; total <= 80% cap 4,706,670,000.
    Offset 2,518,359,909; net cash reserve 3,364,977,591."""
    rep = world.call("get", f"{R}/obligations/{obligation_id(world)}/offset", "sakura").json
    by = {a["policy_number"]: a for a in rep["allocations"]}
    assert by["TMC-2026-0001"]["eligible_offset"] == jpy(1_868_333_334)
    assert by["TMC-USD-0042"]["eligible_offset"] == jpy(650_026_575)
    assert by["TMC-USD-0042"]["fx"]["rate"] == "150.25" and by["TMC-USD-0042"]["fx"]["source"]
    assert [s["amount"] for s in by["TMC-USD-0042"]["steps"]] == [
        {"amount": "5000000", "currency": "USD"}, {"amount": "470250000", "currency": "USD"},
        jpy(706_550_625), jpy(650_026_575)]
    assert by["HSR-JP-7781"]["eligible_offset"] == jpy(0)
    assert [c["name"] for c in by["HSR-JP-7781"]["checks"] if not c["ok"]] == ["insurer_rating"]
    assert rep["total_offset"] == jpy(2_518_359_909) and rep["net_reserve"] == jpy(3_364_977_591)
    assert rep["ruleset"]["id"] == "JP-FSA-2026" and rep["caps"] == []
    assert world.call("get", f"{R}/obligations/{obligation_id(world)}/offset", "fsa").status_code == 200


def test_attach_refusals_and_detach(world):
    ob = obligation_id(world)
    tmc = db.session.scalar(select(Policy).filter_by(number="TMC-2026-0001"))
    r = world.call("post", f"{R}/obligations/{ob}/allocations", "sakura",
                   json={"policy": tmc.id, "amount": jpy(1_000_000_001)})
    assert r.status_code == 409 and r.json["remaining"] == jpy(1_000_000_000)
    assert "remains" in r.json["detail"]
    ok = world.call("post", f"{R}/obligations/{ob}/allocations", "sakura",
                    json={"policy": tmc.id, "amount": jpy(1_000_000_000)})
    assert ok.status_code == 201
    usd = world.call("post", f"{R}/obligations/{ob}/allocations", "sakura",
                     json={"policy": tmc.id, "amount": {"amount": "1", "currency": "USD"}})
    assert usd.status_code == 422 and usd.json["errors"][0]["pointer"] == "#/amount/currency"
    other = register(world, number="FOR-RHEIN", insured=world.org("rhein").id).json["id"]
    assert world.call("post", f"{R}/obligations/{ob}/allocations", "sakura",
                      json={"policy": other, "amount": jpy(1)}).status_code == 404
    d = world.call("delete", f"{R}/obligations/{ob}/allocations/{ok.json['id']}", "sakura")
    assert d.status_code == 200 and d.json["status"] == "detached"
    assert world.call("delete", f"{R}/obligations/{ob}/allocations/{ok.json['id']}", "sakura").status_code == 409
    assert world.call("get", f"{R}/policies/{tmc.id}", "sakura").json["allocated"] == jpy(2_000_000_000)


def test_recompute_carries_cover_and_records_event(world):
    old = obligation_id(world)
    world.call("post", f"{R}/reports/incidents", "sakura", json={
        "occurred_on": "2026-12-01", "kind": "operational_failure", "loss": jpy(1), "compensated": jpy(1)})
    new = world.call("post", f"{R}/obligations", "sakura", json={"period": "2027-Q1"}).json
    assert new["revision"] == 2
    [ev] = [e for e in events("obligation.computed") if e.payload["revision"] == 2]
    assert ev.subject_id == new["id"] and ev.payload["previous_id"] == old
    assert len(world.call("get", f"{R}/obligations/{new['id']}/allocations", "sakura").json["items"]) == 3
    assert all(a["status"] == "detached" for a in
               world.call("get", f"{R}/obligations/{old}/allocations", "sakura").json["items"])
    r = world.call("post", f"{R}/obligations/{old}/allocations", "sakura",
                   json={"policy": db.session.scalar(select(Policy.id).filter_by(number="TMC-2026-0001")),
                         "amount": jpy(1)})
    assert r.status_code == 409 and "superseded" in r.json["detail"]


def test_insurer_suspension_records_event(world):
    harbour = world.org("harbour").id
    world.call("post", f"{R}/insurers/{harbour}/suspend", "fsa", json={"reason": "capital"})
    [ev] = events("insurer.suspended")
    assert ev.subject_id == harbour and ev.payload == {"jurisdiction": "JP", "reason": "capital",
                                                       "insurer_id": harbour, "name": "Harbour Specialty Re"}
    assert ev.audience == [harbour] and ev.jurisdiction == "JP"


def test_an_amendment_that_changes_nothing_names_what_could_change(world):
    pid = register(world, number="AMEND-0").json["id"]
    for body in ({}, {"perils": ["theft_hack", "insider_fraud", "operational_failure"]}):
        r = world.call("post", f"{R}/policies/{pid}/amend", "tokio", json=body)
        assert r.status_code == 422 and r.json["errors"] == [
            {"pointer": "#", "detail": "change at least one of limit, deductible, perils, term_start, term_end, "
                                       "territories"}], r.json
    assert world.call("get", f"{R}/policies/{pid}", "tokio").json["revision"] == 1
