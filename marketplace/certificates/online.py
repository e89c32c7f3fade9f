"""What only the service knows, for online verification: revocation reasons and current policies."""

from __future__ import annotations

from sqlalchemy import select

from ..attestations.models import Attestation
from ..crypto import jws
from ..db import utcnow
from ..extensions import db
from ..keys import service as keys
from ..policies.models import Policy
from ..verify.core import Online, Result, verify
from . import statuslists
from .models import Certificate


def _revocation(urn: str):
    cert_id = urn.removeprefix("urn:uuid:")
    cert = db.session.get(Certificate, cert_id) if len(cert_id) <= 36 else None
    if cert is None:
        return None
    return cert.status == "revoked", cert.revoked_reason or ""


def _policies_current(subject: dict) -> tuple[bool, str]:
    problems = []
    for entry in subject.get("coverage") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("insurer"), dict):
            problems.append("malformed coverage entry")
            continue
        insurer_id = str(entry["insurer"].get("id", "")).rsplit(":", 1)[-1]
        p = db.session.scalar(select(Policy).filter_by(insurer_id=insurer_id, number=entry.get("policyNumber")))
        if p is None:
            problems.append(f"policy {entry.get('policyNumber')} is unknown")
            continue
        if p.status != "active":
            problems.append(f"policy {p.number} is {p.status}")
        att = db.session.scalar(select(Attestation).filter_by(policy_id=p.id, revision=p.revision))
        if att is None or att.jws != entry.get("attestation"):
            problems.append(f"policy {p.number} has changed since (now revision {p.revision})")
    return (not problems, "; ".join(problems) or "every policy is active at the attested revision")


def verify_online(token) -> Result:
    """Verify against the service's own keys, status lists and records."""
    res_status = None
    try:
        st = jws.parse(token).payload.get("credentialStatus") or {}
        list_id = str(st.get("statusListCredential", "")).rsplit("/", 1)[-1]
        res_status = statuslists.credential(int(list_id), utcnow()) if list_id.isdigit() else None
    except (jws.JWSError, ValueError, TypeError, AttributeError):
        res_status = None
    insurer_jwks = {"*": {"keys": [keys.jwk_entry(k) for k in keys.all_insurer_keys()]}}
    return verify(token, keys.platform_jwks(), insurer_jwks, res_status,
                  online=Online(revocation=_revocation, policies_current=_policies_current))
