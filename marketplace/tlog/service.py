"""The log's reads (proofs, receipts, entries) and its keys. Writers queue entries and the sequencer
integrates them in batches (tlog.sequencer)."""

from __future__ import annotations

import base64

from sqlalchemy import bindparam, select, tuple_

from ..domain import merkle
from ..errors import NotFound, Unprocessable
from ..extensions import db, plain_rows
from ..keys.models import SigningKey
from .models import LEAF, Checkpoint, LogEntry, LogNode, LogState
from .signing import sign_checkpoint, verifier_key, verifier_key_of

MAX_ENTRIES_PAGE = 1000


def size() -> int:
    return db.session.scalar(select(LogState.size).where(LogState.id == 1)) or 0


def batch_getter(compute):
    """Run `compute(getter)` twice: once to learn which nodes it needs, once with them fetched in one query."""
    wanted: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return b"\x00" * 32

    compute(record)
    found = {}
    if wanted:
        rows = db.session.execute(select(LogNode.level, LogNode.idx, LogNode.hash)
                                  .where(tuple_(LogNode.level, LogNode.idx).in_(sorted(wanted)))).all()
        found = {(lv, ix): hv for lv, ix, hv in rows}
    if len(found) != len(wanted):
        raise NotFound("the log is missing stored nodes for this range")
    return compute(lambda level, index: found[(level, index)])


def root(tree_size: int) -> bytes:
    return batch_getter(lambda get: merkle.mth(0, tree_size, get))


def _check_size(n: int, what: str) -> None:
    current = size()
    if not 0 <= n <= current:
        raise Unprocessable(f"{what} must be between 0 and the tree size {current}", {what: ["out of range"]})


def inclusion(index: int, tree_size: int) -> list[bytes]:
    _check_size(tree_size, "tree_size")
    if not 0 <= index < tree_size:
        raise Unprocessable(f"index must be below tree_size {tree_size}", {"index": ["out of range"]})
    return _inclusion_proof(index, tree_size)


def _inclusion_proof(index: int, tree_size: int) -> list[bytes]:
    return batch_getter(lambda get: merkle.inclusion_proof(index, tree_size, get))


def consistency(first: int, second: int) -> list[bytes]:
    _check_size(second, "second")
    if not 0 < first <= second:
        raise Unprocessable("need 0 < first <= second", {"first": ["out of range"]})
    return batch_getter(lambda get: merkle.consistency_proof(first, second, get))


# `level = 0` written out, not bound: a prepared statement's generic plan can then use the index of the leaves
_INDEX_OF_LEAF = select(LogNode.idx).where(LEAF, LogNode.hash == bindparam("leaf"))


def index_of_leaf(leaf: bytes) -> int:
    idx = plain_rows(_INDEX_OF_LEAF, {"leaf": leaf}).scalar()
    if idx is None:
        raise NotFound("no entry with that leaf hash")
    return idx


def checkpoint() -> Checkpoint:
    """The signed tree head at the current size (the sequencer signs one per batch; this signs one only if
    the log was loaded some other way, e.g. in bulk)."""
    n = size()
    existing = db.session.get(Checkpoint, n)
    if existing is not None:
        return existing
    r = root(n)
    cp = Checkpoint(tree_size=n, root_hash=r, note=sign_checkpoint(n, r))
    db.session.add(cp)
    db.session.flush()
    return cp


def latest() -> Checkpoint | None:
    return db.session.scalar(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1))


def b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in items]


# the latest checkpoint and the log's key in one statement (a receipt names both; every issuance answers one)
_LATEST_WITH_KEY = select(Checkpoint.tree_size, Checkpoint.note, SigningKey.public_jwk) \
    .outerjoin(SigningKey, (SigningKey.purpose == "log") & (SigningKey.status == "active")) \
    .order_by(Checkpoint.tree_size.desc()).limit(1)


def receipt(index: int) -> dict:
    """The entry's inclusion in the latest checkpoint. A checkpoint's size is never past the log's (the log only
    grows), so the proof needs no check of the size (inclusion() checks a caller's numbers against it)."""
    cp = plain_rows(_LATEST_WITH_KEY).first()
    if cp is None or cp.tree_size <= index:
        raise NotFound("no checkpoint covers this entry yet")
    return {"leafIndex": index, "treeSize": cp.tree_size, "inclusionProof": b64(_inclusion_proof(index, cp.tree_size)),
            "checkpoint": cp.note, "logKey": verifier_key_of(cp.public_jwk) if cp.public_jwk else verifier_key()}


def issuance_index(certificate_id: str) -> int | None:
    return db.session.scalar(select(LogEntry.idx).filter_by(certificate_id=certificate_id, kind="issuance"))


def entries(start: int, end: int) -> list[LogEntry]:
    _check_size(end, "end")
    if not 0 <= start < end or end - start > MAX_ENTRIES_PAGE:
        raise Unprocessable(f"need 0 <= start < end, at most {MAX_ENTRIES_PAGE} entries",
                            {"start": ["out of range"]})
    return db.session.scalars(select(LogEntry).where(LogEntry.idx >= start, LogEntry.idx < end)
                              .order_by(LogEntry.idx)).all()
