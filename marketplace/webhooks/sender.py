"""Sending due webhook deliveries (the "webhooks.send" job): claim, send outside any transaction, record.

1. Claim (one unit of work): due deliveries are locked (SKIP LOCKED on PostgreSQL) and leased by a
   compare-and-set on their attempt count, which pushes `next_attempt_at` one lease ahead; then it commits.
   What the send needs is copied into plain `Job`s: nothing below touches the database.
2. Send: a POST per job (a few at once), signed with the `standardwebhooks` library, to an address the
   SSRF guard has just checked (`ssrf.check` resolves again: a DNS answer may have changed), no redirects.
3. Record (a new unit of work): the outcome, fenced on the attempt count, so a late worker whose lease ran
   out cannot overwrite a newer attempt. A worker killed before this step leaves the delivery leased: it is
   due again when the lease runs out (an attempt that may have reached the receiver is sent again with the
   same `webhook-id`, which is how Standard Webhooks receivers drop duplicates).

Retries follow the Standard Webhooks schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
later (eight attempts over 27.6 h); then `failed`. 2xx is success; any other answer or a network error
is a failed attempt.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import urllib3
from flask import current_app
from sqlalchemy import bindparam, select, update
from standardwebhooks import Webhook
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError

from ..crypto.keys import KeyError_
from ..db import utcnow
from ..events.models import Event
from ..extensions import db
from ..uow import unit_of_work
from . import ssrf
from .models import WebhookDelivery, WebhookSubscription
from .service import secret_of

log = logging.getLogger("marketplace.webhooks")

RETRY_DELAYS = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                timedelta(hours=5), timedelta(hours=10), timedelta(hours=10))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
TIMEOUT = urllib3.Timeout(connect=5.0, read=5.0)
LEASE = timedelta(minutes=5)  # longer than a batch takes: BATCH / WORKERS rounds of at most ~10 s each
BATCH = 32
WORKERS = 8
MAX_ERROR = 500
USER_AGENT = "reserve-offset-marketplace-webhooks/1 (+Standard Webhooks)"


@dataclass(frozen=True)
class Job:
    """One claimed attempt, as plain data (the send runs with no database session in use)."""

    delivery_id: str
    attempt: int
    schedule_base: int
    url: str
    secret: str | None
    body: str
    error: str | None = None  # set when it cannot be sent at all (the secret cannot be unwrapped)


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body_of(event: Event) -> str:
    """{"type", "timestamp", "data"}: the same bytes on every attempt (the timestamp is the event's)."""
    return json.dumps({"type": event.kind, "timestamp": rfc3339(event.created_at), "data": event.payload},
                      separators=(",", ":"), ensure_ascii=False)


def retry_delay(attempt: int, schedule_base: int) -> timedelta | None:
    """The wait after a failed attempt (None: no attempts left)."""
    position = attempt - schedule_base
    return RETRY_DELAYS[position - 1] if 1 <= position <= len(RETRY_DELAYS) else None


# 1. claim


def _due_ids(limit: int) -> list[str]:
    q = (select(WebhookDelivery.id)
         .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= utcnow())
         .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(db.session.scalars(q))


def _claim(limit: int) -> tuple[int, list[Job]]:
    """(how many deliveries were claimed, the jobs to send: a deleted webhook's delivery just fails)."""
    with unit_of_work():
        now = utcnow()
        due = _due_ids(limit)
        if not due:
            return 0, []
        # The lease is a compare-and-set on "still due": a delivery another worker leased meanwhile (SQLite has
        # no SKIP LOCKED) is no longer due, so it is not taken twice.
        claimed = list(db.session.scalars(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(due), WebhookDelivery.status == "pending",
                   WebhookDelivery.next_attempt_at <= now)
            .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + LEASE, last_attempt_at=now)
            .returning(WebhookDelivery.id).execution_options(synchronize_session=False)))
        if not claimed:
            return 0, []
        rows = db.session.execute(
            select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.schedule_base,
                   WebhookSubscription.id, WebhookSubscription.url, WebhookSubscription.secret_wrapped,
                   WebhookSubscription.deleted_at, Event)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id.in_(claimed)).order_by(WebhookDelivery.created_at, WebhookDelivery.id))
        jobs, gone, secrets = [], [], {}
        for delivery_id, attempt, base, sub_id, url, wrapped, deleted_at, event in rows:
            if deleted_at is not None:
                gone.append(delivery_id)
                continue
            if sub_id not in secrets:
                try:
                    secrets[sub_id] = (secret_of(sub_id, wrapped), None)
                except (KeyError_, ValueError) as e:  # the key-encryption key changed or is missing
                    secrets[sub_id] = (None, f"cannot sign: {e}")
            secret, error = secrets[sub_id]
            jobs.append(Job(delivery_id, attempt, base, url, secret, body_of(event), error))
        if gone:
            db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(gone)).values(
                status="failed", next_attempt_at=None, completed_at=now, last_error="the webhook was deleted")
                .execution_options(synchronize_session=False))
    return len(claimed), jobs


# 2. send (no database)


def _pool(target: ssrf.Target, address: str) -> urllib3.HTTPConnectionPool:
    """A connection to `address` (checked), speaking to `target.host` (Host header, TLS SNI and certificate)."""
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(address, target.port, timeout=TIMEOUT, retries=False, maxsize=1,
                                           server_hostname=target.host, assert_hostname=target.host,
                                           cert_reqs="CERT_REQUIRED")
    return urllib3.HTTPConnectionPool(address, target.port, timeout=TIMEOUT, retries=False, maxsize=1)


def _error(e: BaseException, address: str | None = None) -> str:
    """The error in words, without Python object reprs (the delivery log shows it to the subscriber)."""
    parts = [a for a in e.args if isinstance(a, str | BaseException)] or [e]
    text = "; ".join(str(a) if isinstance(a, str) else f"{a.__class__.__name__}: {a}" for a in parts)
    where = f" ({address})" if address else ""
    return f"{e.__class__.__name__}{where}: {text}"[:MAX_ERROR]


def send(job: Job, allow_private: bool) -> Outcome:
    """POST one job; never raises."""
    if job.error is not None:
        return Outcome(job, None, job.error)
    try:
        target = ssrf.check(job.url, allow_private)
    except ssrf.Refused as e:
        return Outcome(job, None, f"refused: url {e}"[:MAX_ERROR])
    now = datetime.now(UTC)
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": job.delivery_id,
        "webhook-timestamp": str(math.floor(now.timestamp())),
        "webhook-signature": Webhook(job.secret).sign(msg_id=job.delivery_id, timestamp=now, data=job.body),
    }
    data = job.body.encode("utf-8")
    last: str | None = None
    for address in target.addresses:  # the next address only when this one cannot be connected to
        pool = _pool(target, address)
        try:
            resp = pool.urlopen("POST", target.path, body=data, headers=headers, redirect=False, retries=False,
                                preload_content=False, assert_same_host=False)
            try:
                head = resp.read(200, decode_content=False)
            finally:
                resp.release_conn()
            if 200 <= resp.status < 300:
                return Outcome(job, resp.status, None)
            text = head.decode("utf-8", "replace").strip()
            text = "".join(c if c.isprintable() else " " for c in text)
            return Outcome(job, resp.status, f"HTTP {resp.status}" + (f": {text}" if text else ""))
        except (NewConnectionError, ConnectTimeoutError) as e:
            last = _error(e, address)
        except (HTTPError, OSError, ValueError) as e:
            return Outcome(job, None, _error(e, address))
        finally:
            pool.close()
    return Outcome(job, None, last or "no address to connect to")


def _send_safely(job: Job, allow_private: bool) -> Outcome:
    try:
        return send(job, allow_private)
    except Exception as e:  # a bug must cost one attempt of one delivery, not the batch's leases
        log.exception("webhook delivery %s: unexpected error", job.delivery_id)
        return Outcome(job, None, _error(e))


def _send_all(jobs: list[Job], allow_private: bool) -> list[Outcome]:
    if len(jobs) == 1:
        return [_send_safely(jobs[0], allow_private)]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(jobs)), thread_name_prefix="webhook-send") as pool:
        return list(pool.map(lambda j: _send_safely(j, allow_private), jobs))


# 3. record


_RECORD = (update(WebhookDelivery.__table__)
           .where(WebhookDelivery.__table__.c.id == bindparam("b_id"),
                  WebhookDelivery.__table__.c.status == "pending",
                  WebhookDelivery.__table__.c.attempts == bindparam("b_attempt"),
                  WebhookDelivery.__table__.c.schedule_base == bindparam("b_base"))
           .values(status=bindparam("v_status"), next_attempt_at=bindparam("v_next"),
                   completed_at=bindparam("v_completed"), last_error=bindparam("v_error"),
                   last_response_status=bindparam("v_http")))


def _record(outcomes: list[Outcome], totals: Counter) -> None:
    """Each outcome, fenced on (attempt, schedule): one that a newer attempt or a redelivery overtook is
    dropped (`superseded`)."""
    with unit_of_work():
        now = utcnow()
        for o in outcomes:
            j = o.job
            if o.ok:
                status, next_at, completed, outcome = "succeeded", None, now, "succeeded"
            else:
                delay = retry_delay(j.attempt, j.schedule_base)
                if delay is not None:
                    status, next_at, completed, outcome = "pending", now + delay, None, "retrying"
                else:
                    status, next_at, completed, outcome = "failed", None, now, "failed"
                log.warning("webhook delivery %s attempt %d: %s (%s)", j.delivery_id, j.attempt, outcome,
                            (o.error or "")[:120])
            done = db.session.execute(_RECORD, {
                "b_id": j.delivery_id, "b_attempt": j.attempt, "b_base": j.schedule_base, "v_status": status,
                "v_next": next_at, "v_completed": completed, "v_error": None if o.ok else o.error,
                "v_http": o.status})
            totals[outcome if done.rowcount == 1 else "superseded"] += 1


def send_due(limit: int = 500) -> dict:
    """Send what is due, at most `limit` attempts (a job: nudged after a fan-out and run on a schedule)."""
    totals: Counter = Counter()
    if not current_app.config.get("WEBHOOKS_SEND", True):
        return {"claimed": 0, "paused": True}
    allow_private = bool(current_app.config.get("WEBHOOKS_ALLOW_PRIVATE"))
    while totals["claimed"] < limit:
        claimed, jobs = _claim(min(BATCH, limit - totals["claimed"]))
        if not claimed:
            break
        totals["claimed"] += claimed
        if jobs:
            _record(_send_all(jobs, allow_private), totals)
    return {"claimed": totals["claimed"], "succeeded": totals["succeeded"], "retrying": totals["retrying"],
            "failed": totals["failed"], "superseded": totals["superseded"]}
