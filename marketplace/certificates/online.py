"""What only the service knows, for online verification: revocation reasons and current policies.

Everything here receives attacker-controlled values (the certificate's fields, the receipt): the
verifier core only calls back with fields that passed its schema, and each callback checks again
what it sends to the database (types, lengths, no control characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Integer, String, and_, bindparam, select

from ..attestations.models import Attestation
from ..cache import LRU
from ..crypto import jws
from ..db import utcnow
from ..db.lists import by_dialect, json_rows, one_of_planned_once, rows_in_order
from ..domain import merkle
from ..errors import NotFound, ServiceError
from ..extensions import db, plain_rows
from ..keys import service as keys
from ..policies.models import Policy
from ..tlog import receipts, signing
from ..tlog import service as tlog
from ..tlog.models import Checkpoint
from ..urns import INSURER_URN_PREFIX
from ..verify import schema
from ..verify.core import Online, Result, unreadable, verify
from . import statuslists
from .models import Certificate, StatusList

_ID = re.compile(r"[0-9A-Za-z-]{1,36}")
_LIST = re.compile(r".*/status-lists/([0-9]{1,9})")


def _text(value, limit: int = 200) -> str | None:
    ok = isinstance(value, str) and 0 < len(value) <= limit and "\x00" not in value  # NUL: PostgreSQL refuses
    return value if ok else None


def stored(certificate_id) -> Certificate | None:
    """A stored certificate by id; anything not shaped like one of our ids never reaches the database."""
    ok = isinstance(certificate_id, str) and _ID.fullmatch(certificate_id)
    return db.session.get(Certificate, certificate_id) if ok else None


def _cert_id(urn) -> str | None:
    cid = urn.removeprefix("urn:uuid:") if isinstance(urn, str) else None
    return cid if isinstance(cid, str) and _ID.fullmatch(cid) else None


# What a verification reads that changes, in one statement per request: the keys (the platform's, the named
# insurers', the log's: rows only, keys.KEY_ROWS_JSON), the certificate's status, its list as last published, the
# latest checkpoint and the policies its coverage names with their current attestations. Nothing of it is
# cached, so the next request after a change made by any process (a rotated or retired key, a revocation, a
# republished list, a new batch of the log, a cancelled or amended policy) sees it.
_CERT = Certificate.id == bindparam("cid", type_=String)
# the policies of the pairs' insurers with the pairs' numbers: a superset of the pairs, matched in Python
_POLICIES = by_dialect(lambda pg: json_rows(
    select(Policy.insurer_id, Policy.number, Policy.status, Policy.revision, Attestation.jws)
    .outerjoin(Attestation, and_(Attestation.policy_id == Policy.id, Attestation.revision == Policy.revision))
    .where(one_of_planned_once(Policy.insurer_id, "insurers", pg), one_of_planned_once(Policy.number, "numbers", pg)),
    (Policy.insurer_id, Policy.number), pg))
_SNAPSHOT = by_dialect(lambda pg: select(
    select(Certificate.id).where(_CERT).scalar_subquery().label("cert_id"),
    select(Certificate.status).where(_CERT).scalar_subquery().label("cert_status"),
    select(Certificate.revoked_reason).where(_CERT).scalar_subquery().label("revoked_reason"),
    select(StatusList.published).where(StatusList.id == bindparam("lid", type_=Integer))
    .scalar_subquery().label("published"),
    select(StatusList.published_at).where(StatusList.id == bindparam("lid", type_=Integer))
    .scalar_subquery().label("published_at"),
    *(select(c).order_by(Checkpoint.tree_size.desc()).limit(1).scalar_subquery().label(f"cp_{c.key}")
      for c in (Checkpoint.tree_size, Checkpoint.root_hash, Checkpoint.note)),
    keys.KEY_ROWS_JSON[pg].label("keys"), _POLICIES[pg].label("policies")))


@dataclass(frozen=True)
class _Checkpoint:
    tree_size: int
    root_hash: bytes
    note: str


@dataclass(frozen=True)
class Snapshot:
    keyring: keys.Keyring                 # the platform's keys, the insurers' asked for, the log's
    certificate: tuple[bool, str] | None  # (revoked, reason) of the stored certificate, None if unknown
    status_list: str | None               # the list the certificate names, as published now
    checkpoint: _Checkpoint | None        # the latest signed tree head
    policies: dict                        # (insurer id, number) -> (status, revision, attestation JWS or None)


def snapshot(insurer_ids: list[str], cert_id: str | None, list_id: int | None,
             pairs: list[tuple[str, str]]) -> Snapshot:
    """Everything a verification reads, in one statement: the keys (the platform's, these insurers', the log's),
    the certificate's status, its status list, the latest checkpoint, and the policies named by these pairs of
    (insurer id, policy number)."""
    insurer_ids = keys.insurer_list(insurer_ids)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    row = plain_rows(_SNAPSHOT[postgres], {"ids": insurer_ids, "cid": cert_id, "lid": list_id,
                                           "insurers": sorted({i for i, _ in pairs}),
                                           "numbers": sorted({n for _, n in pairs})}).one()
    ring = keys.keyring_of(rows_in_order(row.keys), insurer_ids)
    known = None if row.cert_id is None else (row.cert_status == "revoked", row.revoked_reason or "")
    listed = None
    if list_id is not None and row.published is not None and row.published_at is not None:
        listed = statuslists.credential(list_id, utcnow(), (row.published, row.published_at))
    elif list_id is not None:
        listed = statuslists.credential(list_id, utcnow())  # not published yet (or no such list): the slow path
    cp = None if row.cp_tree_size is None else _Checkpoint(row.cp_tree_size, row.cp_root_hash, row.cp_note)
    policies = {(i, n): rest for i, n, *rest in rows_in_order(row.policies)}
    return Snapshot(ring, known, listed, cp, policies)


def _wanted(subject) -> list[tuple[str, str] | None] | None:
    """(insurer id, policy number) per coverage entry, None for a malformed one; None without a coverage list."""
    coverage = subject.get("coverage") if isinstance(subject, dict) else None
    if not isinstance(coverage, list):
        return None
    wanted = []
    for entry in coverage:
        insurer = entry.get("insurer") if isinstance(entry, dict) else None
        number = _text(entry.get("policyNumber")) if isinstance(entry, dict) else None
        urn = _text(insurer.get("id")) if isinstance(insurer, dict) else None
        wanted.append(None if number is None or urn is None else (urn.rsplit(":", 1)[-1], number))
    return wanted


def _policies_current(subject, wanted, found: dict) -> tuple[bool, str]:
    """Every coverage entry's policy active at the attested revision, from the policies read with the snapshot;
    `wanted` is _wanted(subject), worked out once for that read."""
    if wanted is None:
        return False, "credentialSubject.coverage is missing"
    problems = []
    for entry, key in zip(subject["coverage"], wanted, strict=True):
        if key is None:
            problems.append("malformed coverage entry")
            continue
        p = found.get(key)
        if p is None:
            problems.append(f"policy {jws.brief(key[1])} is unknown")
            continue
        status, revision, attestation = p
        if status != "active":
            problems.append(f"policy {key[1]} is {status}")
        if attestation is None or attestation != entry.get("attestation"):
            problems.append(f"policy {key[1]} has changed since (now revision {revision})")
    return (not problems, schema.summary(problems, 10) or "every policy is active at the attested revision")


# The log's answers that never change once computed: a leaf's index, an inclusion proof and a consistency proof
# for a tree named by its size and root hash (the root commits to every entry, so the same key always means the
# same tree). The latest checkpoint itself is read in every request; a new batch is a new key.
_INCLUSION = LRU(4096)    # (leaf hash, tree size, root) -> (index, proof)
_CONSISTENCY = LRU(1024)  # (first, first root, second, second root) -> proof
_VERIFIER_KEYS = LRU(16)  # (origin, public key x) -> C2SP verifier key


def _verifier_key(log_jwk: dict | None) -> str:
    x = log_jwk.get("x") if isinstance(log_jwk, dict) else None
    if not isinstance(x, str):
        return tlog.verifier_key()  # no log key yet: the log's own path (which creates it)
    return _VERIFIER_KEYS.get_or_compute((signing.origin(), x), lambda: signing.verifier_key_of(log_jwk))


def _receipt(leaf: bytes, current) -> dict:
    """The receipt of the entry with this leaf hash against the current checkpoint (NotFound if none)."""
    key = (leaf, current.tree_size, current.root_hash)
    known = _INCLUSION.get(key)
    if known is None:
        idx = tlog.index_of_leaf(leaf)
        if current.tree_size <= idx:
            raise NotFound("no checkpoint covers this entry yet")
        known = (idx, tlog.b64(tlog.inclusion(idx, current.tree_size)))
    index, proof = known
    receipt = {"leafIndex": index, "treeSize": current.tree_size, "inclusionProof": list(proof),
               "checkpoint": current.note}
    return receipt


def _log_check(token, receipt, log_jwk, current: _Checkpoint | None) -> tuple[bool, str]:
    """With a receipt: check it, then that its checkpoint is consistent with the current one.
    Without: find the certificate in the log and check inclusion against the latest checkpoint."""
    if not isinstance(token, str):
        return False, "not a certificate"
    try:
        given = receipt is not None
        if not given:
            if current is None:
                raise NotFound("no checkpoint yet")
            leaf = merkle.leaf_hash(token.encode("utf-8"))
            receipt = _receipt(leaf, current)
        ok, detail, size, root = receipts.check(token, receipt, _verifier_key(log_jwk), _SIGNATURES)
        if not ok:
            return ok, detail
        if not given:  # proven against the current tree: remember the proof for the next request
            _INCLUSION.put((leaf, current.tree_size, current.root_hash),
                           (receipt["leafIndex"], tuple(receipt["inclusionProof"])))
        if current is None or current.tree_size < size:  # signed by our key, yet not a tree we have: a fork
            return False, f"the receipt's checkpoint ({size}) is not a tree this log has"
        if current.tree_size > size:
            ckey = (size, root, current.tree_size, current.root_hash)
            proof = _CONSISTENCY.get(ckey)
            if proof is None:
                proof = tlog.consistency(size, current.tree_size)
            if not merkle.verify_consistency(size, current.tree_size, root, current.root_hash, proof):
                return False, f"the receipt's checkpoint ({size}) is not consistent with the log now"
            _CONSISTENCY.put(ckey, proof)
            detail += f"; consistent with the current tree size {current.tree_size}"
        elif root != current.root_hash:
            return False, f"the receipt's checkpoint ({size}) is not consistent with the log now"
        return True, detail
    except ServiceError:
        return False, "this certificate is not in the transparency log"
    except (ValueError, TypeError):
        return False, "the receipt is malformed"


def _list_id(payload: dict) -> int | None:
    """The id of the status list the certificate names, if it is one of ours."""
    st = payload.get("credentialStatus")
    url = st.get("statusListCredential") if isinstance(st, dict) else None
    m = _LIST.fullmatch(url) if isinstance(url, str) and len(url) <= 2048 else None
    if m is None or url != statuslists.list_url(int(m[1])):
        return None
    return int(m[1])


def _insurer_ids(payload: dict) -> list[str]:
    """The insurer org ids a credential's coverage names (only our insurer URNs; the credential may be
    untrusted input), as certificates.service.insurer_jwks_for picks them."""
    out = []
    coverage = (payload.get("credentialSubject") or {}).get("coverage") or []
    for entry in coverage if isinstance(coverage, list) else []:
        urn = str(((entry if isinstance(entry, dict) else {}).get("insurer") or {}).get("id", ""))
        if urn.startswith(INSURER_URN_PREFIX) and len(urn) <= 64:
            out.append(urn.removeprefix(INSURER_URN_PREFIX))
    return out


# Signature checks of the documents many certificates share (status lists, attestations, the log's checkpoint,
# the same for every certificate until the next batch), by key and signed bytes: a pure function of what is
# read, so never stale. A certificate's own signature is always checked.
_SIGNATURES = LRU(4096)


def verify_online(token, receipt=None) -> Result:
    """Verify against the service's own keys, status lists and records, read in one statement (snapshot); the
    log's proofs are cached by tree."""
    try:
        parsed = jws.parse(token)  # once: the core takes the parse and the shape check from here
    except jws.JWSError as e:
        return unreadable(f"not a usable certificate: {e}")
    payload, problems = parsed.payload, schema.problems(parsed.payload)
    # each insurer's own keys only, looked up only for a well-formed coverage list
    wanted = [] if "insurer_attestations" in problems else _insurer_ids(payload)
    cert_id = _cert_id(payload.get("id"))
    entries = _wanted(payload.get("credentialSubject"))  # the core asks policies_current of this same subject
    pairs = sorted({w for w in entries or () if w is not None})
    now = snapshot(wanted, cert_id, _list_id(payload), pairs)
    ring = now.keyring
    insurers = {INSURER_URN_PREFIX + i: ring.insurers[i] for i in wanted}

    def revocation(urn):  # the core asks only with the payload's id, once it is well-formed
        return now.certificate if _cert_id(urn) == cert_id else None

    return verify(token, ring.platform, insurers, now.status_list,
                  online=Online(revocation=revocation,
                                policies_current=lambda s: _policies_current(s, entries, now.policies),
                                log=lambda t, r: _log_check(t, r, ring.log, now.checkpoint), signatures=_SIGNATURES),
                  receipt=receipt, parsed=parsed, problems=problems)
