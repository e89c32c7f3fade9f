"""Eligibility v2 over HTTP (issue 14): policies record territories and name perils from every jurisdiction's
vocabulary; the offset report names the failing checks (missing perils in words, third party, territories);
the insurer's rating is the one the obligation's regulator gives it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from marketplace.domain.cover import VOCABULARIES
from marketplace.domain.rulesets import Param
from marketplace.events.models import Event
from marketplace.extensions import db
from marketplace.obligations import service as obligations
from marketplace.obligations.models import ObligationRecord
from marketplace.registry.models import InsurerApproval, Organization

R = "/api/v1"
EU7 = list(VOCABULARIES["EU"])


def eur(n: int) -> dict:
    return {"amount": str(n), "currency": "EUR"}


def register_eu(world, number="EU-1", perils=None, **kw):
    """Tokio (approved by BaFin) registers a EUR policy for Rhein, the EU exchange."""
    body = {"number": number, "insured": world.org("rhein").id, "limit": eur(20_000_000), "deductible": eur(2_000_000),
            "perils": EU7 if perils is None else perils, "term_start": "2027-01-01", "term_end": "2027-12-31",
            "cancellation_notice_days": 90, **kw}
    return world.call("post", f"{R}/policies", "tokio", json=body)


def pointers(r) -> set[str]:
    return {e["pointer"] for e in r.json["errors"]}


def test_register_with_territories_and_perils_of_every_vocabulary(world):
    r = register_eu(world, territories=["eu", " fr ", "FR"])
    assert r.status_code == 201, r.json
    assert r.json["territories"] == ["EU", "FR"] and sorted(r.json["perils"]) == sorted(EU7)
    assert world.call("get", f"{R}/policies/{r.json['id']}", "rhein").json["territories"] == ["EU", "FR"]
    # no territories: recorded as not recorded (null)
    r = register_eu(world, number="EU-2")
    assert r.status_code == 201 and r.json["territories"] is None
    # HK's custody risk and version 1's codes are valid perils too (existing policies keep theirs)
    assert register_eu(world, number="EU-3", perils=["custody_risk", "professional_liability"]).status_code == 201
    bad = register_eu(world, number="EU-4", territories=["EU", "XX", "Europe"], perils=["earthquake"])
    assert bad.status_code == 422
    assert {p.split("/")[1] for p in pointers(bad)} == {"territories", "perils"}
    assert any(p.startswith("#/territories") for p in pointers(bad))
    assert register_eu(world, number="EU-5", territories=[]).status_code == 422


def test_amend_territories_alone_keeps_the_revision_and_is_recorded(world):
    pid = register_eu(world).json["id"]
    r = world.call("post", f"{R}/policies/{pid}/amend", "tokio", json={"territories": ["EU"]})
    assert r.status_code == 200 and r.json["revision"] == 1 and r.json["territories"] == ["EU"]
    db.session.remove()
    [ev] = db.session.scalars(select(Event).filter_by(kind="policy.amended", subject_id=pid)).all()
    assert ev.payload["before"]["territories"] is None and ev.payload["revision"] == 1
    same = world.call("post", f"{R}/policies/{pid}/amend", "tokio", json={"territories": ["eu"]})
    assert same.status_code == 422  # changes nothing
    r = world.call("post", f"{R}/policies/{pid}/amend", "tokio",
                   json={"territories": ["EU", "CH"], "limit": eur(30_000_000)})
    assert r.status_code == 200 and r.json["revision"] == 2 and r.json["territories"] == ["CH", "EU"]
    assert world.call("post", f"{R}/policies/{pid}/amend", "tokio", json={"territories": ["ZZ"]}).status_code == 422


def _eu_obligation(world, period: str) -> str:
    r = world.call("post", f"{R}/obligations", "rhein", json={"period": period})
    assert r.status_code in (200, 201), r.json
    return r.json["id"]


def _attach(world, ob: str, pid: str, amount: int) -> None:
    assert world.call("post", f"{R}/policies/{pid}/attestations/custodial", "tokio").status_code == 201
    r = world.call("post", f"{R}/obligations/{ob}/allocations", "rhein", json={"policy": pid, "amount": eur(amount)})
    assert r.status_code == 201, r.json


def _checks(report: dict, number: str) -> tuple[dict, dict]:
    entry = next(a for a in report["allocations"] if a["policy_number"] == number)
    return entry, {c["name"]: c["detail"] for c in entry["checks"] if not c["ok"]}


@pytest.fixture
def mica_v2_conditions(monkeypatch):
    """The offset report under the EU rule-set with the MiCA third-party and territorial conditions switched
    on (the parameters eligibility.third_party_required / eligibility.territories_required)."""
    get = obligations.rulesets.get

    def with_conditions(ruleset_id, version, digest=None):
        rs = get(ruleset_id, version, digest)
        if rs.jurisdiction != "EU":
            return rs
        params = {k: v for k, v in rs.params.items() if k != "required_perils"}
        src = "service proposal (no published value): test"
        params.setdefault("perils.vocabulary", Param(EU7, src, False))
        params.setdefault("perils.required", Param(sorted(EU7), src, False))
        params["eligibility.third_party_required"] = Param(True, src, False)
        params["eligibility.territories_required"] = Param(True, src, False)
        return replace(rs, params=params)

    monkeypatch.setattr(obligations.rulesets, "get", with_conditions)


def test_offset_report_names_the_failing_v2_checks(world, mica_v2_conditions):
    """Rhein's 2027-Q1 obligation; three attested Tokio policies (limit EUR 200,000.00, deductible
    EUR 20,000.00), each allocated EUR 100,000.00:
      EU-OK   seven risks, territories EU:           (10,000,000 - 1,000,000) x (1 - 0) = 9,000,000 cents
      EU-GAP  two risks missing, no territories:     0, perils_covered and territories named
      EU-GRP  as EU-OK, after Tokio joins Rhein's group: 0, third_party named"""
    ob = _eu_obligation(world, "2027-Q1")
    ok = register_eu(world, "EU-OK", territories=["EU"]).json["id"]
    gap = register_eu(world, "EU-GAP", perils=[p for p in EU7 if p not in ("misrepresentation", "breach_of_duty")])
    for pid in (ok, gap.json["id"]):
        _attach(world, ob, pid, 10_000_000)
    rep = world.call("get", f"{R}/obligations/{ob}/offset", "rhein").json
    entry, bad = _checks(rep, "EU-OK")
    assert bad == {} and entry["eligible_offset"] == eur(9_000_000)
    entry, bad = _checks(rep, "EU-GAP")
    assert entry["eligible_offset"] == eur(0)
    assert bad == {"perils_covered": "does not cover: breach of legal or regulatory duties, of the duty to act "
                                     "honestly, fairly and professionally, or of confidentiality, misrepresentations "
                                     "or misleading statements",
                   "territories": "the territories this policy covers are not recorded"}
    # Tokio becomes part of Rhein's group: no third party any more
    for key in ("tokio", "rhein"):
        world.org(key).group_name = "Rhein Holding" if key == "rhein" else "rhein holding"
    db.session.commit()
    rep = world.call("get", f"{R}/obligations/{ob}/offset", "rhein").json
    entry, bad = _checks(rep, "EU-OK")
    assert entry["eligible_offset"] == eur(0)
    assert bad == {"third_party": "Tokio Mutual Cyber belongs to the exchange's own group (Rhein Holding); "
                                  "the insurer must be a third party"}
    assert rep["total_offset"] == eur(0)


def test_version_1_offset_report_is_unchanged(world):
    """Without the version-2 conditions (EU-MiCA-67@1 as shipped), group and territories are not checked."""
    ob = _eu_obligation(world, "2027-Q1")
    pid = register_eu(world, "EU-V1", perils=["business_disruption", "loss_of_documents", "professional_liability"])
    _attach(world, ob, pid.json["id"], 10_000_000)
    world.org("tokio").group_name = world.org("rhein").group_name = "Rhein Holding"
    db.session.commit()
    rep = world.call("get", f"{R}/obligations/{ob}/offset", "rhein").json
    entry, bad = _checks(rep, "EU-V1")
    assert rep["ruleset"]["version"] == "1" and bad == {} and entry["eligible_offset"] == eur(9_000_000)
    assert {c["name"] for c in entry["checks"]}.isdisjoint({"third_party", "territories"})


def test_shipped_eu_v2_names_missing_risks_in_words(world):
    """2027-Q2 falls under EU-MiCA-67@2 (in force from 2027-04-01): the seven Art. 67(6) risks are required."""
    ob = _eu_obligation(world, "2027-Q2")
    row = db.session.get(ObligationRecord, ob)
    if row.ruleset_version != "2":
        pytest.skip("EU-MiCA-67@2 is not in force for 2027-Q2")
    pid = register_eu(world, "EU-Q2", perils=[p for p in EU7 if p != "custodian_liability"], territories=["EU"])
    _attach(world, ob, pid.json["id"], 10_000_000)
    rep = world.call("get", f"{R}/obligations/{ob}/offset", "rhein").json
    _entry, bad = _checks(rep, "EU-Q2")
    assert bad["perils_covered"] == "does not cover: custodian liability to clients (MiCA Art. 75(8))"


def test_the_rating_is_the_obligation_regulators(world):
    """Demo JP 2027-Q1: HSR-JP-7781 (Harbour) fails the JP minimum A- at BBB. The FSA's own rating decides:
    raised to AA by the FSA it counts (1,000,000,000 allocated, deductible 20,000,000 x 1bn/1bn = 20,000,000;
    AA haircut 0: 980,000,000 before caps); the SFC (HK) rating it CCC changes nothing in JP, nor does the
    rating asked for at admission (Organization.rating)."""
    harbour = world.org("harbour")
    fsa, sfc = world.org("fsa"), world.org("sfc")

    def approval(regulator: Organization) -> InsurerApproval:
        return db.session.scalar(select(InsurerApproval).filter_by(insurer_id=harbour.id, regulator_id=regulator.id))

    ob = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=world.org("sakura").id))

    def hsr() -> tuple[dict, dict]:
        return _checks(world.call("get", f"{R}/obligations/{ob}/offset", "sakura").json, "HSR-JP-7781")

    approval(fsa).rating = "BBB"
    db.session.commit()
    entry, bad = hsr()
    assert list(bad) == ["insurer_rating"] and "rating BBB is below the minimum A-" in bad["insurer_rating"]
    approval(fsa).rating, approval(sfc).rating, harbour.rating = "AA", "CCC", "CCC"
    db.session.commit()
    entry, bad = hsr()
    assert bad == {} and entry["eligible_before_caps"] == {"amount": str(980_000_000), "currency": "JPY"}
    steps = {s["step"]: s["detail"] for s in entry["steps"]}
    assert steps["rating_haircut"].endswith("for rating AA")


# ---- the portal: register and amend forms, the CSV's optional column ----------------------------------------

def _portal_form(rhein_id: str, **over) -> dict:
    base = {"number": "TMC-EU-P1", "insured": rhein_id, "currency": "EUR", "limit": "200,000.00",
            "deductible": "20,000.00", "perils": EU7, "term_start": "2027-01-01", "term_end": "2027-12-31",
            "cancellation_notice_days": "90", "territories": "eu, fr"}
    base.update(over)
    return base


def _policy(number: str):
    from marketplace.policies.models import Policy

    db.session.expire_all()
    return db.session.scalar(select(Policy).filter_by(number=number))


def _field_error(html: str, name: str) -> str:
    import re

    m = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">(.*?)</p>', html, re.S)
    return re.sub(r"\s+", " ", m.group(1)).strip() if m else ""


def test_portal_register_and_amend_territories(portal, world):
    tokio, rhein = portal("tokio"), world.org("rhein").id
    page = tokio.get("/policies/register").get_data(as_text=True)
    assert 'name="territories"' in page and "Custodian liability to clients" in page  # EU risks offered
    r = tokio.post("/policies/register", _portal_form(rhein, territories="EU, XX"), page="/policies/register")
    assert r.status_code == 422 and "XX" in _field_error(r.get_data(as_text=True), "territories")
    assert 'value="EU, XX"' in r.get_data(as_text=True)  # kept as typed
    assert _policy("TMC-EU-P1") is None
    r = tokio.post("/policies/register", _portal_form(rhein), page="/policies/register")
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    p = _policy("TMC-EU-P1")
    assert p.territories == ["EU", "FR"] and sorted(p.perils) == sorted(EU7)
    detail = tokio.get(f"/policies/{p.id}").get_data(as_text=True)
    assert "EU, FR" in detail and "Failure to manage conflicts of interest" in detail
    amend = f"/policies/{p.id}/amend"
    assert 'value="EU, FR"' in tokio.get(amend).get_data(as_text=True)
    typed = {"limit": "200,000.00", "deductible": "20,000.00", "perils": EU7, "term_start": "2027-01-01",
             "term_end": "2027-12-31"}
    r = tokio.post(amend, {**typed, "territories": ""}, page=amend)  # once recorded, they stay recorded
    assert r.status_code == 422 and _field_error(r.get_data(as_text=True), "territories") == "required"
    r = tokio.post(amend, {**typed, "territories": "EU"}, page=amend)
    assert r.status_code == 302
    p = _policy("TMC-EU-P1")
    assert (p.territories, p.revision) == (["EU"], 1)  # territories alone: the revision and attestation stand


def test_csv_upload_with_the_optional_territories_column(portal, world):
    import io

    tokio, rhein = portal("tokio"), world.org("rhein").id
    header = "number,insured,currency,limit,deductible,perils,term_start,term_end,cancellation_notice_days,territories"
    eu = ";".join(EU7)
    content = "\n".join([header, f"TMC-CSV-1,{rhein},EUR,100000,0,{eu},2027-01-01,2027-12-31,90,EU",
                         f"TMC-CSV-2,{rhein},EUR,100000,0,{eu},2027-01-01,2027-12-31,90,",
                         f"TMC-CSV-3,{rhein},EUR,100000,0,{eu},2027-01-01,2027-12-31,90,EU;Mars"]) + "\n"
    r = tokio.post("/policies/upload", {"file": (io.BytesIO(content.encode()), "p.csv")}, page="/policies/upload",
                   content_type="multipart/form-data")
    from tests.portal_client import text_of

    text = text_of(r)
    assert r.status_code == 200 and "2 registered, 1 refused" in text, text[:800]
    assert "Territories: not an ISO 3166 country code or EU: MARS" in text
    assert _policy("TMC-CSV-1").territories == ["EU"] and _policy("TMC-CSV-2").territories is None
    assert _policy("TMC-CSV-3") is None
    # the refused row comes back with its territories column
    import html
    import re

    rows = html.unescape(re.search(r'name="rows" value="([^"]*)"', r.get_data(as_text=True)).group(1))
    back = tokio.post("/policies/upload/refused.csv", {"rows": rows}, page="/policies/upload")
    lines = back.get_data(as_text=True).splitlines()
    assert lines[0] == header and lines[1].endswith(",EU;Mars")
