"""The log's single sequencer (DESIGN 9), like Trillian's: writers queue, one sequencer integrates in batches.

An issuance or a revocation queues its entry in its own transaction (`queue`), so it commits or rolls back
with what it records and takes no log-wide lock. The sequencer (`integrate_batch`, under a PostgreSQL
advisory lock; on SQLite, the database write lock) moves every queued entry into the tree at once: dense
indexes in queue order, leaves and completed subtrees computed in memory from the tree's right edge (at
most log2 n stored nodes, read in one query), bulk inserts, and ONE signed checkpoint for the batch. So
many issuances share one lock hold and one signature, and a batch costs the same at 1e6 entries as at 1e7.

Who runs it: the issuance API waits for its entry's batch (`await_certificate`: group commit, as
Sunlight's pool does: whoever takes the lock integrates everything queued, the others learn from the batch's
notice (notices.py, PostgreSQL's LISTEN/NOTIFY) that theirs is in, or try again for the next batch);
every other writer nudges the `tlog.integrate` job after its commit; the schedule runs that job every
second, so nothing queued waits longer than that even if a nudge is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache

from sqlalchemy import delete, insert, select, text, tuple_, update

from ..domain import merkle
from ..extensions import db
from ..uow import after_commit, unit_of_work
from . import notices
from .models import Checkpoint, LogEntry, LogNode, LogState, QueuedEntry
from .signing import sign_checkpoint

log = logging.getLogger("marketplace.tlog")

ADVISORY_LOCK = 0x7E5E_0FF5
BATCH_MAX = 4096  # one transaction's worth; a longer queue takes several batches
LOCK_TIMEOUT_MS = 5000  # a stuck sequencer makes waiters give up (their receipt comes later), not hang
WAIT_SECONDS = 10
POLL_FIRST, POLL_MAX = 0.002, 0.025  # a batch takes milliseconds: look again soon, then less often


_QUEUE = insert(QueuedEntry.__table__)  # queued_at: the column's default (utcnow)


def queue(kind: str, data: bytes, certificate_id: str | None = None) -> None:
    """Queue an entry in the current transaction; after commit, ask for integration. A plain INSERT (nobody
    reads the row back), on the table, not through the ORM: a quarter less of a writer's time (bench/log.py)."""
    db.session.execute(_QUEUE, {"kind": kind, "data": data, "certificate_id": certificate_id})
    after_commit(_nudge_unless_awaited, certificate_id, kind)


def _awaited() -> set:
    """(certificate id, kind) this request or job has already seen integrated (see await_certificate)."""
    from flask import g

    return g.setdefault("tlog_awaited", set())


def _nudge_unless_awaited(certificate_id: str | None, kind: str) -> None:
    """The API's issuance integrates its own entry before this runs: then there is nothing to ask for."""
    if (certificate_id, kind) not in _awaited():
        from ..jobs import nudge

        nudge("tlog.integrate")


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


_TAKE = {wait: text(f"SELECT set_config('lock_timeout', '{LOCK_TIMEOUT_MS}', true), {take}({ADVISORY_LOCK})")
         for wait, take in ((True, "pg_advisory_xact_lock"), (False, "pg_try_advisory_xact_lock"))}


def _lock(wait: bool = True) -> bool | None:
    """Take the sequencer lock for this transaction; None if `wait` is off and another transaction holds it."""
    if _is_postgres():
        got = db.session.execute(_TAKE[wait]).one()[1]
        return None if got is False else True  # the waiting form returns void
    # SQLite: this UPDATE takes the database's write lock, which serialises sequencers
    db.session.execute(update(LogState).where(LogState.id == 1).values(size=LogState.size))
    return True


# what is queued, each row with the tree size: read under the lock (a statement after the one that took it,
# so its snapshot sees the last batch's commit), in one round trip
_QUEUED = select(select(LogState.size).where(LogState.id == 1).scalar_subquery().label("size"), QueuedEntry.id,
                 QueuedEntry.kind, QueuedEntry.data, QueuedEntry.certificate_id, QueuedEntry.queued_at) \
    .order_by(QueuedEntry.id)


def right_edge(size: int) -> list[tuple[int, int]]:
    """The complete subtrees a tree of `size` leaves ends with: every left sibling a new leaf can need."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]


def _known(size: int) -> dict[tuple[int, int], bytes]:
    wanted = right_edge(size)
    if not wanted:
        return {}
    rows = db.session.execute(select(LogNode.level, LogNode.idx, LogNode.hash)
                              .where(tuple_(LogNode.level, LogNode.idx).in_(wanted))).all()
    found = {(lv, ix): bytes(h) for lv, ix, h in rows}
    if len(found) != len(wanted):
        raise RuntimeError(f"the log's right edge at size {size} is missing stored nodes")
    return found


def integrate_batch(limit: int = BATCH_MAX, wait: bool = True) -> int | None:
    """Integrate up to `limit` queued entries and sign one checkpoint. Returns how many (None: `wait` is off
    and another sequencer holds the lock); the caller's unit of work commits, which releases the lock."""
    if _lock(wait) is None:
        return None
    queued = db.session.execute(_QUEUED.limit(limit)).all()
    if not queued:
        return 0
    size = queued[0].size
    from ..db import utcnow

    now = utcnow()
    known = _known(size)
    nodes = []
    for k, q in enumerate(queued):
        idx = size + k
        h = merkle.leaf_hash(q.data)
        level, i = 0, idx
        known[(0, idx)] = h
        nodes.append({"level": 0, "idx": idx, "hash": h})
        while i % 2 == 1:  # this leaf completes a subtree: hash it with its left sibling
            h, level, i = merkle.node_hash(known[(level, i - 1)], h), level + 1, i // 2
            known[(level, i)] = h
            nodes.append({"level": level, "idx": i, "hash": h})
    new_size = size + len(queued)
    root = merkle.mth(0, new_size, lambda level, index: known[(level, index)])
    signed = sign_checkpoint(new_size, root)
    if _is_postgres():  # one round trip, not six: under load each one waits for the GIL again
        db.session.execute(_WRITE_PG, {"ids": [q.id for q in queued], "size": size, "new_size": new_size,
                                       "now": now, "levels": [n["level"] for n in nodes],
                                       "idxs": [n["idx"] for n in nodes], "hashes": [n["hash"] for n in nodes],
                                       "root": root, "note": signed, "channel": notices.CHANNEL,
                                       "notice": f"{size} {new_size}"})
    else:  # SQLite: the queued rows are copied across from Python
        db.session.execute(insert(LogEntry), [{"idx": size + k, "kind": q.kind, "data": q.data,
                                               "certificate_id": q.certificate_id, "queued_at": q.queued_at,
                                               "created_at": now} for k, q in enumerate(queued)])
        db.session.execute(insert(LogNode), nodes)
        db.session.execute(delete(QueuedEntry).where(QueuedEntry.id.in_([q.id for q in queued])))
        db.session.execute(update(LogState).where(LogState.id == 1).values(size=new_size))
        db.session.add(Checkpoint(tree_size=new_size, root_hash=root, note=signed))
        db.session.flush()
    after_commit(_board().resolve, [(q.certificate_id, q.kind, size + k) for k, q in enumerate(queued)
                                    if q.certificate_id is not None])
    return len(queued)


# The batch's writes on PostgreSQL: the queued rows move into the log in queue order (dense indexes from the
# old size, as the nodes were computed), the nodes, the size and the checkpoint; the notice is delivered to
# every process's waiters at commit (notices.py). Every data-modifying CTE runs, referenced or not.
_WRITE_PG = text("""
WITH moved AS (DELETE FROM tlog_queue WHERE id = ANY(CAST(:ids AS bigint[]))
               RETURNING id, kind, data, certificate_id, queued_at),
     entries AS (INSERT INTO tlog_entries (idx, kind, data, certificate_id, queued_at, created_at)
                 SELECT :size + row_number() OVER (ORDER BY id) - 1, kind, data, certificate_id, queued_at, :now
                 FROM moved),
     nodes AS (INSERT INTO tlog_nodes (level, idx, hash)
               SELECT * FROM unnest(CAST(:levels AS int[]), CAST(:idxs AS bigint[]), CAST(:hashes AS bytea[]))),
     state AS (UPDATE tlog_state SET size = :new_size WHERE id = 1),
     checkpoint AS (INSERT INTO tlog_checkpoints (tree_size, root_hash, note, created_at)
                    VALUES (:new_size, :root, :note, :now))
SELECT pg_notify(:channel, :notice)
""")


def integrate() -> dict:
    """The `tlog.integrate` job: batches until the queue is empty (each batch its own commit)."""
    total = 0
    while True:
        with unit_of_work():
            n = integrate_batch()
        total += n
        if n < BATCH_MAX:
            return {"integrated": total}


def pending() -> int:
    return db.session.scalar(select(db.func.count()).select_from(QueuedEntry)) or 0


# Within one process, one waiting thread at a time tries to become the sequencer; the others sleep on the
# process's board (notices.py) until that attempt ends or a batch's notice arrives (no storm of lock attempts).
_attempt = threading.Lock()


def _conninfo(url) -> str:
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=False)


@lru_cache(maxsize=16)  # by the engine itself: a URL hashes by rendering itself as text, on every call
def _board_of(engine) -> notices.Board:
    return notices.board(_conninfo(engine.url), listen=engine.dialect.name == "postgresql")


def _board() -> notices.Board:
    return _board_of(db.session.get_bind())


def _try_sequencing(board: notices.Board) -> int | None:
    """Integrate what is queued if no sequencer is running; None if one is (here or in another process)."""
    if not _attempt.acquire(blocking=False):
        return None
    ran = None
    try:
        if _held_elsewhere():
            return None
        with unit_of_work():  # never queue for the lock: whoever holds it will take our entry or notice us
            ran = integrate_batch(wait=not _is_postgres())
        return ran
    finally:
        _attempt.release()
        if ran is not None:  # a batch ended here: look again. (A lock held elsewhere ends with a notice.)
            board.moved()


_PROBE = text(f"SELECT pg_try_advisory_xact_lock({ADVISORY_LOCK})")


def _held_elsewhere() -> bool:
    """Whether another sequencer holds the lock now, asked in one autocommit statement (its own transaction takes
    the lock and lets it go at once), where a failed attempt costs three round trips (BEGIN, the lock, COMMIT):
    under bench/log.py's load there were 0.4 failed attempts per append. PostgreSQL only; False when unsure (the
    attempt itself then finds out)."""
    if not _is_postgres():
        return False
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # the session is left alone
        return conn.execute(_PROBE).scalar() is False


def await_certificate(certificate_id: str, kind: str = "issuance", timeout: float = WAIT_SECONDS) -> int | None:
    """After the issuing commit: wait for the batch holding this certificate's entry, integrating it (and
    whatever else is queued) if no sequencer is running: group commit. Its index, or None if it is not in
    within `timeout` (the receipt then comes with the certificate later). Never raises: the issuance is
    committed whatever happens here.

    A batch's notice names the entries it integrated (notices.py), so a waiter looks in the table itself only
    when it has reason to: its own attempt integrated nothing of its own, or no notice came for a while."""
    deadline = time.monotonic() + timeout
    key = (certificate_id, kind)
    look = select(LogEntry.idx).filter_by(certificate_id=certificate_id, kind=kind)
    board = _board()
    board.register(key)
    must_look, pause = False, POLL_FIRST  # just queued: not in a batch yet, go sequence
    try:
        while True:
            try:
                idx = board.resolved(key)
                if idx is None and must_look:
                    idx = db.session.scalar(look)
                    db.session.rollback()  # end the read: the next look must see the sequencer's commit
                if idx is not None:
                    _awaited().add(key)
                    return idx
                if time.monotonic() > deadline:
                    return None
                since = board.generation
                ran = _try_sequencing(board)
                if ran is not None:  # our batch took every committed entry, ours too unless it was in already
                    must_look = board.resolved(key) is None
                elif board.listening:  # another sequencer is at it: its batch's notice wakes us
                    must_look = not board.wait(key, since, notices.QUIET)
                else:
                    board.wait(key, since, pause)
                    pause, must_look = min(pause * 2, POLL_MAX), True
            except Exception:  # a lock timeout, a lost connection: look again until the deadline
                db.session.rollback()
                log.warning("waiting for the log's batch failed; retrying", exc_info=True)
                time.sleep(0.05)
                must_look = True
    finally:
        board.unregister(key)
