"""Row locks for check-then-write sequences (capacity, policy limits, status lists), savepoints, and what a
transaction keeps for its own duration."""

from __future__ import annotations

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session


def lock_row(model, ident):
    """Lock one row for the rest of the transaction and return it freshly loaded (None if absent).

    Bumping `lock_version` is a write, so SQLite takes its database write lock (writers queue) and
    PostgreSQL its row lock; the SELECT states the PostgreSQL intent explicitly. Both are NO KEY locks: a
    transaction that inserted a row referencing this one (a certificate in this status list, a request on
    this offering) holds KEY SHARE on it, which FOR UPDATE would wait for -- and two such transactions
    locking the same row would wait for each other forever (a deadlock).
    """
    session = model.__fsa__.session  # the app's session, without importing extensions (which imports db)
    pk = model.__mapper__.primary_key[0]
    session.execute(update(model).where(pk == ident).values(lock_version=model.lock_version + 1))
    return session.scalar(select(model).where(pk == ident).with_for_update(key_share=True)
                          .execution_options(populate_existing=True))


def savepoint(session):
    """`session.begin_nested()`, for a part of a unit that may fail alone; use this instead of calling it directly.

    SQLite: the unit's transaction is begun first, holding the database's write lock (BEGIN IMMEDIATE, which waits
    up to busy_timeout for it). pysqlite begins a transaction only at a write, so a SAVEPOINT before one begins a
    transaction of its own, which its RELEASE commits; and a read then a write inside it fails at once with
    "database is locked" when another connection is committing (SQLite does not wait where waiting could
    deadlock). PostgreSQL, or a transaction already begun: only the savepoint."""
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    return session.begin_nested()


def transaction_memo(session, key: str, empty):
    """A value kept in `session.info[key]` for the rest of the session's outermost transaction (forgotten when it
    ends, committed or not): `empty()` the first time."""
    _MEMO_KEYS.add(key)
    if key not in session.info:
        session.info[key] = empty()
    return session.info[key]


_MEMO_KEYS: set[str] = set()


@event.listens_for(Session, "after_transaction_end")
def _forget_memos(session, transaction) -> None:
    if transaction.parent is None:
        for key in _MEMO_KEYS:
            session.info.pop(key, None)
