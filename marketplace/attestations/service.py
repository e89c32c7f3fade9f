"""Checking and storing attestations. The payload is exactly
{policyNumber, insured, currency, limit, deductible, perils, termStart, termEnd} of one revision."""

from __future__ import annotations

from sqlalchemy import select

from ..crypto import jws
from ..errors import Conflict, Unprocessable
from ..extensions import db
from ..keys import service as keys
from ..policies.models import Policy, PolicyRevision
from ..urns import exchange_urn
from ..verify.core import ATTESTATION_TYP, attestation_typ_ok
from .models import Attestation


def payload_for(p: Policy, revision: int | None = None) -> dict:
    rev = db.session.scalar(select(PolicyRevision).filter_by(policy_id=p.id, revision=revision or p.revision))
    return {"policyNumber": p.number, "insured": exchange_urn(p.insured_id), "currency": p.currency,
            "limit": str(rev.limit_amount), "deductible": str(rev.deductible), "perils": sorted(rev.perils),
            "termStart": rev.term_start.isoformat(), "termEnd": rev.term_end.isoformat()}


def mismatches(expected: dict, got: dict) -> dict[str, list[str]]:
    out = {}
    for k in sorted(set(expected) | set(got)):
        if k not in got:
            out[f"payload/{k}"] = ["missing"]
        elif k not in expected:
            out[f"payload/{k}"] = ["not part of an attestation"]
        elif got[k] != expected[k]:
            out[f"payload/{k}"] = [f"is {got[k]!r}; the policy says {expected[k]!r}"]
    return out


def _store(p: Policy, token: str, kid: str, custodial: bool, actor: str) -> Attestation:
    existing = db.session.scalar(select(Attestation).filter_by(policy_id=p.id, revision=p.revision))
    if existing is not None:
        raise Conflict(f"revision {p.revision} of policy {p.number} is already attested")
    row = Attestation(policy_id=p.id, revision=p.revision, kid=kid, jws=token, custodial=custodial, created_by=actor)
    db.session.add(row)
    db.session.flush()
    return row


def submit(p: Policy, token: str, actor: str) -> Attestation:
    """Check an insurer-supplied attestation: standing, format, key ownership, signature, every field."""
    keys.require_approved(p.insurer_id, "attest")
    try:
        parsed = jws.parse(token)
    except jws.JWSError as e:
        raise Unprocessable(f"not a usable JWS: {e}", {"jws": [str(e)]}) from None
    if not attestation_typ_ok(parsed.header):  # explicit typing (RFC 8725 3.11): no other kind of JWS passes
        typ = jws.brief(parsed.header.get("typ"))
        raise Unprocessable(f"header typ is {typ}, not '{ATTESTATION_TYP}'",
                            {"jws": [f"typ must be {ATTESTATION_TYP} (or JWT, or none)"]})
    key = keys.find(parsed.kid)
    if key is None or key.purpose != "insurer" or key.owner_id != p.insurer_id:
        raise Unprocessable("the JWS kid is not one of this insurer's registered keys", {"jws": ["unknown kid"]})
    if key.status != "active":
        raise Unprocessable("that key is retired and cannot attest", {"jws": ["retired key"]})
    if not parsed.verify_with(key.public_jwk):
        raise Unprocessable("the signature does not verify with the insurer's key", {"jws": ["bad signature"]})
    wrong = mismatches(payload_for(p), parsed.payload)
    if wrong:
        raise Unprocessable(f"the attestation does not match revision {p.revision}: "
                            f"{', '.join(k.split('/', 1)[1] for k in wrong)}", wrong)
    return _store(p, token, key.kid, False, actor)


def sign_custodially(p: Policy, actor: str) -> Attestation:
    """Sign with the insurer's custodial key; called only on the insurer's explicit instruction."""
    keys.require_approved(p.insurer_id, "attest")
    key = keys.custodial_insurer_key(p.insurer_id)
    token = jws.sign(payload_for(p), keys.signer(key), ATTESTATION_TYP)
    return _store(p, token, key.kid, True, actor)


def current(p: Policy) -> Attestation | None:
    return db.session.scalar(select(Attestation).filter_by(policy_id=p.id, revision=p.revision))


# Read-only queries for the portal.

def without_attestation(policies):
    """`policies` (a select of Policy, already filtered by tenancy) narrowed to the active ones whose current
    revision has no attestation: the revisions an insurer still has to attest."""
    from sqlalchemy import and_

    return (policies.outerjoin(Attestation, and_(Attestation.policy_id == Policy.id,
                                                 Attestation.revision == Policy.revision))
            .where(Policy.status == "active", Attestation.id.is_(None)))


def attested(policy_ids: list[str]) -> dict[tuple[str, int], Attestation]:
    """The attestations of these policies, by (policy id, revision)."""
    if not policy_ids:
        return {}
    rows = db.session.scalars(select(Attestation).where(Attestation.policy_id.in_(list(policy_ids))))
    return {(a.policy_id, a.revision): a for a in rows}
