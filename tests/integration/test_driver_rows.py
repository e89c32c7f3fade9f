"""db.driver: hot reads on PostgreSQL go straight through the driver's cursor, and give exactly the rows
SQLAlchemy gives (values, types, names), are seen by statement listeners, raise SQLAlchemy's errors, and
recover from a lost connection as any other statement does. On SQLite every statement goes through SQLAlchemy,
so the same comparisons hold there trivially. (The offset report's statement is compared with the ORM's four
in test_offset_report.)"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    LargeBinary,
    Numeric,
    String,
    bindparam,
    cast,
    create_engine,
    event,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound

from marketplace.auth import service as auth
from marketplace.auth.models import OAuthToken
from marketplace.certificates import online
from marketplace.certificates.models import Certificate
from marketplace.db import UTCDateTime, driver
from marketplace.db.lists import one_of
from marketplace.extensions import db, plain_rows
from marketplace.keys import service as keys
from marketplace.registry.models import Organization
from tests.bearer import bearer_headers
from tests.sql_statements import statements

POSTGRES_ONLY = "the driver path is PostgreSQL's"


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _same(stmt, params):
    """The driver's rows and SQLAlchemy's for one statement: equal values, equal types, equal names."""
    conn = db.session.connection()
    fast = driver.fetch(conn, stmt, params)
    slow = conn.execute(stmt, params).all()
    assert [tuple(r) for r in fast] == [tuple(r) for r in slow]
    assert [[type(v) for v in r] for r in fast] == [[type(v) for v in r] for r in slow]
    assert all(r._fields == tuple(s._fields) for r, s in zip(fast, slow, strict=True))
    return fast


def _typed(postgres: bool):
    """One statement with what SQLAlchemy would process: a UTCDateTime column (result processor), an array
    parameter (bind processor), JSON, bytes, Decimal and NULL."""
    return select(
        bindparam("at", type_=UTCDateTime()).label("at"),
        type_coerce(bindparam("doc", type_=JSON), JSON).label("doc"),
        cast(bindparam("amount", type_=Numeric(20, 4)), Numeric(20, 4)).label("amount"),
        literal(b"\x00\x01", type_=LargeBinary).label("raw"),
        cast(literal(None, String), String).label("missing"),
        one_of(literal("b"), "names", postgres).label("listed"),
    )


def test_hot_statements_give_the_rows_sqlalchemy_gives(demo):
    postgres = _postgres()
    bearer_headers(demo, db.session.scalars(select(Organization)).first())
    token = db.session.scalars(select(OAuthToken.token_hash)).first()
    cert = db.session.scalars(select(Certificate)).first()
    assert token and cert
    bearer = _same(auth._FIND_BEARER, {"token_hash": token})
    assert len(bearer) == 1 and bearer[0].kind in {"exchange", "insurer", "regulator"}
    snap = _same(online._SNAPSHOT[postgres], {"ids": [], "cid": cert.id, "lid": cert.status_list_id,
                                              "insurers": [], "numbers": []})
    assert snap[0].cert_id == cert.id and snap[0].keys
    for (_, _), by_dialect in keys._KEY_ROWS.items():
        if by_dialect[postgres] is not None:
            _same(by_dialect[postgres], {"ids": []})
    typed = _same(_typed(postgres), {"at": datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC), "amount": Decimal("12.5"),
                                     "names": ["a", "b"], "doc": {"a": [1, 2]}})
    row = typed[0]
    assert row.at == datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC) and row.at.tzinfo is not None
    assert row.doc == {"a": [1, 2]} and row.amount == Decimal("12.5000") and row.raw == b"\x00\x01"
    assert row.missing is None and row.listed is True
    if postgres:  # every one of them went the driver's way
        for stmt in (auth._FIND_BEARER, online._SNAPSHOT[True], _typed(True)):
            assert driver._plan(stmt, db.engine.dialect) is not None, stmt


def test_first_one_all_scalar(app):
    rows = plain_rows(select(literal(1).label("n")).where(bindparam("keep", type_=Boolean)), {"keep": True})
    assert rows.one().n == 1 and rows.first().n == 1 and rows.all() == [(1,)] and rows.scalar() == 1
    none = plain_rows(select(literal(1).label("n")).where(bindparam("keep", type_=Boolean)), {"keep": False})
    assert none.first() is None and none.all() == [] and none.scalar() is None
    with pytest.raises(NoResultFound):
        none.one()
    two = plain_rows(select(literal(1).label("n")).union_all(select(literal(2))), {})
    with pytest.raises(MultipleResultsFound):
        two.one()


def test_listeners_see_each_statement_once(demo):
    bearer_headers(demo, db.session.scalars(select(Organization)).first())
    token = db.session.scalars(select(OAuthToken.token_hash)).first()
    after = []

    def done(conn, cursor, statement, *args):
        after.append(statement)

    event.listen(db.engine, "after_cursor_execute", done)
    try:
        with statements() as seen:
            plain_rows(auth._FIND_BEARER, {"token_hash": token}).first()
    finally:
        event.remove(db.engine, "after_cursor_execute", done)
    assert len(seen) == 1 and seen[0].startswith("SELECT oauth_tokens.client_id"), seen
    assert len(after) == 1 and " ".join(after[0].split()) == seen[0]


def test_what_cannot_be_compiled_once_goes_through_sqlalchemy(app):
    expanding = select(literal("x").label("x")).where(literal("x").in_(bindparam("names", expanding=True)))
    assert driver._plan(expanding, db.engine.dialect) is None
    assert plain_rows(expanding, {"names": ["x", "y"]}).all() == [("x",)]
    same_names = select(literal(1).label("n"), literal(2).label("n"))
    assert [tuple(r) for r in plain_rows(same_names, {})] == [(1, 2)]
    if _postgres():
        assert not driver._plan(same_names, db.engine.dialect).usable


def test_a_driver_error_is_sqlalchemys_and_leaves_the_session_usable(app):
    if not _postgres():
        pytest.skip(POSTGRES_ONLY)
    bad = select(cast(bindparam("n", type_=String), Integer).label("n"))
    assert driver._plan(bad, db.engine.dialect) is not None
    with pytest.raises(DBAPIError) as caught:
        plain_rows(bad, {"n": "not a number, and secret"})
    assert "invalid input syntax" in str(caught.value)
    assert "parameters hidden" in str(caught.value)  # hide_parameters, as for every other statement
    db.session.rollback()
    assert plain_rows(bad, {"n": "7"}).one().n == 7


def test_a_lost_connection_is_invalidated_and_the_next_unit_gets_a_new_one(app, database_url):
    if not _postgres():
        pytest.skip(POSTGRES_ONLY)
    probe = select(cast(bindparam("n", type_=String), Integer).label("n"))
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))
    killer = create_engine(database_url)
    with killer.begin() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) is True
    killer.dispose()
    with pytest.raises(DBAPIError) as caught:
        plain_rows(probe, {"n": "1"})
    assert caught.value.connection_invalidated
    db.session.rollback()
    assert plain_rows(probe, {"n": "2"}).one().n == 2
    assert db.session.scalar(text("SELECT pg_backend_pid()")) != pid
