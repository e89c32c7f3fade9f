"""The app bench/floor.py serves: wsgi.py's own (the same configuration, request hooks, error handlers and access
log) with four routes that do only the irreducible part of the measured API routes, through none of our layers
(no schema, guard, unit of work or service). Never deployed: it exists for the measurement alone."""

from __future__ import annotations

from functools import cache

from flask import jsonify, request
from sqlalchemy import select

from marketplace.crypto import jws
from marketplace.errors import Unprocessable
from marketplace.extensions import db, plain_rows
from marketplace.keys import service as keys
from marketplace.market.models import MarketState
from marketplace.uow import outside_a_transaction
from wsgi import app

_ONE_ROW = select(MarketState.version).where(MarketState.id == 1)  # a primary-key read of one small row
# bench/floor.py creates this table in the bench's own database
_INSERT = "INSERT INTO floor_rows (body) VALUES (%(body)s)"
_BODY = "x" * 200  # about what a queued log entry or an event row holds besides its JSON


@cache  # read once: a floor must not pay for what a cache could spare
def _platform_jwk() -> dict:
    return keys.platform_key().public_jwk


def _reads(n: int):
    outside_a_transaction()  # as our read routes do: no BEGIN and no ROLLBACK around the reads
    for _ in range(n):
        version = plain_rows(_ONE_ROW, {}).scalar()
    return jsonify(version=version)


@app.get("/floor/read")
def one_read():
    """One round trip to the database: what any answer that must see the latest committed state pays."""
    return _reads(1)


@app.get("/floor/reads")
def two_reads():
    """Two round trips (a token read, then the data): the least a bearer-token GET can do without a cache of
    tokens, which would outlive a revocation."""
    return _reads(2)


@app.post("/floor/verify")
def verify_floor():
    """A verification's least: the body's JSON, the JWS decoded, the certificate's own Ed25519 signature checked
    (every other signature a verification checks is shared by many certificates and may be remembered), and
    one round trip for the state that changes (status, keys, checkpoint)."""
    body = request.get_json(silent=True)
    certificate = body.get("certificate") if isinstance(body, dict) else None
    try:
        parsed = jws.parse(certificate)
    except jws.JWSError as e:  # as the real route does: bad input is the caller's, a 4xx
        raise Unprocessable(f"certificate: {e}") from None
    ok = parsed.verify_with(_platform_jwk())
    outside_a_transaction()
    version = plain_rows(_ONE_ROW, {}).scalar()
    return jsonify(valid=ok, issuer=parsed.payload.get("issuer"), seen=version)


@app.post("/floor/writes/<int:n>")
def writes(n: int):
    """n one-row INSERTs in one transaction (each its own round trip, through SQLAlchemy's leanest door), then
    the commit: what each statement of a write path such as issuance costs, and what a write's commit costs."""
    conn = db.session.connection()
    for _ in range(min(n, 100)):
        conn.exec_driver_sql(_INSERT, {"body": _BODY})
    db.session.commit()
    return jsonify(statements=n)
