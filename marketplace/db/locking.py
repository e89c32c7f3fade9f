"""Row locks for check-then-write sequences (capacity, policy limits, status lists)."""

from __future__ import annotations

from sqlalchemy import select, update


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


def write_before_savepoints(session) -> None:
    """SQLite: begin this unit's transaction now, holding the database's write lock (BEGIN IMMEDIATE, which waits
    up to busy_timeout for it), before its first savepoint. pysqlite begins a transaction only at a write, so a
    SAVEPOINT before one begins a transaction of its own, which its RELEASE commits; and a read then a write
    inside it fails at once with "database is locked" when another connection is committing (SQLite does not
    wait where waiting could deadlock). PostgreSQL, or a transaction already begun: nothing to do."""
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
