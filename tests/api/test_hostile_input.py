"""Hostile input of every class gets a clear 4xx naming the bad field, never a 500 (issue 11)."""

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from tests.api.test_certificates_api import issue, jp_obligation, verify_api
from tests.api.test_policies_allocations_api import jpy, register

R = "/api/v1"
HUGE = str(2**64)


def named(r, name: str) -> bool:
    return any(name in (e.get("parameter"), e.get("pointer"), e.get("header")) for e in r.json.get("errors", []))


@pytest.mark.parametrize(("path", "param"), [
    ("/offerings?page=" + HUGE, "page"),
    ("/offerings?per_page=" + HUGE, "per_page"),
    ("/certificates?page=" + HUGE, "page"),
    ("/policies?page=-" + HUGE, "page"),
    ("/log/checkpoints?after=" + HUGE, "after"),
    (f"/log/proofs/inclusion?index={HUGE}&tree_size=1", "index"),
    (f"/log/proofs/inclusion?index=0&tree_size={HUGE}", "tree_size"),
    (f"/log/proofs/consistency?first=1&second={HUGE}", "second"),
    (f"/log/entries?start={HUGE}&end=1", "start"),
    (f"/log/entries?start=0&end={HUGE}", "end"),
    (f"/status-lists/{HUGE}", "list_id"),
])
def test_integers_beyond_64_bits_are_422_naming_the_parameter(world, path, param):
    r = world.call("get", R + path, "fsa")
    assert r.status_code == 422, (path, r.status_code, r.json)
    assert r.mimetype == "application/problem+json" and named(r, param), r.json


def incident(**over):
    body = {"occurred_on": "2026-01-10", "kind": "hack", "loss": jpy(1000), "compensated": jpy(10)}
    body.update(over)
    return body


@pytest.mark.parametrize("bad", [{"amount": {"x": 1}, "currency": "JPY"}, {"amount": ["1"], "currency": "JPY"},
                                 {"amount": "-5", "currency": "JPY"}, {"amount": "5", "currency": ["JPY"]},
                                 [1], "1000", 1000, None, {"amount": "１０", "currency": "JPY"}])
def test_money_of_the_wrong_shape_is_422_on_json_batches_and_corrections(world, bad):
    for body in (incident(loss=bad), [incident(), incident(compensated=bad)]):
        r = world.call("post", f"{R}/reports/incidents", "sakura", json=body)
        assert r.status_code == 422, (bad, r.json)
        assert any("/loss" in e["pointer"] or "/compensated" in e["pointer"] for e in r.json["errors"]), r.json
    made = world.call("post", f"{R}/reports/incidents", "sakura", json=incident())
    assert made.status_code == 200, made.json
    incident_id = made.json["items"][0]["id"]
    r = world.call("post", f"{R}/reports/incidents/{incident_id}/corrections", "sakura", json=incident(loss=bad))
    assert r.status_code == 422 and any(e["pointer"].startswith("#/loss") for e in r.json["errors"]), r.json


def test_negative_or_malformed_money_in_csv_is_422_with_the_line(world):
    csv = ("occurred_on,kind,loss,compensated,currency\n2026-01-10,hack,-5,0,JPY\n"
           "2026-01-11,hack,{},0,JPY\n2026-01-12,hack,10,99999999999999999999999,JPY\n")
    r = world.call("post", f"{R}/reports/incidents", "sakura", data=csv, headers={"Content-Type": "text/csv"})
    assert r.status_code == 422, r.json
    assert {e["line"] for e in r.json["errors"]} == {2, 3, 4}


@pytest.mark.parametrize("path", ["/verify", "/reports/incidents", "/policies", "/obligations",
                                  "/organizations"])
@pytest.mark.parametrize(("body", "reason"), [("[" * 1000 + "]" * 1000, "nested deeper"),
                                              ('{"a":' * 5000 + "1" + "}" * 5000, "nested deeper"),
                                              ('{"name": "\\ud800"}', "surrogate"),
                                              ('{"amount": 1e999}', "out of range"),
                                              ('{"amount": NaN}', "NaN")])
def test_unreadable_json_is_400_with_the_reason(world, path, body, reason):
    r = world.call("post", R + path, "fsa", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.mimetype == "application/problem+json", r.get_data(as_text=True)[:300]
    assert reason in r.json["detail"]


@pytest.mark.parametrize("name", ["Evil\x00Insurer", "Line\r\nBreak", "Tab\tIn Name", "Bell\x07", "Sep\u2028"])
def test_control_characters_in_names_are_refused(world, name):
    r = world.call("post", f"{R}/organizations", "fsa", json={"kind": "insurer", "name": name})
    assert r.status_code == 422 and named(r, "#/name"), r.json
    assert "control characters" in r.json["errors"][0]["detail"]


def test_multiline_description_keeps_newlines_but_not_other_controls(world):
    ok = world.call("post", f"{R}/reports/incidents", "sakura", json=incident(description="line one\nline two"))
    assert ok.status_code == 200 and ok.json["items"][0]["description"] == "line one\nline two", ok.json
    bad = world.call("post", f"{R}/reports/incidents", "sakura", json=incident(description="nul\x00"))
    assert bad.status_code == 422 and named(bad, "#/description")


@pytest.mark.parametrize("period", ["2027-Q1\n", "２０２７-Q1", "2027-Q1 ", " 2027", "2027-q1", "2027-Q5",
                                    "2027-13", "١٢٣٤"])
def test_period_strings_are_ascii_and_exact(world, period):
    before = db.session.scalar(select(func.count()).select_from(ObligationRecord))
    r = world.call("post", f"{R}/obligations", "sakura", json={"period": period})
    assert r.status_code == 422 and named(r, "#/period"), (period, r.json)
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(ObligationRecord)) == before


def test_an_obligation_with_two_allocations_of_one_policy_is_certified(world):
    pid = register(world, number="TOPUP-1", limit=2_000_000).json["id"]
    assert world.call("post", f"{R}/policies/{pid}/attestations/custodial", "tokio").status_code == 201
    ob = jp_obligation(world)
    for amount in (300_000, 200_000):
        r = world.call("post", f"{R}/obligations/{ob}/allocations", "sakura",
                       json={"policy": pid, "amount": jpy(amount)})
        assert r.status_code == 201, r.json
    report = world.call("get", f"{R}/obligations/{ob}/offset", "sakura").json
    mine = [a for a in report["allocations"] if a["policy_number"] == "TOPUP-1"]
    assert len(mine) == 2 and all(a["eligible"] for a in mine), mine
    cert = issue(world)
    subject = cert["credential"]["credentialSubject"]
    [entry] = [c for c in subject["coverage"] if c["policyNumber"] == "TOPUP-1"]
    assert entry["allocated"] == "500000"
    assert int(entry["eligibleOffset"]) == sum(int(a["eligible_offset"]["amount"]) for a in mine)
    assert len({c["policyNumber"] for c in subject["coverage"]}) == len(subject["coverage"])
    body, checks = verify_api(world, cert["jws"])
    assert body["valid"] is True, checks


@pytest.mark.parametrize("body", ["month,product_class,amount,currency\r\n2026-01,sp\rot,1,JPY\n",
                                  "month,product_class,amount,currency\n2026-01,spot,1\x00,JPY\n",
                                  'month,product_class,amount,currency\n"2026-01,spot,1,JPY\n'])
def test_unreadable_csv_is_422_with_the_line(world, body):
    r = world.call("post", f"{R}/reports/volumes", "sakura", data=body, headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and r.mimetype == "application/problem+json", r.get_data(as_text=True)[:300]
    assert all("line" in e for e in r.json["errors"])


def test_validators_do_not_pile_up_across_requests(world):
    """Hardening replaces a field's validator list once per schema instance; it never grows."""
    for _ in range(3):
        r = world.call("post", f"{R}/organizations", "fsa", json={"kind": "insurer", "name": "a\x00b"})
        assert [e["detail"] for e in r.json["errors"]].count(r.json["errors"][0]["detail"]) == 1
