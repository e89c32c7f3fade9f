"""Per-regulator ratings and suspensions, end to end on SQLite and PostgreSQL (issue 14, deliverable 5).

The demo world: Tokio Mutual Cyber is approved by the JP, EU and HK regulators (rating A with each: the
rating asked for at admission); Sakura (JP) already holds a certificate counting Tokio's cover. Here Tokio
also covers Rhein (EU) and Victoria (HK), each with a certificate for 2027-Q1 (rule-sets @1: JP-FSA-2026@1 has
a minimum rating A- and haircuts, EU-MiCA-67@1 and HK-SFC-VATP@1 have neither).

One regulator's rating change or suspension leaves the other jurisdictions' ratings, offsets and
certificates as they were, and revokes its own affected certificates with the reason in words.
"""

from __future__ import annotations

from sqlalchemy import select

from marketplace.certificates.models import Certificate
from marketplace.events.models import Event
from marketplace.events.relay import relay
from marketplace.extensions import db
from marketplace.obligations import service as obligations
from marketplace.obligations.models import ObligationRecord
from marketplace.registry import service as registry
from marketplace.registry.models import OrgHistory
from tests.api.conftest import World

R = "/api/v1"
PERIOD = "2027-Q1"


def ok(r, status=(200, 201)):
    assert r.status_code in ((status,) if isinstance(status, int) else status), (r.status_code, r.json)
    return r.json


def money(n: int, currency: str) -> dict:
    return {"amount": str(n), "currency": currency}


def certify(w: World, exchange: str, currency: str, perils: list[str], number: str) -> str:
    """Tokio covers the exchange (a registered policy it attests with its custodial key, attached in full),
    then the exchange certifies."""
    policy = ok(w.call("post", f"{R}/policies", "tokio", json={
        "number": number, "insured": w.org(exchange).id, "limit": money(50_000_000, currency),
        "deductible": money(0, currency), "perils": perils, "term_start": "2026-12-01", "term_end": "2028-11-30",
        "cancellation_notice_days": 120}), 201)["id"]
    ok(w.call("post", f"{R}/policies/{policy}/attestations/custodial", "tokio"), 201)
    ob = ok(w.call("post", f"{R}/obligations", exchange, json={"period": PERIOD}))["id"]
    ok(w.call("post", f"{R}/obligations/{ob}/allocations", exchange,
              json={"policy": policy, "amount": money(50_000_000, currency)}), 201)
    return ok(w.call("post", f"{R}/certificates", exchange, json={"obligation": ob}), 201)["id"]


def current_offset(w: World, exchange: str) -> int:
    row = db.session.scalar(select(ObligationRecord).filter_by(exchange_id=w.org(exchange).id, period=PERIOD,
                                                               superseded_at=None))
    report, _ = obligations.offset_for(row)
    return report.total.amount


def tokio_counts(w: World, exchange: str) -> int:
    """What Tokio's cover counts for in the exchange's current offset (minor units)."""
    row = db.session.scalar(select(ObligationRecord).filter_by(exchange_id=w.org(exchange).id, period=PERIOD,
                                                               superseded_at=None))
    report, _ = obligations.offset_for(row)
    tokio = w.org("tokio").id
    from marketplace.policies.models import Policy

    return sum(a.eligible.amount for a in report.allocations
               if db.session.get(Policy, a.policy_id).insurer_id == tokio)


def cert(cert_id: str) -> Certificate:
    db.session.expire_all()
    return db.session.get(Certificate, cert_id)


def valid_certificate_of(w: World, exchange: str) -> Certificate:
    return db.session.scalar(select(Certificate).filter_by(exchange_id=w.org(exchange).id, status="valid"))


def test_one_regulator_s_rating_change_and_suspension_stay_in_its_jurisdiction(demo):
    w = World(demo)
    tokio = w.org("tokio")
    sakura_cert = valid_certificate_of(w, "sakura").id  # the demo's: Tokio's two policies and Harbour's
    rhein_cert = certify(w, "rhein", "EUR", ["business_disruption", "loss_of_documents", "professional_liability",
                                             "theft_hack"], "TMC-EU-1")
    victoria_cert = certify(w, "victoria", "HKD", ["theft_hack", "insider_fraud"], "TMC-HK-1")
    relay()
    assert all(cert(c).status == "valid" for c in (sakura_cert, rhein_cert, victoria_cert))
    before = {x: current_offset(w, x) for x in ("sakura", "rhein", "victoria")}
    assert tokio_counts(w, "sakura") > 0 and tokio_counts(w, "rhein") > 0 and tokio_counts(w, "victoria") > 0

    # the JP regulator downgrades Tokio from A to CCC (below JP-FSA-2026@1's minimum A-)
    ok(w.call("post", f"{R}/insurers/{tokio.id}/rating", "fsa", json={"rating": "CCC", "reason": "capital"}))
    relay()
    assert (registry.rating_in(tokio.id, "JP"), registry.rating_in(tokio.id, "EU"),
            registry.rating_in(tokio.id, "HK")) == ("CCC", "A", "A")
    assert db.session.get(type(tokio), tokio.id).rating == "A"  # the rating asked for at admission stays
    hist = db.session.scalars(select(OrgHistory).filter_by(org_id=tokio.id, field="rating")
                              .order_by(OrgHistory.id.desc())).first()
    assert (hist.jurisdiction, hist.old_value, hist.new_value, hist.reason) == ("JP", "A", "CCC", "capital")
    [event] = db.session.scalars(select(Event).filter_by(kind="insurer.rating_changed")).all()
    assert event.jurisdiction == "JP" and event.payload["old"] == "A" and event.payload["new"] == "CCC"

    # its own affected certificate is revoked, with the reason in words
    c = cert(sakura_cert)
    assert c.status == "revoked"
    assert c.revoked_reason == "insurer Tokio Mutual Cyber downgraded from A to CCC by the JP regulator"
    # the other jurisdictions: certificates valid, offsets as they were
    assert cert(rhein_cert).status == "valid" and cert(victoria_cert).status == "valid"
    assert current_offset(w, "rhein") == before["rhein"] and current_offset(w, "victoria") == before["victoria"]
    # Depends on the eligibility change (allocations reading the JP regulator's InsurerApproval.rating):
    # in JP, Tokio's cover no longer counts (CCC is below the minimum A-), so Sakura's offset falls.
    assert tokio_counts(w, "sakura") == 0 and current_offset(w, "sakura") < before["sakura"]

    # the HK regulator downgrades Tokio too: HK-SFC-VATP@1 has no minimum and no haircut, so the offset there
    # is not reduced and nothing is revoked; JP's and EU's ratings are untouched
    ok(w.call("post", f"{R}/insurers/{tokio.id}/rating", "sfc", json={"rating": "CCC"}))
    relay()
    assert (registry.rating_in(tokio.id, "JP"), registry.rating_in(tokio.id, "EU"),
            registry.rating_in(tokio.id, "HK")) == ("CCC", "A", "CCC")
    assert cert(victoria_cert).status == "valid" and cert(rhein_cert).status == "valid"
    assert current_offset(w, "victoria") == before["victoria"]

    # the HK regulator suspends Tokio: Victoria's certificate is revoked, Rhein's stays valid
    ok(w.call("post", f"{R}/insurers/{tokio.id}/suspend", "sfc", json={"reason": "under review"}))
    relay()
    assert registry.approved_jurisdictions(tokio.id) == frozenset({"JP", "EU"})
    c = cert(victoria_cert)
    assert c.status == "revoked" and c.revoked_reason == "insurer Tokio Mutual Cyber suspended by the HK regulator"
    assert cert(rhein_cert).status == "valid" and current_offset(w, "rhein") == before["rhein"]
    assert tokio_counts(w, "victoria") == 0  # not approved in HK any more (approval is per regulator already)
