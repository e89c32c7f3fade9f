"""Supervision API and page (DESIGN 10): exposure, scenarios, certificate status at an instant, exports.
Regulator tokens only; each regulator sees its own exchanges and nothing else."""

import csv
import io

import pytest
from sqlalchemy import select

from marketplace.certificates import service as certificates
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.portal.catalog import missing
from marketplace.tlog import sequencer
from tests.portal_client import text_of

R = "/api/v1"


def jpy(n):
    return {"amount": str(n), "currency": "JPY"}


def test_exposure_sums_to_the_total_offset_and_matches_the_offset_report(world):
    r = world.call("get", f"{R}/supervision/exposure", "fsa")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["jurisdiction"] == "JP" and body["currency"] == "JPY" and body["exchanges"] == 1
    assert sum(int(i["eligible_offset"]["amount"]) for i in body["insurers"]) == int(body["total_offset"]["amount"])
    ob = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=world.org("sakura").id))
    offset = world.call("get", f"{R}/obligations/{ob}/offset", "fsa").json
    assert body["total_offset"]["amount"] == offset["total_offset"]["amount"]
    tokio = next(i for i in body["insurers"] if i["name"] == "Tokio Mutual Cyber")
    assert tokio["share_of_offsets"] == "1.000000" and tokio["exchanges"] == 1
    assert tokio["largest_share_exchange"] == world.org("sakura").id
    total = int(offset["obligation"]["amount"])
    assert abs(float(tokio["largest_share"]) * total - int(tokio["eligible_offset"]["amount"])) <= total * 1e-6


def test_only_regulators_and_only_their_own_exchanges(world):
    for who in ("sakura", "victoria"):  # exchanges hold obligations:read, but this is a regulator's view
        r = world.call("get", f"{R}/supervision/exposure", who)
        assert r.status_code == 403 and r.mimetype == "application/problem+json"
        assert world.call("post", f"{R}/supervision/scenarios", who, json={"failed_insurers": []}).status_code == 403
        assert world.call("get", f"{R}/supervision/exports/obligations.csv", who).status_code == 403
    for who in ("tokio", "harbour"):  # insurers do not even hold the scope
        assert world.call("get", f"{R}/supervision/exposure", who).status_code == 403
        assert world.call("get", f"{R}/supervision/exports/offsets.json", who).status_code == 403
    tokio = world.org("tokio").id
    for who in ("bafin", "sfc"):
        exposure = world.call("get", f"{R}/supervision/exposure", who)
        assert exposure.status_code == 200
        text = exposure.get_data(as_text=True)
        assert "Sakura" not in text and world.org("sakura").id not in text
        s = world.call("post", f"{R}/supervision/scenarios", who, json={"failed_insurers": [tokio]})
        assert s.status_code == 200 and world.org("sakura").id not in s.get_data(as_text=True)
        for what in ("obligations", "offsets", "certificates"):
            for fmt in ("csv", "json"):
                e = world.call("get", f"{R}/supervision/exports/{what}.{fmt}", who)
                assert e.status_code == 200 and "Sakura" not in e.get_data(as_text=True), (who, what, fmt)


def test_scenario_tokio_fails(world):
    """Sakura's 2027-Q1 cover is Tokio's (Harbour's allocation is ineligible in the demo): if Tokio fails,
    the offset falls to 0, the net reserve becomes the whole obligation, and the shortfall is the
    obligation minus the cash held (3,500,000,000 reported by the demo)."""
    tokio = world.org("tokio").id
    r = world.call("post", f"{R}/supervision/scenarios", "fsa", json={"failed_insurers": [tokio]})
    assert r.status_code == 200, r.json
    [row] = r.json["items"]
    ob = int(row["obligation"]["amount"])
    assert row["offset_after"] == jpy(0) and row["net_reserve_after"] == jpy(ob)
    cash = int(row["cash_held"]["amount"])
    assert row["shortfall"] == jpy(max(0, ob - cash))
    assert row["shortfall_before"] == jpy(max(0, ob - int(row["offset_before"]["amount"]) - cash))
    assert r.json["failed_insurers"] == [{"insurer": tokio, "name": "Tokio Mutual Cyber"}]
    assert r.json["total_shortfall"] == row["shortfall"]
    calm = world.call("post", f"{R}/supervision/scenarios", "fsa", json={"failed_insurers": []}).json
    assert calm["items"][0]["offset_after"] == calm["items"][0]["offset_before"] == row["offset_before"]


def test_scenario_refuses_bad_input_naming_the_field(world):
    sakura = world.org("sakura").id
    for body, pointer in [({"failed_insurers": ["nope", sakura]}, "#/failed_insurers"),
                          ({}, "#/failed_insurers"), ({"failed_insurers": "x"}, "#/failed_insurers"),
                          ({"failed_insurers": [], "period": "2027-Q9"}, "#/period"),
                          ({"failed_insurers": [], "extra": 1}, "#/extra")]:
        r = world.call("post", f"{R}/supervision/scenarios", "fsa", json=body)
        assert r.status_code == 422 and r.mimetype == "application/problem+json", (body, r.json)
        assert any(e["pointer"].startswith(pointer) for e in r.json["errors"]), (body, r.json)
    r = world.call("post", f"{R}/supervision/scenarios", "fsa", json={"failed_insurers": ["nope", sakura]})
    assert "nope" in r.json["detail"] and sakura in r.json["detail"]  # an exchange is no insurer
    harbour = world.org("harbour").id  # not approved in JP, but it insures Sakura: the FSA may fail it
    assert world.call("post", f"{R}/supervision/scenarios", "fsa", json={"failed_insurers": [harbour]}).status_code \
        == 200


def test_period_filter(world):
    r = world.call("get", f"{R}/supervision/exposure?period=2031-Q1", "fsa")
    assert r.status_code == 200 and r.json["exchanges"] == 0 and r.json["insurers"] == []
    bad = world.call("get", f"{R}/supervision/exposure?period=Q1", "fsa")
    assert bad.status_code == 422 and bad.json["errors"][0]["parameter"].lstrip("#/") == "period"


def test_exports_csv_and_json(world):
    ob = db.session.scalar(select(ObligationRecord).filter_by(exchange_id=world.org("sakura").id))
    cert = certificates.issue(ob, "test")
    db.session.commit()
    sequencer.integrate()
    for what, key in (("obligations", ob.id), ("offsets", ob.id), ("certificates", cert.id)):
        c = world.call("get", f"{R}/supervision/exports/{what}.csv", "fsa")
        assert c.status_code == 200 and c.mimetype == "text/csv" and "attachment" in c.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(c.get_data(as_text=True))))
        assert rows and key in {r["obligation_id" if what != "certificates" else "certificate_id"] for r in rows}
        j = world.call("get", f"{R}/supervision/exports/{what}.json", "fsa")
        assert j.status_code == 200 and j.json["export"] == what
        assert len(j.json["items"]) == len(rows) and list(rows[0]) == j.json["columns"]
    offsets = world.call("get", f"{R}/supervision/exports/offsets.json", "fsa").json["items"]
    report = world.call("get", f"{R}/obligations/{ob.id}/offset", "fsa").json
    assert sum(int(r["eligible_offset"]) for r in offsets if r["obligation_id"] == ob.id) == \
        int(report["total_offset"]["amount"])
    [c] = [r for r in world.call("get", f"{R}/supervision/exports/certificates.json", "fsa").json["items"]
           if r["certificate_id"] == cert.id]
    assert c["status"] == "valid" and c["log_index"] is not None


def test_status_at_is_for_regulators_of_the_exchange(world):
    ob = db.session.scalar(select(ObligationRecord).filter_by(exchange_id=world.org("sakura").id))
    cert = certificates.issue(ob, "test")
    db.session.commit()
    sequencer.integrate()
    url = f"{R}/certificates/{cert.id}/status"
    assert world.call("get", url, "sakura").status_code == 403  # its own certificate: a regulator's view
    assert world.call("get", url, "tokio").status_code == 403
    assert world.call("get", url, "bafin").status_code == 404
    r = world.call("get", url, "fsa")
    assert r.status_code == 200 and r.json["status"] == "valid" and r.json["valid"] is True
    assert [e["kind"] for e in r.json["entries"]] == ["issuance"]
    for bad in ("yesterday", "2027-01-01T00:00:00", "2027-13-01T00:00:00Z"):
        r = world.call("get", f"{url}?at={bad}", "fsa")
        assert r.status_code == 422 and r.json["errors"][0]["parameter"].lstrip("#/").startswith("at"), (bad, r.json)
    early = world.call("get", f"{url}?at=2000-01-01T00:00:00Z", "fsa").json
    assert early["status"] == "not_yet_valid" and early["valid"] is False


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_supervision_page(portal, world, lang):
    fsa = portal("fsa")
    h = {"Accept-Language": lang}
    page = fsa.get("/regulator/supervision", headers=h)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'id="chart-concentration-title"' in html
    assert "Tokio Mutual Cyber" in html and 'name="failed_insurers"' in html
    tokio = world.org("tokio").id
    ran = fsa.get(f"/regulator/supervision?failed_insurers={tokio}&run=1", headers=h)
    text = text_of(ran)
    assert ran.status_code == 200 and "Sakura Digital Exchange" in text
    if lang == "ja":
        assert "シナリオを実行" in text and "保険会社別のエクスポージャー" in text
    else:
        assert "Run scenario" in text and "Exposure by insurer" in text and "Shortfall" in text
    bad = fsa.get("/regulator/supervision?failed_insurers=nope&run=1", headers=h)
    assert bad.status_code == 200 and "nope" in text_of(bad)
    export = fsa.get("/supervision/exports/obligations.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv" and "Sakura" in export.get_data(as_text=True)
    assert portal("sakura").get("/regulator/supervision").status_code == 403
    assert portal("sakura").get("/supervision/exports/obligations.csv").status_code == 403


def test_every_message_of_the_supervision_pages_has_japanese():
    mine = ("supervision", "regulator.py", "regulator/supervision.html")
    untranslated = {m: w for m, w in missing("ja").items() if any(p in x for x in w for p in mine)}
    assert not untranslated, untranslated
