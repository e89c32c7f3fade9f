"""`@public(transaction=False)` (uow.unit_of_work(transaction=False)): on PostgreSQL the verify route's one
statement runs in autocommit, with no BEGIN or COMMIT around it, and the only thing it may write is a status
list re-signed on its own; the connection goes back to the pool transactional, so the next request's work is
one transaction again, and a write in an ordinary unit still rolls back on failure."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from marketplace.certificates.models import Certificate
from marketplace.extensions import db
from marketplace.registry.models import Organization
from marketplace.uow import unit_of_work
from tests.integration.test_verify_caches import check
from tests.sql_statements import statements_in_autocommit


def test_verify_reads_without_a_transaction_on_postgresql_and_pools_the_connection_transactional(demo):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("units without a transaction are PostgreSQL's (SQLite keeps its transaction)")
    client = demo.test_client()
    token = db.session.scalars(select(Certificate.jws)).first()
    with statements_in_autocommit() as first:  # the demo's list was never published: this request signs it
        assert check(client, token)["valid"]
    assert all(autocommit for _, autocommit in first), first
    writes = [s for s, _ in first if not s.startswith("SELECT")]
    assert writes and all(s.startswith("UPDATE status_lists SET published=") for s in writes), first
    with statements_in_autocommit() as seen:
        assert check(client, token)["valid"]
    assert len(seen) == 1 and seen[0][1] is True, "\n".join(map(str, seen))

    db.session.remove()
    with statements_in_autocommit() as seen, demo.test_request_context(), unit_of_work():  # on the pooled connection
        db.session.scalar(select(Organization.id).limit(1))
    assert seen and all(not autocommit for _, autocommit in seen), seen


def test_an_ordinary_unit_still_rolls_back_after_a_read_only_one(demo):
    client = demo.test_client()
    token = db.session.scalars(select(Certificate.jws)).first()
    assert check(client, token)["valid"]
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
    first, again = check(client, token), check(client, token)
    assert first == again and first["valid"]
    tampered = check(client, token[:-6] + "AAAAAA")
    assert not tampered["valid"]
    assert tampered["signature"]["ok"] is False


def test_read_only_api_routes_read_without_a_transaction_and_a_refused_token_leaves_the_next_unit_whole(demo):
    """`@requires(scope, transaction=False)`: the offset report and the market search read the token and then
    their answer, each statement in autocommit on PostgreSQL (no BEGIN, no COMMIT); the answer is the same as
    in a transaction, and a write after a refused token is still one transaction that rolls back."""
    from marketplace.obligations.models import ObligationRecord
    from tests.bearer import bearer_headers

    if db.engine.dialect.name != "postgresql":
        pytest.skip("units without a transaction are PostgreSQL's (SQLite keeps its transaction)")
    ob = db.session.scalars(select(ObligationRecord)).first()
    headers = bearer_headers(demo, db.session.get(Organization, ob.exchange_id))
    client = demo.test_client()
    for path in (f"/api/v1/obligations/{ob.id}/offset", "/api/v1/offerings"):
        db.session.remove()  # as at the start of a request (the test holds the app context requests share)
        with statements_in_autocommit() as seen:
            first = client.get(path, headers=headers)
        db.session.remove()
        again = client.get(path, headers=headers)
        assert first.status_code == again.status_code == 200 and first.json == again.json, first.json
        assert first.json != {} and seen, path
        assert all(autocommit for _, autocommit in seen), seen
        assert all(s.startswith(("SELECT", "WITH RECURSIVE fx_pairs")) for s, _ in seen), seen  # reads only
        db.session.remove()
        refused = client.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert refused.status_code == 401 and refused.mimetype == "application/problem+json"

    db.session.remove()
    org_id = ob.exchange_id
    before = db.session.get(Organization, org_id).name
    db.session.remove()
    with statements_in_autocommit() as seen, demo.test_request_context(), pytest.raises(RuntimeError), \
            unit_of_work():  # on a connection the read-only routes had in autocommit
        db.session.get(Organization, org_id).name = "renamed, then undone"
        db.session.flush()
        raise RuntimeError("the request fails after its write")
    assert seen and all(not autocommit for _, autocommit in seen), seen
    db.session.remove()
    assert db.session.get(Organization, org_id).name == before


def test_the_verification_statement_is_planned_once_however_many_verifications(demo):
    """PostgreSQL keeps one generic plan for the verification's prepared statement (db.lists.one_of_planned_once):
    with the policy pairs as plain array parameters each execution got a custom plan of its own, the whole
    statement planned again every time (custom_plans grew with every request and generic_plans stayed 0)."""

    if db.engine.dialect.name != "postgresql":
        pytest.skip("plans of prepared statements are PostgreSQL's")
    from marketplace.db import new_id
    from marketplace.policies.models import Policy

    # a market's worth of policies (the planner's estimates for a list it cannot see grow with the table)
    some = db.session.scalars(select(Policy)).all()
    db.session.execute(Policy.__table__.insert(), [
        {c.key: getattr(p, c.key) for c in Policy.__table__.c} | {"id": new_id(), "number": f"BULK-{n:06d}"}
        for n, p in ((n, some[n % len(some)]) for n in range(20_000))])
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE policies"))
    client = demo.test_client()
    token = db.session.scalars(select(Certificate.jws)).first()
    for _ in range(15):  # psycopg prepares at the 5th execution; PostgreSQL tries 5 custom plans first
        assert check(client, token)["valid"]
    db.session.remove()
    plans = [(generic, custom) for generic, custom, sql in db.session.execute(text(
        "SELECT generic_plans, custom_plans, statement FROM pg_prepared_statements")) if "FROM policies" in sql
        and "attestations" in sql and "tlog_checkpoints" in sql]
    assert plans and all(generic >= 1 and custom <= 5 for generic, custom in plans), plans
