"""Rule-sets version 2 over HTTP: sourced-parameter counts, the diff of two versions, other storage and fixed
overheads (projected, Art. 67(3) deductions) in the reporting API and the portal's report forms."""

from __future__ import annotations

import io

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.reports.models import CustodyBalanceRecord, FixedOverheads
from tests.portal_client import text_of

R = "/api/v1"


def test_every_listed_version_says_how_many_parameters_are_sourced(world):
    items = world.call("get", f"{R}/rulesets", "sakura").json["items"]
    got = {(i["id"], i["version"]): i["sourced"] for i in items}
    assert got == {("EU-MiCA-67", "1"): {"count": 0, "of": 10}, ("EU-MiCA-67", "2"): {"count": 13, "of": 15},
                   ("HK-SFC-VATP", "1"): {"count": 0, "of": 7}, ("HK-SFC-VATP", "2"): {"count": 6, "of": 8},
                   ("JP-FSA-2026", "1"): {"count": 0, "of": 20}, ("JP-FSA-2026", "2"): {"count": 0, "of": 21}}
    one = world.call("get", f"{R}/rulesets/HK-SFC-VATP/versions/2", "tokio").json
    assert one["sourced"] == {"count": 6, "of": 8} and one["effective_from"] == "2027-04-01"
    assert one["document"]["params"]["custody_rates"]["value"] == {"hot": "1", "other": "1", "cold": "0.5"}


def test_the_diff_names_parameters_added_removed_and_changed_with_their_sources(world):
    r = world.call("get", f"{R}/rulesets/diff?from=JP-FSA-2026@1&to=JP-FSA-2026@2", "victoria")
    assert r.status_code == 200, r.json
    d = r.json
    assert d["from"]["sourced"] == {"count": 0, "of": 20} and d["to"]["sourced"] == {"count": 0, "of": 21}
    assert d["from"]["digest"].startswith("sha256:") and d["same"] is False
    assert [a["name"] for a in d["added"]] == ["perils.required", "perils.vocabulary", "unnotified_custodian_loading"]
    added = {a["name"]: a["new"] for a in d["added"]}
    assert "事前届出" in added["unnotified_custodian_loading"]["source"]
    assert [x["name"] for x in d["removed"]] == ["required_perils", "unregistered_custodian_loading"]
    assert d["removed"][1]["old"]["source"].startswith("Financial System Council WG report")
    changed = {c["name"]: c for c in d["changed"]}
    custody = changed["custody_rates"]
    assert custody["parts"] == ["value", "source"]
    assert custody["keys"] == [{"key": "cold", "old": None, "new": "0.01"}, {"key": "hot", "old": "0.01", "new": None}]
    assert custody["old"]["source"].startswith("Financial System Council WG report (2025-12-10)")
    assert custody["new"]["source"].startswith("service proposal (no published value)")
    assert custody["new"]["sourced"] is False
    assert {"field": "effective_from", "old": "2026-04-01", "new": "2027-04-01"} in d["header"]
    eu = world.call("get", f"{R}/rulesets/diff?from=EU-MiCA-67@1&to=EU-MiCA-67@2", "rhein").json
    eu_changed = {c["name"]: c for c in eu["changed"]}
    assert eu_changed["max_insurance_share"]["new"]["sourced"] is True
    assert "(b)-(c)" in eu_changed["max_insurance_share"]["old"]["source"]
    assert "(c)" not in eu_changed["max_insurance_share"]["new"]["source"]
    same = world.call("get", f"{R}/rulesets/diff?from=HK-SFC-VATP@2&to=HK-SFC-VATP@2", "tokio").json
    assert same["same"] is True and not same["changed"] and len(same["unchanged"]) == 8


def test_the_diff_refuses_unknown_or_malformed_versions_naming_each_field(world):
    r = world.call("get", f"{R}/rulesets/diff?from=JP-FSA-2026@9&to=nonsense", "sakura")
    assert r.status_code == 422 and r.content_type.startswith("application/problem+json")
    pointers = {e["pointer"]: e["detail"] for e in r.json["errors"]}
    assert "no rule-set JP-FSA-2026@9 is published" in pointers["#/from"]
    assert "ID@VERSION" in pointers["#/to"]
    assert world.call("get", f"{R}/rulesets/diff?from=JP-FSA-2026@1", "sakura").status_code == 422
    assert world.call("get", f"{R}/rulesets/diff?from=JP-FSA-2026@1&to=JP-FSA-2026@2").status_code == 401


def test_the_diff_is_documented_in_openapi(openapi_doc):
    op = openapi_doc["paths"]["/api/v1/rulesets/diff"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"from", "to"}
    assert "sourced" in openapi_doc["components"]["schemas"]["RuleSetSummary"]["properties"]


def test_custody_accepts_other_storage_as_json_and_csv(world):
    r = world.call("post", f"{R}/reports/custody", "victoria",
                   json={"as_of": "2027-03-31", "wallet": "other", "amount": {"amount": "500", "currency": "HKD"}})
    assert r.status_code == 200 and r.json["items"][0]["wallet"] == "other"
    r = world.call("post", f"{R}/reports/custody", "victoria", data="as_of,wallet,amount,currency\n"
                   "2027-04-30,other,600,HKD\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json["created"] == 1
    bad = world.call("post", f"{R}/reports/custody", "victoria",
                     json={"as_of": "2027-03-31", "wallet": "warm", "amount": {"amount": "1", "currency": "HKD"}})
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "#/wallet"


def test_fixed_overheads_with_projected_and_deductions(world):
    rhein = world.org("rhein").id
    r = world.call("post", f"{R}/reports/overheads", "rhein", json={
        "fiscal_year": 2027, "amount": {"amount": "90000000", "currency": "EUR"},
        "deductions": {"amount": "10000000", "currency": "EUR"}, "projected": True})
    assert r.status_code == 200, r.json
    item = r.json["items"][0]
    assert (item["fiscal_year"], item["projected"], item["deductions"]) == (
        2027, True, {"amount": "10000000", "currency": "EUR"})
    # CSV: deductions and projected are optional columns; a row for 2026 corrects the demo's report
    r = world.call("post", f"{R}/reports/overheads", "rhein", data="fiscal_year,amount,currency,deductions\n"
                   "2026,100000000,EUR,20000000\n2025,90000000,EUR,\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and (r.json["corrected"], r.json["unchanged"]) == (1, 1), r.json
    row = db.session.scalar(select(FixedOverheads).filter_by(exchange_id=rhein, fiscal_year=2026))
    assert (row.amount, row.deductions, row.projected, row.revision) == (100_000_000, 20_000_000, False, 2)
    listed = world.call("get", f"{R}/reports/overheads?from=2026-01-01", "rhein").json["items"]
    assert [i["fiscal_year"] for i in listed] == [2026, 2027]
    hist = world.call("get", f"{R}/reports/overheads/{row.id}/history", "rhein").json["items"]
    assert [h["data"]["deductions"] for h in hist] == [0, 20_000_000]
    assert world.call("get", f"{R}/reports/overheads/{row.id}/history", "sakura").status_code == 404
    # refusals name the field
    bad = world.call("post", f"{R}/reports/overheads", "rhein", json={
        "fiscal_year": 2026, "amount": {"amount": "10", "currency": "EUR"},
        "deductions": {"amount": "11", "currency": "EUR"}})
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "#/deductions"
    bad = world.call("post", f"{R}/reports/overheads", "rhein", json={
        "fiscal_year": 2026, "amount": {"amount": "10", "currency": "JPY"}})
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "#/amount/currency"


def test_a_mica_obligation_under_version_2_is_net_of_the_reported_deductions(world):
    """Rhein (classes 2, 3) corrects its 2026 overheads with deductions. Version 2 for 2027-Q2 uses them net:
    EUR 1,000,000.00 - 200,000.00 = 800,000.00 x 0.25 = 200,000.00 (20,000,000 cents) > class 3 capital
    15,000,000. (The first-year firm: tests/integration/test_rulesets_v2.py.)"""
    world.call("post", f"{R}/reports/overheads", "rhein", json={
        "fiscal_year": 2026, "amount": {"amount": "100000000", "currency": "EUR"},
        "deductions": {"amount": "20000000", "currency": "EUR"}})
    r = world.call("post", f"{R}/obligations", "rhein", json={"period": "2027-Q2"})
    assert r.status_code == 201, r.json
    assert r.json["ruleset"]["version"] == "2" and r.json["total"] == {"amount": "20000000", "currency": "EUR"}
    line = next(ln for ln in r.json["lines"] if ln["component"] == "fixed_overheads")
    assert "net of the Art. 67(3) deductions" in line["explanation"]


def send(c, kind: str, form: dict):
    return c.post(f"/reports/{kind}", form, page="/reports/")


def test_the_portal_reports_other_storage_and_fixed_overheads(world, portal):
    c = portal("rhein")
    rhein = world.org("rhein").id
    page = text_of(c.get("/reports/"))
    assert "Fixed overheads" in page and "Deductions (Art. 67(3))" in page and "other storage" in page
    resp = send(c, "custody", {"custody-as_of": "2027-03-31", "custody-wallet": "other",
                               "custody-amount": "€1,000.00"})
    assert resp.status_code == 302
    other = db.session.scalar(select(CustodyBalanceRecord).filter_by(exchange_id=rhein, wallet="other"))
    assert other.amount == 100_000
    resp = send(c, "overheads", {"overheads-fiscal_year": "2027", "overheads-amount": "€900,000.00",
                                 "overheads-deductions": "100,000.00", "overheads-projected": "true"})
    assert resp.status_code == 302
    row = db.session.scalar(select(FixedOverheads).filter_by(exchange_id=rhein, fiscal_year=2027))
    assert (row.amount, row.deductions, row.projected) == (90_000_000, 10_000_000, True)
    assert "projected (first year)" in text_of(c.get("/reports/"))
    resp = send(c, "overheads", {"overheads-fiscal_year": "2026", "overheads-amount": "10.00",
                                 "overheads-deductions": "11.00"})
    assert resp.status_code == 422 and "must not exceed the amount" in resp.get_data(as_text=True)
    body = "fiscal_year,amount,currency,projected\n2028,100,EUR,false\n"
    resp = c.post("/reports/overheads/csv", {"overheads-csv": (io.BytesIO(body.encode()), "o.csv")},
                  page="/reports/", content_type="multipart/form-data")
    assert resp.status_code == 302
    assert db.session.scalar(select(FixedOverheads).filter_by(exchange_id=rhein, fiscal_year=2028)).amount == 100


def test_the_portal_shows_version_2_and_its_diff_from_version_1(portal):
    c = portal("fsa")
    detail = c.get("/rulesets/HK-SFC-VATP/versions/2")
    assert detail.status_code == 200
    text = text_of(detail)
    assert "perils.vocabulary" in text and "custody_risk" in text and "other: 1" in text
    diff = c.get("/rulesets/diff?from=JP-FSA-2026@1&to=JP-FSA-2026@2")
    assert diff.status_code == 200
    text = text_of(diff)
    assert "Parameters added (3)" in text and "unnotified_custodian_loading" in text and "事前届出" in text
    assert "Parameters removed (2)" in text and "cold: — → 0.01" in text
