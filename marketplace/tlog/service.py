"""The sequencer and its reads. One writer at a time (PostgreSQL advisory lock + the state row, which
also takes SQLite's write lock); an entry is appended in the same transaction as what it records."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, text, tuple_, update

from ..crypto.b64 import unb64u
from ..domain import merkle
from ..errors import NotFound, Unprocessable
from ..extensions import db
from ..keys.models import SigningKey
from . import note
from .models import Checkpoint, LogEntry, LogNode, LogState

ADVISORY_LOCK = 0x7E5E_0FF5
MAX_ENTRIES_PAGE = 1000


def origin() -> str:
    configured = current_app.config.get("TLOG_ORIGIN")
    return configured or f"{urlsplit(current_app.config['BASE_URL']).netloc}/reserve-offset-log"


def log_key() -> SigningKey:
    from ..crypto.keys import KeyPair
    from ..keys import service as keys

    row = db.session.scalar(select(SigningKey).filter_by(purpose="log", status="active"))
    if row is None:
        kp = KeyPair.generate()
        row = SigningKey(kid=kp.kid, purpose="log", owner_id=None, public_jwk=kp.public_jwk,
                         private_wrapped=kp.wrap(keys.kek(), kp.kid.encode()), status="active")
        db.session.add(row)
        db.session.flush()
    return row


def _public(row: SigningKey) -> bytes:
    return unb64u(row.public_jwk["x"])


def verifier_key() -> str:
    return note.verifier_key(origin(), _public(log_key()))


def size() -> int:
    return db.session.scalar(select(LogState.size).where(LogState.id == 1)) or 0


def _lock_and_reserve() -> int:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})
    res = db.session.execute(update(LogState).where(LogState.id == 1).values(size=LogState.size + 1)
                             .returning(LogState.size))
    return res.scalar_one() - 1


def append(kind: str, data: bytes, certificate_id: str | None = None) -> int:
    """Append one entry; store its leaf and every subtree it completes. Returns its index."""
    idx = _lock_and_reserve()
    h = merkle.leaf_hash(data)
    db.session.add(LogEntry(idx=idx, kind=kind, data=data, certificate_id=certificate_id))
    nodes = [LogNode(level=0, idx=idx, hash=h)]
    level, i = 0, idx
    while i % 2 == 1:  # this leaf completes a subtree: hash it with its stored left sibling
        left = db.session.get(LogNode, (level, i - 1)).hash
        h, level, i = merkle.node_hash(left, h), level + 1, i // 2
        nodes.append(LogNode(level=level, idx=i, hash=h))
    db.session.add_all(nodes)
    db.session.flush()
    return idx


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
    return batch_getter(lambda get: merkle.inclusion_proof(index, tree_size, get))


def consistency(first: int, second: int) -> list[bytes]:
    _check_size(second, "second")
    if not 0 < first <= second:
        raise Unprocessable("need 0 < first <= second", {"first": ["out of range"]})
    return batch_getter(lambda get: merkle.consistency_proof(first, second, get))


def index_of_leaf(leaf: bytes) -> int:
    idx = db.session.scalar(select(LogNode.idx).where(LogNode.level == 0, LogNode.hash == leaf))
    if idx is None:
        raise NotFound("no entry with that leaf hash")
    return idx


def checkpoint() -> Checkpoint:
    """Sign and keep the tree head at the current size (once per size)."""
    n = size()
    existing = db.session.get(Checkpoint, n)
    if existing is not None:
        return existing
    from ..keys import service as keys

    row = log_key()
    r = root(n)
    signed = note.sign(note.body(origin(), n, r), origin(), keys.signer(row), _public(row))
    cp = Checkpoint(tree_size=n, root_hash=r, note=signed)
    db.session.add(cp)
    db.session.flush()
    return cp


def latest() -> Checkpoint | None:
    return db.session.scalar(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1))


def b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in items]


def receipt(index: int) -> dict:
    cp = latest()
    if cp is None or cp.tree_size <= index:
        raise NotFound("no checkpoint covers this entry yet")
    return {"leafIndex": index, "treeSize": cp.tree_size, "inclusionProof": b64(inclusion(index, cp.tree_size)),
            "checkpoint": cp.note, "logKey": verifier_key()}


def issuance_index(certificate_id: str) -> int | None:
    return db.session.scalar(select(LogEntry.idx).filter_by(certificate_id=certificate_id, kind="issuance"))


def entries(start: int, end: int) -> list[LogEntry]:
    _check_size(end, "end")
    if not 0 <= start < end or end - start > MAX_ENTRIES_PAGE:
        raise Unprocessable(f"need 0 <= start < end, at most {MAX_ENTRIES_PAGE} entries",
                            {"start": ["out of range"]})
    return db.session.scalars(select(LogEntry).where(LogEntry.idx >= start, LogEntry.idx < end)
                              .order_by(LogEntry.idx)).all()
