"""The revocation subscriber: a policy, insurer or obligation event revokes the certificates it affects.
Idempotent (revoking twice changes nothing), so a delivery that runs again does no harm.

Insurer events are per jurisdiction: a regulator suspends or rates an insurer for its own jurisdiction, so
only the certificates of exchanges there are touched (an event without a jurisdiction, recorded before
ratings were per regulator, touches every jurisdiction). A suspension revokes every certificate there that
counts the insurer's cover; a rating change revokes those whose offset it reduces under the rule-set the
certificate was issued with (domain.rating_effects)."""

from __future__ import annotations

from sqlalchemy import select

from ..domain.rating_effects import downgrade_words, reduces_offset
from ..errors import NotFound
from ..events import kinds
from ..events.models import Event
from ..extensions import db
from ..registry.models import Exchange
from .models import Certificate, CertificateCoverage
from .service import revoke_all


def _by_policy(policy_id: str) -> list[Certificate]:
    return db.session.scalars(select(Certificate).join(CertificateCoverage)
                              .where(CertificateCoverage.policy_id == policy_id, Certificate.status == "valid")).all()


def _by_insurer(insurer_id: str, jurisdiction: str | None) -> list[Certificate]:
    q = (select(Certificate).join(CertificateCoverage).join(Exchange, Exchange.org_id == Certificate.exchange_id)
         .where(CertificateCoverage.insurer_id == insurer_id, Certificate.status == "valid"))
    if jurisdiction:
        q = q.where(Exchange.jurisdiction == jurisdiction)
    return db.session.scalars(q).all()


def _rules(cert: Certificate, seen: dict) -> tuple | None:
    """(minimum rating, haircuts) of the rule-set the certificate was issued under; None if it cannot be read."""
    ref = cert.credential.get("credentialSubject", {}).get("ruleset") or {}
    key = (ref.get("id"), ref.get("version"))
    if key not in seen:
        from ..rulesets import service as rulesets

        try:
            rs = rulesets.get(*key)
            seen[key] = (rs.value("min_insurer_rating"), dict(rs.value("rating_haircuts", {}) or {}))
        except NotFound:
            seen[key] = None
    return seen[key]


def _reduced(certs: list[Certificate], old: str | None, new: str | None) -> list[Certificate]:
    """The certificates whose offset a rating change from `old` to `new` reduces, under each one's rule-set
    (a certificate whose rule-set cannot be read is revoked: the conservative answer)."""
    out, seen = [], {}
    for c in certs:
        rules = _rules(c, seen)
        if rules is None or reduces_offset(old, new, *rules):
            out.append(c)
    return out


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
        case kinds.InsurerRatingChanged():
            # a downgrade may shrink eligible offsets (haircut, minimum rating); an upgrade leaves them conservative
            return (_reduced(_by_insurer(ev.insurer_id, ev.jurisdiction), ev.old, ev.new),
                    downgrade_words(ev.name, ev.old, ev.new, ev.jurisdiction))
        case kinds.ObligationComputed(previous_id=str() as previous):
            certs = db.session.scalars(select(Certificate).filter_by(obligation_id=previous, status="valid")).all()
            return certs, f"obligation recomputed (revision {ev.revision})"
    return [], ""


def handle(ev: kinds.DomainEvent, row: Event | None = None) -> int:
    certs, reason = affected(ev)
    return revoke_all(certs, reason)
