"""Counting the SQL statements a block runs (query budgets are asserted; times never are)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from marketplace.extensions import db


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement the app's engine runs inside the block, whitespace collapsed."""
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
