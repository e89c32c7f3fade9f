"""`@public(transaction=False)` (uow.unit_of_work(transaction=False)): on PostgreSQL the verify route's one
statement runs in autocommit, with no BEGIN or COMMIT around it, and the only thing it may write is a status
list re-signed on its own; the connection goes back to the pool transactional, so the next request's work is
one transaction again, and a write in an ordinary unit still rolls back on failure."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from marketplace.certificates.models import Certificate
from marketplace.extensions import db
from marketplace.registry.models import Organization
from marketplace.uow import unit_of_work


@contextmanager
def autocommit_flags():
    """(statement, whether the driver's connection was in autocommit) for every statement in the block."""
    seen: list[tuple[str, bool]] = []

    def listen(conn, cursor, statement, *args):
        seen.append((" ".join(statement.split())[:60], bool(conn.connection.dbapi_connection.autocommit)))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


def _verify(client, token: str) -> dict:
    db.session.remove()  # a new request starts from a fresh session, as in a worker
    r = client.post("/api/v1/verify", json={"certificate": token})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.json


def test_verify_reads_without_a_transaction_on_postgresql_and_pools_the_connection_transactional(demo):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("units without a transaction are PostgreSQL's (SQLite keeps its transaction)")
    client = demo.test_client()
    token = db.session.scalars(select(Certificate.jws)).first()
    with autocommit_flags() as first:  # the demo's list was never published: this request signs it
        assert _verify(client, token)["valid"]
    assert all(autocommit for _, autocommit in first), first
    writes = [s for s, _ in first if not s.startswith("SELECT")]
    assert writes and all(s.startswith("UPDATE status_lists SET published=") for s in writes), first
    with autocommit_flags() as seen:
        assert _verify(client, token)["valid"]
    assert len(seen) == 1 and seen[0][1] is True, "\n".join(map(str, seen))

    db.session.remove()
    with autocommit_flags() as seen, demo.test_request_context(), unit_of_work():  # on the pooled connection
        db.session.scalar(select(Organization.id).limit(1))
    assert seen and all(not autocommit for _, autocommit in seen), seen


def test_an_ordinary_unit_still_rolls_back_after_a_read_only_one(demo):
    client = demo.test_client()
    token = db.session.scalars(select(Certificate.jws)).first()
    assert _verify(client, token)["valid"]
    db.session.remove()
    org_id = db.session.scalar(select(Organization.id).order_by(Organization.id).limit(1))
    before = db.session.get(Organization, org_id).name
    db.session.remove()
    with demo.test_request_context(), pytest.raises(RuntimeError), unit_of_work():
        db.session.get(Organization, org_id).name = "renamed, then undone"
        db.session.flush()  # written to the database inside the transaction
        raise RuntimeError("the request fails after its write")
    db.session.remove()
    assert db.session.get(Organization, org_id).name == before


def test_verify_is_the_same_answer_on_both_backends(demo):
    client = demo.test_client()
    token = db.session.scalars(select(Certificate.jws)).first()
    first, again = _verify(client, token), _verify(client, token)
    assert first == again and first["valid"]
    tampered = _verify(client, token[:-6] + "AAAAAA")
    assert not tampered["valid"]
    assert next(c for c in tampered["checks"] if c["name"] == "signature")["ok"] is False
