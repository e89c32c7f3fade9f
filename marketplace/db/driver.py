"""Hot read statements on PostgreSQL through the driver's cursor, without SQLAlchemy's result machinery.

For a one-row read, SQLAlchemy's execution costs about 110 us of Python on top of psycopg's own 90 us. Most of
it is the result set-up: it reads `cursor.description`, and psycopg builds a Column object, with its type looked
up, for every column at every execution. These statements are built once at import, so each is compiled once
here and then sent as SQL text with its parameters.

The fast path applies what SQLAlchemy would: the types' bind processors (ARRAY's) and result processors
(UTCDateTime's), so the rows are the values SQLAlchemy gives. It takes a statement only when
- no parameter is rendered per call (an expanding IN list), and
- the result's column names are unique and usable as names (rows are named tuples).
Anything else, and every other dialect, goes through SQLAlchemy as before. `before_cursor_execute` and
`after_cursor_execute` listeners still see each statement (tests count statements with them). A driver error
goes through SQLAlchemy's own handling, so it is raised as a DBAPIError and a lost connection is invalidated as
after any other statement.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import MultipleResultsFound, NoResultFound

from ..cache import LRU


@dataclass
class _Plan:
    sql: str
    compiled: Any
    binds: tuple[tuple[str, Any], ...]    # (parameter name, bind processor)
    # learnt from the first execution's cursor.description (a result processor may depend on the column's type
    # as the driver reports it, PostgreSQL's Numeric's does); a race to learn them learns the same values
    results: tuple[tuple[int, Any], ...] = ()  # (column index, result processor)
    row: type | None = None
    usable: bool = True


# id(statement) -> (the statement, kept alive while its id is a key; its plan); bounded, in case a caller builds
# its statement per call (it then pays a compilation each time, and learns to build it once)
_PLANS = LRU(256)


def _plan_of(stmt, dialect) -> _Plan | None:
    compiled = stmt.compile(dialect=dialect)
    if compiled.positional or compiled.post_compile_params or compiled.literal_execute_params:
        return None
    binds = {}  # by the name in the SQL text (compiled.binds may hold one parameter under two keys)
    for bind in compiled.binds.values():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds[compiled.bind_names[bind]] = process
    return _Plan(compiled.string, compiled, tuple(binds.items()))


def _plan(stmt, dialect) -> _Plan | None:
    known = _PLANS.get(id(stmt))
    if known is None or known[0] is not stmt:
        known = _PLANS.put(id(stmt), (stmt, _plan_of(stmt, dialect)))
    return known[1]


def _learn(plan: _Plan, stmt, dialect, description) -> bool:
    """Row names and result processors from the first execution; False (and never again) when the names the
    database gives are not the statement's keys, unique and usable as names, as SQLAlchemy's rows would have."""
    names = [c.name for c in description]
    keys = list(stmt.selected_columns.keys())
    if names != keys or len(set(names)) != len(names) or any(n.startswith("_") or not n.isidentifier()
                                                             for n in names):
        plan.usable = False
        return False
    results = []
    for i, (column, described) in enumerate(zip(stmt.selected_columns, description, strict=True)):
        process = column.type.dialect_impl(dialect).result_processor(dialect, described.type_code)
        if process is not None:
            results.append((i, process))
    plan.results = tuple(results)
    plan.row = namedtuple("Row", names)
    return True


class Rows(list):
    """A statement's rows, with the Result methods the callers use."""

    def first(self):
        return self[0] if self else None

    def one(self):
        if len(self) != 1:
            raise (NoResultFound if not self else MultipleResultsFound)(f"expected one row, found {len(self)}")
        return self[0]

    def all(self):
        return list(self)

    def scalar(self):
        """The first column of the first row, or None without a row."""
        return self[0][0] if self else None


def fetch(conn: Connection, stmt, params: dict) -> Rows:
    """Every row of a SELECT built once at import (so that it can be compiled once), on this connection."""
    plan = _plan(stmt, conn.dialect) if conn.dialect.name == "postgresql" else None
    if plan is None or not plan.usable:
        return Rows(conn.execute(stmt, params).all())
    sql, values, cursor = plan.sql, params, None
    try:
        values = plan.compiled.construct_params(params)
        for name, process in plan.binds:
            values[name] = process(values[name])
        cursor = conn.connection.dbapi_connection.cursor()
        listened = conn._has_events or conn.engine._has_events
        if listened:
            for listener in conn.dispatch.before_cursor_execute:
                sql, values = listener(conn, cursor, sql, values, None, False)
        cursor.execute(sql, values)
        if listened:
            conn.dispatch.after_cursor_execute(conn, cursor, sql, values, None, False)
        named = plan.row is not None or _learn(plan, stmt, conn.dialect, cursor.description)
        data = cursor.fetchall() if named else None
        cursor.close()
    except BaseException as e:
        # SQLAlchemy's own path for a driver error: wrap it, and invalidate a lost connection (private, so it is
        # only called here)
        conn._handle_dbapi_exception(e, sql, values, cursor, None)
    if not named:  # a read built at import: run it again, SQLAlchemy's way
        return Rows(conn.execute(stmt, params).all())
    make = plan.row._make
    if not plan.results:
        return Rows(make(r) for r in data)
    out = Rows()
    for r in data:
        r = list(r)
        for i, process in plan.results:
            r[i] = process(r[i])
        out.append(make(r))
    return out
