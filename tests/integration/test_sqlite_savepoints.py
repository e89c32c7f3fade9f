"""On SQLite, a unit of work whose rows stand alone (a savepoint each) runs them inside its one transaction, holding
the database's write lock from before its first savepoint (db.locking.savepoint).

pysqlite begins a transaction only at a write: before this, the bulk upload's first SAVEPOINT began a transaction
of its own, its RELEASE committed that row at once, and a read then a write inside it could fail at once with
"database is locked" while another connection committed (seen in CI's browser tests: a 500 on the upload page).
Checked from a second, plain sqlite3 connection: nothing is visible before the unit commits, and the write lock is
taken. PostgreSQL has real nested transactions: nothing to check there."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from sqlalchemy import select

from marketplace.domain.money import Money
from marketplace.events.relay import relay
from marketplace.extensions import db
from marketplace.policies import service as policies
from marketplace.registry import service as registry
from marketplace.registry.models import Organization
from tests.drills import PERILS


def _row(number: str, insured: str) -> dict:
    return {"number": number, "insured": insured, "limit": Money(1_000_000_000, "JPY"),
            "deductible": Money(0, "JPY"), "perils": PERILS, "term_start": date(2026, 12, 1),
            "term_end": date(2027, 11, 30), "cancellation_notice_days": 30}


def _other_connection() -> sqlite3.Connection:
    return sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)  # never waits


def test_a_bulk_registration_holds_the_write_lock_and_commits_its_rows_together(demo):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's transactions only")
    db.session.commit()
    tokio = db.session.scalar(select(Organization).filter_by(kind="insurer", name="Tokio Mutual Cyber"))
    sakura = registry.find_exchange("Kanto-FB-00099", "JP")
    out = policies.register_many([_row("SP-1", sakura.org_id), _row("SP-2", "no-such-exchange"),
                                  _row("SP-3", sakura.org_id)], tokio, "test")
    assert [type(o).__name__ for o in out] == ["Policy", "Unprocessable", "Policy"]

    other = _other_connection()
    try:
        # the first row's RELEASE committed nothing: both rows wait for the unit's commit
        assert other.execute("SELECT count(*) FROM policies WHERE number LIKE 'SP-%'").fetchone()[0] == 0
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # the unit holds the write lock
    finally:
        other.close()
    db.session.commit()
    other = _other_connection()
    try:
        assert other.execute("SELECT count(*) FROM policies WHERE number LIKE 'SP-%'").fetchone()[0] == 2
    finally:
        other.close()


def test_a_relay_batch_holds_the_write_lock_from_its_start(demo, monkeypatch):
    """Each delivery runs in a savepoint; while the batch runs, no other connection can begin writing."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's transactions only")
    from marketplace.events import handlers

    seen = []

    def probe(event, row):
        other = _other_connection()
        try:
            other.execute("BEGIN IMMEDIATE")
            seen.append("free")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as e:
            seen.append(str(e))
        finally:
            other.close()

    globals()["PROBE"] = probe
    monkeypatch.setitem(handlers.SUBSCRIBERS, "webhooks", f"{__name__}.PROBE")
    db.session.commit()
    relay()  # the demo's own deliveries first
    tokio = db.session.scalar(select(Organization).filter_by(kind="insurer", name="Tokio Mutual Cyber"))
    sakura = registry.find_exchange("Kanto-FB-00099", "JP")
    policies.register_many([_row("SP-9", sakura.org_id)], tokio, "test")  # records policy.registered or the like
    db.session.commit()
    seen.clear()
    assert relay()["done"] >= 1
    assert seen and all("locked" in s for s in seen), seen
