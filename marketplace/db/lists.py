"""`column IN (a list)` for hot statements built once at import."""

from __future__ import annotations

from sqlalchemy import JSON, String, Text, any_, bindparam, cast, func, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY


def one_of(column, name: str, postgres: bool):
    """SQL: `column` is one of the strings bound as `name`. On PostgreSQL one array parameter (= ANY): the SQL
    text is the same whatever the list's length, so nothing is rendered again per call, as an expanding IN is
    (~60 us a statement in SQLAlchemy). Elsewhere an expanding IN. Build both and pick by the connection's
    dialect (by_dialect)."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


def one_of_planned_once(column, name: str, postgres: bool):
    """one_of, with the list bound through a one-row subquery (an InitPlan), so that PostgreSQL cannot see the
    list when it plans. With the list as a plain parameter, the plan made for each execution (a custom plan,
    which knows the list) is always estimated cheaper than the plan for any list (the generic one), so
    PostgreSQL never settles on the generic plan of a prepared statement and plans the whole statement again
    at every execution: 0.3 ms of the verification snapshot's 0.5 on its own. Behind the subquery both plans
    are the same, and after its fifth execution the statement is planned no more. Same rows either way."""
    if postgres:
        return column == any_(cast(select(bindparam(name, type_=ARRAY(String))).scalar_subquery(), ARRAY(String)))
    return one_of(column, name, postgres)


def by_dialect(build) -> dict[bool, object]:
    """{postgres?: build(postgres)}: a statement in both forms."""
    return {True: build(True), False: build(False)}


def _aggregated(stmt, order_by, postgres: bool):
    inner = stmt.add_columns(func.row_number().over(order_by=order_by)).subquery()
    array, agg = (func.json_build_array, func.json_agg) if postgres else (func.json_array, func.json_group_array)
    return select(agg(array(*inner.c))).scalar_subquery()


def json_rows(stmt, order_by, postgres: bool):
    """A scalar subquery: the rows of `stmt` (columns of strings, numbers or NULL) as one JSON array of arrays,
    decoded on reading, so that one statement carries a few small sets of rows next to its one-row answers.
    Each row ends with its place in `order_by` (an aggregate's input order is guaranteed on neither backend):
    read them back with rows_in_order."""
    return type_coerce(_aggregated(stmt, order_by, postgres), JSON)


def json_text(column, postgres: bool):
    """A JSON column or json_rows-like aggregate read as its text, not decoded: a value that can key a cache of
    what is computed from it (decode it with json.loads on a miss)."""
    return type_coerce(cast(column, Text) if postgres else column, Text)


def json_text_rows(stmt, order_by, postgres: bool):
    """json_rows, read as its JSON text (json_text): rows_in_order(json.loads(text)) gives the rows."""
    return json_text(_aggregated(stmt, order_by, postgres), postgres)


def rows_in_order(value) -> list[tuple]:
    """The rows a json_rows column holds, in order, without their place (none: PostgreSQL's NULL)."""
    return [tuple(r[:-1]) for r in sorted(value or (), key=lambda r: r[-1])]
