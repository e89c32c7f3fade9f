"""The revocation subscriber: a policy, insurer or obligation event revokes the certificates it affects.
Idempotent (revoking twice changes nothing), so a delivery that runs again does no harm."""

from __future__ import annotations

from sqlalchemy import select

from ..domain import ratings
from ..events import kinds
from ..events.models import Event
from ..extensions import db
from ..registry.models import Exchange
from .models import Certificate, CertificateCoverage
from .service import revoke


def _by_policy(policy_id: str) -> list[Certificate]:
    return db.session.scalars(select(Certificate).join(CertificateCoverage)
                              .where(CertificateCoverage.policy_id == policy_id, Certificate.status == "valid")).all()


def _by_insurer(insurer_id: str, jurisdiction: str | None) -> list[Certificate]:
    q = (select(Certificate).join(CertificateCoverage).join(Exchange, Exchange.org_id == Certificate.exchange_id)
         .where(CertificateCoverage.insurer_id == insurer_id, Certificate.status == "valid"))
    if jurisdiction:
        q = q.where(Exchange.jurisdiction == jurisdiction)
    return db.session.scalars(q).all()


def affected(ev: kinds.DomainEvent) -> tuple[list[Certificate], str]:
    """The valid certificates an event touches, and the reason in plain words."""
    match ev:
        case kinds.PolicyCancelled():
            return _by_policy(ev.policy_id), f"policy {ev.number} cancelled on {ev.effective_on}"
        case kinds.PolicyLapsed():
            return _by_policy(ev.policy_id), f"policy {ev.number} lapsed on {ev.term_end}"
        case kinds.PolicyAmended():
            return _by_policy(ev.policy_id), f"policy {ev.number} amended (revision {ev.revision})"
        case kinds.InsurerSuspended():
            return (_by_insurer(ev.insurer_id, ev.jurisdiction),
                    f"insurer {ev.name} suspended by the {ev.jurisdiction} regulator")
        case kinds.InsurerRatingChanged() if ev.old and not (ev.new and ratings.at_least(ev.new, ev.old)):
            # a downgrade shrinks eligible offsets (haircut, minimum rating); an upgrade leaves them conservative
            return (_by_insurer(ev.insurer_id, ev.jurisdiction),
                    f"insurer {ev.name} downgraded from {ev.old} to {ev.new or 'unrated'}")
        case kinds.ObligationComputed(previous_id=str() as previous):
            certs = db.session.scalars(select(Certificate).filter_by(obligation_id=previous, status="valid")).all()
            return certs, f"obligation recomputed (revision {ev.revision})"
    return [], ""


def handle(ev: kinds.DomainEvent, row: Event | None = None) -> int:
    certs, reason = affected(ev)
    revoked = sum(revoke(c, reason) for c in {c.id: c for c in certs}.values())
    if revoked:
        from ..tlog import service as tlog

        tlog.checkpoint()
    return revoked
