"""The log's batch notices (tlog/notices.py) on PostgreSQL: a batch's notice names the entries it integrated
to every process's waiters; a waiter whose listener is gone, or who hears nothing, still gets its index."""

import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, select, text

from marketplace.extensions import db
from marketplace.tlog import notices, sequencer
from marketplace.tlog.models import LogEntry
from marketplace.uow import unit_of_work
from tests.sql_statements import generic_plan


@pytest.fixture
def pg_app(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("notices are PostgreSQL's LISTEN/NOTIFY")
    return app


def queue_committed(cid: str) -> None:
    """Queue an entry and commit, without the nudge that would integrate it in process (as the API does)."""
    with unit_of_work() as uow:
        sequencer.queue("issuance", cid.encode(), cid)
        uow.commit()
        sequencer._awaited().add((cid, "issuance"))


def index_of(cid: str) -> int | None:
    return db.session.scalar(select(LogEntry.idx).filter_by(certificate_id=cid, kind="issuance"))


def test_a_batch_notice_resolves_a_waiter_of_another_board(pg_app):
    board = notices.Board(sequencer._conninfo(db.engine.url), listen=True)  # not the process's: only a notice
    cid = str(uuid.uuid4())
    board.register((cid, "issuance"))
    assert board.listening
    queue_committed(cid)
    with unit_of_work():
        assert sequencer.integrate_batch() == 1
    deadline = time.monotonic() + 10
    while board.resolved((cid, "issuance")) is None and time.monotonic() < deadline:
        board.wait((cid, "issuance"), board.generation, 0.5)  # another batch's notice may wake it first
    assert board.resolved((cid, "issuance")) == index_of(cid) is not None


def test_a_board_that_cannot_listen_says_so(pg_app):
    board = notices.Board("postgresql://postgres@127.0.0.1:1/none", listen=True)
    board.register(("x", "issuance"))
    assert not board.listening
    assert not board.wait(("x", "issuance"), board.generation, 0.05)  # nobody resolves it: a timeout, no hang


def _hold_the_sequencer_lock(url: str, held: threading.Event, seconds: float) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": sequencer.ADVISORY_LOCK})
        held.set()
        time.sleep(seconds)  # another process's sequencer, busy; it ends without a batch, so without a notice
    engine.dispose()


@pytest.mark.parametrize("listener", ["listening", "killed"])
def test_a_waiter_behind_a_held_lock_gets_its_index_without_a_notice(pg_app, database_url, listener):
    warm = str(uuid.uuid4())
    queue_committed(warm)
    assert sequencer.await_certificate(warm) == index_of(warm)  # starts this process's listener
    board = sequencer._board()
    assert board.listening
    if listener == "killed":  # the listener's connection dies: waiters look for themselves until it restarts
        with db.engine.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
                              " AND pid <> pg_backend_pid() AND datname = current_database()"))
        deadline = time.monotonic() + 5
        while board.listening and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not board.listening
    cid = str(uuid.uuid4())
    queue_committed(cid)
    held = threading.Event()
    holder = threading.Thread(target=_hold_the_sequencer_lock, args=(database_url, held, 0.6))
    holder.start()
    assert held.wait(10)
    started = time.monotonic()
    idx = sequencer.await_certificate(cid)
    waited = time.monotonic() - started
    holder.join(10)
    assert idx == index_of(cid) is not None
    assert waited >= 0.5  # it waited for the lock to be free, then sequenced its entry itself
    if listener == "killed":
        time.sleep(notices.RESTART_AFTER)
        again = str(uuid.uuid4())
        queue_committed(again)
        assert sequencer.await_certificate(again) == index_of(again)
        assert board.listening  # the next wait started it again


def test_the_listeners_read_of_a_batch_stays_on_the_primary_key_in_a_generic_plan(pg_app):
    """Each process's listener reads every batch's entries (notices._ENTRIES), a statement psycopg prepares after
    its fifth run. Written with "certificate_id IS NOT NULL", PostgreSQL's generic plan for it walked the
    certificate_id index over the whole log (4 ms a batch at 1e4 entries, growing with the log) whenever most
    entries had none: it must read the batch's index range and nothing else."""
    conn = db.session.connection()
    conn.execute(text("INSERT INTO tlog_entries (idx, kind, data, created_at) "
                      "SELECT i, 'issuance', '\\x00'::bytea, now() FROM generate_series(0, 19999) i"))
    conn.execute(text("ANALYZE tlog_entries"))  # as after a bulk load (bench/log.py): no entry names a certificate
    conn.execute(text("INSERT INTO tlog_entries (idx, kind, data, certificate_id, created_at) "
                      "SELECT i, 'issuance', '\\x00'::bytea, gen_random_uuid()::text, now() "
                      "FROM generate_series(20000, 20015) i"))
    numbered = notices._ENTRIES.replace("%s", "$1", 1).replace("%s", "$2", 1)
    plan = generic_plan(conn, numbered, ["bigint", "bigint"], ["20000", "20016"])
    db.session.rollback()
    assert "pk_tlog_entries" in plan and "ix_tlog_entries_certificate_id" not in plan, plan


def test_the_probe_says_whether_another_sequencer_holds_the_lock_and_keeps_nothing(pg_app, database_url):
    """A waiter asks in one autocommit statement whether a sequencer is running before it opens a transaction to
    try (sequencer._held_elsewhere): true while another transaction holds the lock, false once it is free, and the
    probe itself holds nothing afterwards (a sequencer can take the lock at once)."""
    assert sequencer._held_elsewhere() is False
    held = threading.Event()
    holder = threading.Thread(target=_hold_the_sequencer_lock, args=(database_url, held, 0.5))
    holder.start()
    assert held.wait(10)
    assert sequencer._held_elsewhere() is True
    holder.join(10)
    assert sequencer._held_elsewhere() is False
    with db.engine.connect() as other, other.begin():
        assert other.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": sequencer.ADVISORY_LOCK}).scalar()
    cid = str(uuid.uuid4())
    queue_committed(cid)
    assert sequencer.await_certificate(cid) == index_of(cid) is not None
