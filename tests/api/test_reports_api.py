"""Reporting: single, JSON array and CSV; all-or-nothing with every bad row named; corrections and history."""

from marketplace.extensions import db
from marketplace.reports.models import IncidentRecord, MonthlyVolume

R = "/api/v1/reports"


def csv_body(rows: list[str]) -> str:
    return "month,product_class,amount,currency\n" + "\n".join(rows) + "\n"


def count(model):
    return db.session.query(model).count()


def test_single_volume_then_correction_with_history(world):
    body = {"month": "2027-01", "product_class": "spot", "amount": {"amount": "1000", "currency": "JPY"}}
    r = world.call("post", f"{R}/volumes", "sakura", json=body)
    assert r.status_code == 200 and r.json["created"] == 1
    vid = r.json["items"][0]["id"]
    same = world.call("post", f"{R}/volumes", "sakura", json=body)
    assert same.json["unchanged"] == 1
    body["amount"]["amount"] = "1500"
    fixed = world.call("post", f"{R}/volumes", "sakura", json=body).json
    assert fixed["corrected"] == 1 and fixed["items"][0]["revision"] == 2 and fixed["items"][0]["id"] == vid
    hist = world.call("get", f"{R}/volume/{vid}/history", "sakura").json["items"]
    assert [(h["revision"], h["data"]["amount"]) for h in hist] == [(1, 1000), (2, 1500)]
    assert all(h["recorded_by"].startswith("client:") and h["recorded_at"] for h in hist)
    assert world.call("get", f"{R}/volume/{vid}/history", "fsa").status_code == 200
    assert world.call("get", f"{R}/volume/{vid}/history", "bafin").status_code == 404


def test_csv_upload_of_twelve_months(world):
    rows = [f"2027-{m:02d},spot,{1_000_000 * m},JPY" for m in range(1, 13)]
    r = world.call("post", f"{R}/volumes", "sakura", data=csv_body(rows), content_type="text/csv")
    assert r.status_code == 200 and r.json["created"] == 12
    listed = world.call("get", f"{R}/volumes?from=2027-01-01&per_page=100", "sakura").json
    assert listed["total"] == 12 and listed["items"][2]["amount"] == {"amount": "3000000", "currency": "JPY"}


def test_csv_all_or_nothing_names_every_bad_row(world):
    before = count(MonthlyVolume)
    rows = ["2027-01,spot,100,JPY", "2027-13,spot,100,JPY", "2027-02,futures,-5,JPY", "2027-03,spot,1.5,JPY",
            "2027-04,spot,100,USD"]
    r = world.call("post", f"{R}/volumes", "sakura", data=csv_body(rows), content_type="text/csv")
    assert r.status_code == 422
    got = {(e["pointer"], e.get("line")) for e in r.json["errors"]}
    assert got == {("#/1/month", 3), ("#/2/product_class", 4), ("#/2/amount/amount", 4), ("#/3/amount/amount", 5)}
    assert count(MonthlyVolume) == before
    r = world.call("post", f"{R}/volumes", "sakura", data=csv_body(["2027-04,spot,100,USD"]), content_type="text/csv")
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "#/0/amount/currency"
    r = world.call("post", f"{R}/volumes", "sakura", data="when,what\n1,2\n", content_type="text/csv")
    assert r.status_code == 422 and r.json["errors"][0]["line"] == 1
    assert count(MonthlyVolume) == before


def test_json_array_bulk_and_duplicates(world):
    row = {"month": "2027-05", "product_class": "margin", "amount": {"amount": "7", "currency": "JPY"}}
    r = world.call("post", f"{R}/volumes", "sakura", json=[row, {**row, "month": "2027-06"}])
    assert r.json["created"] == 2
    r = world.call("post", f"{R}/volumes", "sakura", json=[row, row])
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "#/1"
    r = world.call("post", f"{R}/volumes", "sakura", json=[row, "x", {"month": "2027-07"}])
    assert {e["pointer"] for e in r.json["errors"]} == {"#/1", "#/2/product_class", "#/2/amount"}
    assert world.call("post", f"{R}/volumes", "sakura", json=[]).status_code == 422


def test_custody_and_incidents_with_correction(world):
    r = world.call("post", f"{R}/custody", "sakura", json={"as_of": "2027-01-31", "wallet": "hot",
                                                            "amount": {"amount": "5", "currency": "JPY"}})
    assert r.json["created"] == 1
    inc = {"occurred_on": "2026-11-01", "kind": "hack", "loss": {"amount": "100", "currency": "JPY"},
           "compensated": {"amount": "150", "currency": "JPY"}}
    bad = world.call("post", f"{R}/incidents", "sakura", json=inc)
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "#/compensated"
    inc["compensated"]["amount"] = "40"
    made = world.call("post", f"{R}/incidents", "sakura", json=inc).json["items"][0]
    corr = world.call("post", f"{R}/incidents/{made['id']}/corrections", "sakura",
                      json={**inc, "compensated": {"amount": "100", "currency": "JPY"}, "description": "repaid"})
    assert corr.status_code == 200 and corr.json["revision"] == 2 and corr.json["description"] == "repaid"
    hist = world.call("get", f"{R}/incident/{made['id']}/history", "sakura").json["items"]
    assert [h["data"]["compensated"] for h in hist] == [40, 100]
    assert world.call("post", f"{R}/incidents/{made['id']}/corrections", "victoria", json=inc).status_code == 404
    csv = "occurred_on,kind,loss,compensated,currency,description\n2026-10-01,insider_fraud,9,0,JPY,rogue trader\n"
    r = world.call("post", f"{R}/incidents", "sakura", data=csv, content_type="text/csv")
    assert r.json["created"] == 1 and r.json["items"][0]["description"] == "rogue trader"
    assert db.session.get(IncidentRecord, made["id"]).compensated == 100


def test_who_may_report_and_read(world):
    body = {"month": "2027-01", "product_class": "spot", "amount": {"amount": "1", "currency": "JPY"}}
    assert world.call("post", f"{R}/volumes", "fsa", json=body).status_code == 403
    assert world.call("post", f"{R}/volumes", "sakura", data="x", content_type="text/plain").status_code == 415
    sakura = world.org("sakura").id
    regulator_view = world.call("get", f"{R}/volumes?exchange={sakura}&per_page=5", "fsa").json
    assert regulator_view["total"] == 72
    assert world.call("get", f"{R}/volumes?exchange={sakura}", "bafin").json["total"] == 0
    assert world.call("get", f"{R}/volumes", "victoria").json["total"] == 24
