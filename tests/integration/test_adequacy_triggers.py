"""When the adequacy check runs for one exchange (DESIGN 8, "Jobs"): after an event that may have shrunk its
offset, not after an issuance that only superseded the exchange's previous certificate. Rechecking then
repeated the last shortfall to every subscriber at every issuance."""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.adequacy import service as adequacy
from marketplace.certificates import service as certificates
from marketplace.db import utcnow
from marketplace.domain.money import Money
from marketplace.events import kinds
from marketplace.events.models import Delivery, Event
from marketplace.events.relay import relay
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.registry import service as registry
from marketplace.reports import service as reports
from marketplace.tlog import sequencer


def shortfalls() -> int:
    return db.session.scalar(select(func.count()).select_from(Event).filter_by(kind="reserve.shortfall"))


def short_sakura():
    """Sakura reports cash held well below its net reserve, so every check of it finds a shortfall."""
    sakura = registry.find_exchange("Kanto-FB-00099", "JP")
    reports.record_reserve_balance(sakura, utcnow().date(), Money(1_000, "JPY"), "test")
    db.session.commit()
    return sakura


def issue(sakura) -> certificates.Certificate:
    ob = db.session.scalar(select(ObligationRecord).filter_by(exchange_id=sakura.org_id, superseded_at=None))
    cert = certificates.issue(ob, "test")
    db.session.commit()
    sequencer.integrate()
    return cert


def test_an_issuance_that_supersedes_records_no_new_shortfall(demo):
    sakura = short_sakura()
    issue(sakura)
    relay()
    db.session.commit()
    before = shortfalls()
    for _ in range(3):  # each revokes the one before it
        issue(sakura)
    assert db.session.scalar(select(func.count()).select_from(Delivery).join(Event).where(
        Event.kind == "certificate.revoked", Delivery.subscriber == "adequacy",
        Delivery.status == "pending")) == 3  # the adequacy subscriber still gets each revocation
    out = relay()
    db.session.commit()
    assert out["failed"] == 0 and shortfalls() == before  # none of the three rechecked the exchange


def test_a_revocation_for_any_other_reason_is_checked_and_can_find_a_shortfall(demo):
    sakura = short_sakura()
    cert = issue(sakura)
    common = {"certificate_id": cert.id, "exchange_id": sakura.org_id, "jurisdiction": "JP",
              "period": cert.period, "revoked_at": utcnow().isoformat(), "insurer_ids": []}
    before = shortfalls()
    superseded = kinds.CertificateRevoked(reason=f"{certificates.SUPERSEDED_BY}{cert.id}", **common)
    assert adequacy.handle(superseded) == 0 and shortfalls() == before
    for reason in ("policy TMC-USD-0042 cancelled", "insurer suspended", "superseded, said an operator"):
        found = adequacy.handle(kinds.CertificateRevoked(reason=reason, **common))
        assert found == 1 and shortfalls() == before + 1, reason
        before += 1
    db.session.rollback()
