"""What only the service knows, for online verification: revocation reasons and current policies.

Everything here receives attacker-controlled values (the certificate's fields, the receipt): the
verifier core only calls back with fields that passed its schema, and each callback checks again
what it sends to the database (types, lengths, no control characters).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from ..attestations.models import Attestation
from ..crypto import jws
from ..db import utcnow
from ..extensions import db
from ..keys import service as keys
from ..policies.models import Policy
from ..verify import schema
from ..verify.core import Online, Result, unreadable, verify
from . import statuslists
from .models import Certificate
from .service import insurer_jwks_for

_ID = re.compile(r"[0-9A-Za-z-]{1,36}")
_LIST = re.compile(r".*/status-lists/([0-9]{1,9})")


def _text(value, limit: int = 200) -> str | None:
    ok = isinstance(value, str) and 0 < len(value) <= limit and "\x00" not in value  # NUL: PostgreSQL refuses
    return value if ok else None


def stored(certificate_id) -> Certificate | None:
    """A stored certificate by id; anything not shaped like one of our ids never reaches the database."""
    ok = isinstance(certificate_id, str) and _ID.fullmatch(certificate_id)
    return db.session.get(Certificate, certificate_id) if ok else None


def _revocation(urn):
    cert = stored(urn.removeprefix("urn:uuid:")) if isinstance(urn, str) else None
    if cert is None:
        return None
    return cert.status == "revoked", cert.revoked_reason or ""


def _policies_current(subject) -> tuple[bool, str]:
    coverage = subject.get("coverage") if isinstance(subject, dict) else None
    if not isinstance(coverage, list):
        return False, "credentialSubject.coverage is missing"
    problems = []
    for entry in coverage:
        insurer = entry.get("insurer") if isinstance(entry, dict) else None
        number = _text(entry.get("policyNumber")) if isinstance(entry, dict) else None
        urn = _text(insurer.get("id")) if isinstance(insurer, dict) else None
        if number is None or urn is None:
            problems.append("malformed coverage entry")
            continue
        p = db.session.scalar(select(Policy).filter_by(insurer_id=urn.rsplit(":", 1)[-1], number=number))
        if p is None:
            problems.append(f"policy {jws.brief(number)} is unknown")
            continue
        if p.status != "active":
            problems.append(f"policy {p.number} is {p.status}")
        att = db.session.scalar(select(Attestation).filter_by(policy_id=p.id, revision=p.revision))
        if att is None or att.jws != entry.get("attestation"):
            problems.append(f"policy {p.number} has changed since (now revision {p.revision})")
    return (not problems, schema.summary(problems, 10) or "every policy is active at the attested revision")


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
        if current is None or current.tree_size < size:  # signed by our key, yet not a tree we have: a fork
            return False, f"the receipt's checkpoint ({size}) is not a tree this log has"
        if current.tree_size > size:
            proof = tlog.consistency(size, current.tree_size)
            if not merkle.verify_consistency(size, current.tree_size, root, current.root_hash, proof):
                return False, f"the receipt's checkpoint ({size}) is not consistent with the log now"
            detail += f"; consistent with the current tree size {current.tree_size}"
        elif root != current.root_hash:
            return False, f"the receipt's checkpoint ({size}) is not consistent with the log now"
        return True, detail
    except ServiceError:
        return False, "this certificate is not in the transparency log"
    except (ValueError, TypeError):
        return False, "the receipt is malformed"


def _status_list(payload: dict) -> str | None:
    """The service's current signed list, if the certificate names one of ours."""
    st = payload.get("credentialStatus")
    url = st.get("statusListCredential") if isinstance(st, dict) else None
    m = _LIST.fullmatch(url) if isinstance(url, str) and len(url) <= 2048 else None
    if m is None or url != statuslists.list_url(int(m[1])):
        return None
    return statuslists.credential(int(m[1]), utcnow())


def verify_online(token, receipt=None) -> Result:
    """Verify against the service's own keys, status lists and records."""
    try:
        payload = jws.parse(token).payload
    except jws.JWSError as e:
        return unreadable(f"not a usable certificate: {e}")
    # each insurer's own keys only, looked up only for a well-formed coverage list
    insurers = {} if "insurer_attestations" in schema.problems(payload) else insurer_jwks_for(payload)
    return verify(token, keys.platform_jwks(), insurers, _status_list(payload),
                  online=Online(revocation=_revocation, policies_current=_policies_current, log=_log),
                  receipt=receipt)
