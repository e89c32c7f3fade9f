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
from .service import insurer_jwks_for


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


def _log(token, receipt) -> tuple[bool, str]:
    """With a receipt: check it, then that its checkpoint is consistent with the current one.
    Without: find the certificate in the log and check inclusion against the latest checkpoint."""
    from ..domain import merkle
    from ..errors import ServiceError
    from ..tlog import receipts
    from ..tlog import service as tlog

    if not isinstance(token, str):
        return False, "not a certificate"
    try:
        if receipt is None:
            idx = tlog.index_of_leaf(merkle.leaf_hash(token.encode("utf-8")))
            receipt = tlog.receipt(idx)
        ok, detail, size, root = receipts.check(token, receipt, tlog.verifier_key())
        if not ok:
            return ok, detail
        current = tlog.latest()
        if current.tree_size > size:
            proof = tlog.consistency(size, current.tree_size)
            if not merkle.verify_consistency(size, current.tree_size, root, current.root_hash, proof):
                return False, f"the receipt's checkpoint ({size}) is not consistent with the log now"
            detail += f"; consistent with the current tree size {current.tree_size}"
        return True, detail
    except ServiceError:
        return False, "this certificate is not in the transparency log"
    except (ValueError, TypeError):
        return False, "the receipt is malformed"


def verify_online(token, receipt=None) -> Result:
    """Verify against the service's own keys, status lists and records."""
    res_status, insurer_jwks = None, {}
    try:
        payload = jws.parse(token).payload
        st = payload.get("credentialStatus") or {}
        list_id = str(st.get("statusListCredential", "")).rsplit("/", 1)[-1]
        res_status = statuslists.credential(int(list_id), utcnow()) if list_id.isdigit() else None
        insurer_jwks = insurer_jwks_for(payload)  # each insurer's own keys only
    except (jws.JWSError, ValueError, TypeError, AttributeError):
        res_status = None
    return verify(token, keys.platform_jwks(), insurer_jwks, res_status,
                  online=Online(revocation=_revocation, policies_current=_policies_current, log=_log),
                  receipt=receipt)
