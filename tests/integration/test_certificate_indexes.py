"""The read an issuance makes of the certificates it supersedes goes through the partial index of valid
certificates (issue 15: indexes proven by EXPLAIN), on both backends, also in PostgreSQL's generic plans
(prepared statements): each issuance revokes the one before, so an exchange's certificates only grow, and the
read must not grow with them."""

from __future__ import annotations

from sqlalchemy import insert, select

from marketplace.certificates import service
from marketplace.certificates.models import Certificate
from marketplace.db import new_id, utcnow
from marketplace.extensions import db
from marketplace.registry import service as registry
from tests.sql_statements import generic_plan

INDEX = "ix_certificates_valid_exchange_period"


def _plan(stmt) -> str:
    """The plan the database chooses for `stmt`, its parameters bound as the app binds them."""
    conn = db.session.connection()
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), params).all()
    else:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                    tuple(params[name] for name in compiled.positiontup)).all()
    return "\n".join(str(r[-1]) for r in rows)


def _generic_plan(where_status: str, *args: str) -> str:
    """The generic plan of the supersede read with the status condition written as given."""
    n = where_status.count("$")
    return generic_plan(db.session.connection(), "SELECT id FROM certificates WHERE exchange_id = $1 AND period = $2 "
                        f"AND {where_status}", ["text"] * (2 + n), [f"'{a}'" for a in args])


def _many_revoked(n: int) -> tuple[str, str]:
    """n revoked certificates of the demo exchange's period, as years of issuances leave them."""
    sakura = registry.find_exchange("Kanto-FB-00099", "JP")
    demo = db.session.scalar(select(Certificate).filter_by(exchange_id=sakura.org_id))
    taken = set(db.session.scalars(select(Certificate.status_index).filter_by(status_list_id=demo.status_list_id)))
    free = (i for i in range(100_000) if i not in taken)
    row = {c.key: getattr(demo, c.key) for c in Certificate.__table__.c}
    db.session.execute(insert(Certificate), [{**row, "id": new_id(), "status_index": next(free), "status": "revoked",
                                              "revoked_reason": "superseded", "revoked_at": utcnow()}
                                             for _ in range(n)])
    db.session.commit()
    conn = db.session.connection()
    conn.exec_driver_sql("ANALYZE certificates" if conn.dialect.name == "postgresql" else "ANALYZE")
    return sakura.org_id, demo.period


def test_the_certificates_an_issuance_supersedes_are_read_through_the_valid_index(demo):
    exchange_id, period = _many_revoked(3000)
    stmt = service.superseded(exchange_id, period, new_id())
    assert "certificates.status = 'valid'" in str(stmt.compile(dialect=db.session.connection().dialect))
    assert INDEX in _plan(stmt)
    assert [c.status for c in db.session.scalars(stmt)] == ["valid"]  # the demo's own, among 3,001
    if db.session.connection().dialect.name == "postgresql":
        # why the value is in the SQL text: a generic plan can use the partial index only then
        assert INDEX in _generic_plan("certificates.status = 'valid'", exchange_id, period)
        assert INDEX not in _generic_plan("certificates.status = $3", exchange_id, period, "valid")
