"""The event consumer: every policy, insurer or obligation event revokes the certificates it affects,
in the same transaction as the event is marked handled. Running it twice does no harm."""

from __future__ import annotations

from sqlalchemy import select

from ..db import utcnow
from ..events.models import Event
from ..extensions import db
from ..policies.models import Policy
from ..registry.models import Exchange, Organization
from .models import Certificate, CertificateCoverage
from .service import revoke


def _by_policy(policy_id: str) -> list[Certificate]:
    return db.session.scalars(select(Certificate).join(CertificateCoverage)
                              .where(CertificateCoverage.policy_id == policy_id, Certificate.status == "valid")).all()


def affected(ev: Event) -> tuple[list[Certificate], str]:
    """The valid certificates an event touches, and the reason in plain words."""
    if ev.kind.startswith("policy."):
        p = db.session.get(Policy, ev.subject_id)
        reason = {"policy.cancelled": f"policy {p.number} cancelled on {ev.payload.get('effective_on')}",
                  "policy.lapsed": f"policy {p.number} lapsed on {ev.payload.get('term_end')}",
                  "policy.amended": f"policy {p.number} amended (revision {ev.payload.get('revision')})"}[ev.kind]
        return _by_policy(p.id), reason
    if ev.kind == "insurer.suspended":
        org = db.session.get(Organization, ev.subject_id)
        j = ev.payload.get("jurisdiction")
        certs = db.session.scalars(
            select(Certificate).join(CertificateCoverage).join(Exchange, Exchange.org_id == Certificate.exchange_id)
            .where(CertificateCoverage.insurer_id == org.id, Exchange.jurisdiction == j,
                   Certificate.status == "valid")).all()
        return certs, f"insurer {org.name} suspended by the {j} regulator"
    if ev.kind == "obligation.recomputed":
        certs = db.session.scalars(select(Certificate).filter_by(obligation_id=ev.subject_id, status="valid")).all()
        return certs, f"obligation recomputed (revision {ev.payload.get('revision')})"
    return [], ""


def consume(limit: int = 500) -> dict:
    """Handle pending events, oldest first. The caller commits (the job runner or the request)."""
    events = db.session.scalars(select(Event).where(Event.handled_at.is_(None))
                                .order_by(Event.created_at, Event.id).limit(limit)).all()
    revoked = 0
    for ev in events:
        certs, reason = affected(ev)
        revoked += sum(revoke(c, reason) for c in {c.id: c for c in certs}.values())
        ev.handled_at = utcnow()
    db.session.flush()
    if revoked:
        from ..tlog import service as tlog

        tlog.checkpoint()
    return {"events": len(events), "revoked": revoked}
