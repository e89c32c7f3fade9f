"""`column IN (a list)` for hot statements built once at import."""

from __future__ import annotations

from sqlalchemy import String, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


def one_of(column, name: str, postgres: bool):
    """SQL: `column` is one of the strings bound as `name`. On PostgreSQL one array parameter (= ANY): the SQL
    text is the same whatever the list's length, so nothing is rendered again per call, as an expanding IN is
    (~60 us a statement in SQLAlchemy). Elsewhere an expanding IN. Build both and pick by the connection's
    dialect (by_dialect)."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


def by_dialect(build) -> dict[bool, object]:
    """{postgres?: build(postgres)}: a statement in both forms."""
    return {True: build(True), False: build(False)}
