"""Counting the SQL statements a block runs (query budgets are asserted; times never are)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event

from marketplace.extensions import db


@contextmanager
def _each_statement(record: Callable) -> Iterator[None]:
    """record(conn, statement) for every statement the app's engine runs inside the block."""

    def listen(conn, cursor, statement, *args):
        record(conn, " ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement the app's engine runs inside the block, whitespace collapsed."""
    seen: list[str] = []
    with _each_statement(lambda conn, statement: seen.append(statement)):
        yield seen


@contextmanager
def statements_in_autocommit() -> Iterator[list[tuple[str, bool]]]:
    """(statement, whether the driver's connection was in autocommit) for every statement inside the block."""
    seen: list[tuple[str, bool]] = []
    with _each_statement(lambda conn, statement: seen.append(
            (statement, bool(conn.connection.dbapi_connection.autocommit)))):
        yield seen


def generic_plan(conn, sql: str, types: list[str], values: list[str]) -> str:
    """PostgreSQL's generic plan for `sql` (parameters $1..$n of `types`), the plan a prepared statement ends up
    with (psycopg prepares a statement at its fifth run), as EXPLAIN prints it for `values` (SQL literals)."""
    conn.exec_driver_sql(f"PREPARE generic_probe({', '.join(types)}) AS {sql}")
    try:
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN EXECUTE generic_probe({', '.join(values)})"))
    finally:
        conn.exec_driver_sql("DEALLOCATE generic_probe")
