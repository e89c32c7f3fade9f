"""Idempotency-Key for mutating POSTs: same key + same body replays the stored response.

Keys are scoped per client and expire after 24 h. A key is reserved (committed) before the work runs;
the response is stored in the same transaction as the work, so a replay never sees half a result.
An answer that carries a secret (`web.security.shown_once`) is stored without it: its replay says so.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Response, request
from sqlalchemy import JSON, Integer, LargeBinary, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, id_column, utcnow
from ..extensions import db
from . import security
from .problems import problem

TTL = timedelta(hours=24)
STALE = timedelta(seconds=60)  # a reservation older than this with no response was abandoned
WAIT_SECONDS = 10


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("client_id", "key"),)

    id: Mapped[str] = id_column()
    client_id: Mapped[str] = mapped_column(String(48), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    headers: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def _fingerprint() -> str:
    h = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1"),
                 request.content_type or ""):
        h.update(part.encode() + b"\0")
    h.update(request.get_data(cache=True))
    return h.hexdigest()


def _replay(row: IdempotencyKey) -> Response:
    resp = Response(row.body, status=row.status, headers=row.headers or {})
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _lookup(client_id: str, key: str) -> IdempotencyKey | None:
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - TTL))
    return db.session.scalar(select(IdempotencyKey).filter_by(client_id=client_id, key=key))


def begin(client_id: str, key: str) -> tuple[IdempotencyKey | None, Response | None]:
    """Reserve the key, or answer from it. Returns (reservation, None) or (None, response)."""
    if not (0 < len(key) <= 255) or not key.isprintable():
        return None, problem(400, "Bad request", "Idempotency-Key must be 1 to 255 printable characters",
                             errors=[{"header": "Idempotency-Key", "detail": "invalid"}])
    fp = _fingerprint()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        row = _lookup(client_id, key)
        if row is None:
            row = IdempotencyKey(client_id=client_id, key=key, request_hash=fp)
            db.session.add(row)
            try:
                db.session.commit()
                return row, None
            except IntegrityError:
                db.session.rollback()
                continue  # another request took the key first: look again
        if row.request_hash != fp:
            db.session.rollback()
            return None, problem(422, "Idempotency key reused",
                                 "This Idempotency-Key was used with a different request.",
                                 errors=[{"header": "Idempotency-Key", "detail": "reused with another request"}])
        if row.status is not None:
            db.session.rollback()
            return None, _replay(row)
        if utcnow() - row.created_at > STALE:
            db.session.delete(row)
            db.session.commit()
            continue
        db.session.rollback()
        if time.monotonic() > deadline:
            return None, problem(409, "Request in progress",
                                 "A request with this Idempotency-Key is still being processed; retry later.")
        time.sleep(0.05)


def finish(row: IdempotencyKey, resp: Response) -> None:
    """Store the response with the work (caller commits). 5xx answers are not kept: retry may succeed."""
    row = db.session.merge(row)
    if resp.status_code >= 500:
        db.session.delete(row)
        return
    row.status = resp.status_code
    row.body = resp.get_data()
    row.headers = {k: v for k, v in resp.headers.items() if k in ("Content-Type", "Location", "Link")}
    if security.carries_secret():
        row.body, note = security.redacted(resp)
        row.headers.update(note)


def abandon(row: IdempotencyKey) -> None:
    db.session.rollback()
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
    db.session.commit()


def guarded(client_id: str, unit: Callable[[Callable[[Response], None]], Response]) -> Response:
    """Apply Idempotency-Key around a unit of work. `unit(record)` does the work and calls `record(resp)`
    inside its transaction, so the stored answer commits (or not) with the work."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None:
        return unit(lambda resp: None)
    reservation, answer = begin(client_id, key)
    if answer is not None:
        return answer
    try:
        return unit(lambda resp: finish(reservation, resp))
    except Exception:
        abandon(reservation)
        raise
