"""The relay: run due deliveries, a batch of them per unit of work, retrying failures with backoff.

Deliveries are claimed with row locks (SKIP LOCKED on PostgreSQL), so any number of workers drain the
outbox without running one delivery twice at once. Each subscriber runs in a savepoint: one that raises is
rolled back alone and rescheduled, and never blocks the deliveries after it. A batch shares its claim,
BEGIN and COMMIT (three round trips of about nine per delivery); should that commit fail, the batch's
deliveries run again one unit of work each. Subscribers are idempotent, so a worker killed mid-batch (its
transaction never committed) only means those deliveries run again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from ..db import utcnow
from ..db.locking import savepoint
from ..extensions import db
from ..uow import unit_of_work
from .handlers import subscriber
from .kinds import from_row
from .models import Delivery

log = logging.getLogger("marketplace.relay")
MAX_ATTEMPTS = 12
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_CAP = timedelta(hours=2)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 2 h: twelve attempts span about 8 hours before `failed`."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _due(limit: int) -> list[str]:
    return list(db.session.scalars(
        select(Delivery.id).where(Delivery.status == "pending", Delivery.next_attempt_at <= utcnow())
        .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)))


def _claim(delivery_ids: list[str]) -> list[Delivery]:
    """Those of the deliveries still pending that no other worker holds, locked until this unit commits."""
    q = select(Delivery).where(Delivery.id.in_(delivery_ids), Delivery.status == "pending") \
        .order_by(Delivery.next_attempt_at, Delivery.id)
    if db.session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=Delivery)
    return list(db.session.scalars(q).unique())


def run_one(d: Delivery) -> bool:
    """Run one claimed delivery inside the caller's transaction; True when it succeeded, and the caller then
    records it done (_mark_done: one UPDATE for the batch). A failure is counted here, on the ORM
    row: rare, and flushed with the next savepoint or the commit (both commit or neither, in the caller's
    transaction)."""
    event = None
    try:
        event = from_row(d.event.kind, d.event.payload)  # a payload that no longer fits its kind fails here, alone
        if event is None:
            raise LookupError(f"unknown event kind {d.event.kind!r}")
        with savepoint(db.session()):
            subscriber(d.subscriber)(event, d.event)
    except Exception as e:  # a subscriber's failure is recorded on its own delivery, nothing more
        d.attempts += 1
        d.last_error = f"{e.__class__.__name__}: {e}"[:2000]
        if d.attempts >= MAX_ATTEMPTS or event is None:
            d.status = "failed"
        d.next_attempt_at = utcnow() + backoff(d.attempts)
        log.warning("delivery %s (%s -> %s) failed, attempt %d: %s", d.id, d.event.kind, d.subscriber,
                    d.attempts, d.last_error)
        return False
    return True


def _mark_done(deliveries: list[Delivery]) -> None:
    """Count the attempt and mark done, for a batch's successful deliveries in one UPDATE (with an UPDATE of
    each ORM row, every savepoint after a success first flushed the one before: a statement per delivery)."""
    if not deliveries:
        return
    db.session.execute(update(Delivery).where(Delivery.id.in_([d.id for d in deliveries]))
                       .values(attempts=Delivery.attempts + 1, status="done", done_at=utcnow(), last_error=None)
                       .execution_options(synchronize_session=False))  # nothing reads the rows before the commit


BATCH = 50  # deliveries claimed and run in one unit of work


def _run(delivery_ids: list[str]) -> tuple[int, int]:
    """(done, failed) of those deliveries, claimed and committed together."""
    done, failed = [], 0
    with unit_of_work():
        for d in _claim(delivery_ids):  # those another worker has, or that are finished, are not returned
            if run_one(d):
                done.append(d)
            else:
                failed += 1
        _mark_done(done)
    return len(done), failed


def relay(limit: int = 500) -> dict:
    """Drain due deliveries (a job: the queue runs it when nudged and on a schedule)."""
    done = failed = 0
    due = _due(limit)
    for start in range(0, len(due), BATCH):
        batch = due[start:start + BATCH]
        try:
            counts = [_run(batch)]
        except Exception:  # the batch's commit failed: nothing of it holds, so each runs again on its own
            if len(batch) == 1:
                raise
            log.warning("a relay batch of %d deliveries failed; running them one by one", len(batch), exc_info=True)
            counts = [_run([delivery_id]) for delivery_id in batch]
        done += sum(d for d, _ in counts)
        failed += sum(f for _, f in counts)
    db.session.rollback()  # end the read transaction _due opened
    return {"done": done, "failed": failed}


def retry(delivery_id: str) -> Delivery | None:
    """Make a failed delivery due again now (an operator's redelivery); the caller commits."""
    d = db.session.get(Delivery, delivery_id)
    if d is not None and d.status != "done":
        d.status, d.next_attempt_at = "pending", utcnow()
    return d
