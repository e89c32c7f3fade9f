"""`GET /metrics` for Prometheus (prometheus-client).

Request latency is a histogram labelled by the URL rule (`/api/v1/policies/<policy_id>`, never the raw
path: no ids in labels), the method and the status class (`2xx`). Under gunicorn each worker writes
its samples to files in PROMETHEUS_MULTIPROC_DIR and a scrape, whichever worker answers it, adds up
every worker's (multiprocess mode; `docker/gunicorn.conf.py` empties the directory at start and marks
an exited worker dead). Without the variable the process's own registry is served.

The state of the work is read from the database when scraped (a custom collector, a few aggregate
queries): outbox deliveries by subscriber and status, the pending count and the age of the oldest
pending one (lag), webhook deliveries by outcome, the transparency log's size, its newest checkpoint and
the sequencing delay (how long the oldest entry no checkpoint covers has waited; 0 when covered); and
the job queue's depth. A source that does not answer is reported as `marketplace_metrics_source_up 0`,
not as a failed scrape.

Labels and values hold no secret: routes are templates, statuses are fixed words, and no URL, header,
token or payload is ever a label. Not rate-limited and not behind OAuth (Prometheus scrapes it); with
MARKETPLACE_METRICS_TOKEN set it needs `Authorization: Bearer <that token>`; METRICS_ENABLED=false
removes it.
"""

from __future__ import annotations

import hmac
import logging
import os
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from ..web.security import plain_http_ok

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # the route label of a request no URL rule matched (404, 405)
log = logging.getLogger("marketplace.metrics")

REQUEST_SECONDS = Histogram(
    "marketplace_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL rule, method and status class.",
    ("route", "method", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

bp = Blueprint("observability", __name__)


def observe(route: str | None, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route or UNMATCHED, method if method in METHODS else "other",
                           f"{status // 100}xx").observe(seconds)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


def _age(since: datetime | None, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


class StateCollector:
    """Gauges computed at scrape time from the database and the queue (runs inside the scrape's app context)."""

    def __init__(self, queue) -> None:
        self.queue = queue

    def collect(self):
        from ..extensions import db

        up = GaugeMetricFamily("marketplace_metrics_source_up",
                               "1 when the source answered this scrape, 0 when it did not.", labels=["source"])
        now = datetime.now(UTC)
        try:
            families = [*self._outbox(now), *self._webhooks(now), *self._tlog(now)]
            up.add_metric(["database"], 1)
        except Exception:  # a scrape still answers, saying the database did not
            log.warning("metrics: the database did not answer", exc_info=True)
            families = []
            up.add_metric(["database"], 0)
        finally:
            db.session.rollback()  # read-only: end the transaction the queries began
        yield from families
        try:
            depth = self.queue.depth()
            up.add_metric(["queue"], 1)
            yield GaugeMetricFamily("marketplace_queue_depth", "Jobs waiting in the queue (0 in-process).",
                                    value=depth)
        except Exception:
            log.warning("metrics: the queue did not answer", exc_info=True)
            up.add_metric(["queue"], 0)
        yield up

    def _outbox(self, now: datetime):
        from sqlalchemy import case, func, select

        from ..events.handlers import SUBSCRIBERS
        from ..events.models import DELIVERY_STATUSES, Delivery
        from ..extensions import db

        due = func.sum(case((Delivery.next_attempt_at <= now, 1), else_=0))
        rows = db.session.execute(select(Delivery.subscriber, Delivery.status, func.count(),
                                         func.min(Delivery.created_at), due)
                                  .group_by(Delivery.subscriber, Delivery.status)).all()
        counts = {(subscriber, status): 0 for subscriber in SUBSCRIBERS for status in DELIVERY_STATUSES}
        pending = due_total = 0
        oldest = None
        for subscriber, status, count, first, due_count in rows:
            counts[(subscriber, status)] = count
            if status == "pending":
                pending += count
                due_total += int(due_count or 0)
                oldest = first if oldest is None else min(oldest, first)
        by = GaugeMetricFamily("marketplace_outbox_deliveries", "Event deliveries by subscriber and status.",
                               labels=["subscriber", "status"])
        for (subscriber, status), count in sorted(counts.items()):
            by.add_metric([subscriber, status], count)
        yield by
        yield GaugeMetricFamily("marketplace_outbox_pending", "Event deliveries not yet done (any subscriber).",
                                value=pending)
        yield GaugeMetricFamily("marketplace_outbox_due", "Pending event deliveries whose next attempt is due now "
                                "(the rest wait out a retry backoff).", value=due_total)
        yield GaugeMetricFamily("marketplace_outbox_lag_seconds", "Age of the oldest pending event delivery "
                                "(0 when none is pending).", value=_age(oldest, now))

    def _webhooks(self, now: datetime):
        from sqlalchemy import func, select

        from ..extensions import db
        from ..webhooks.models import DELIVERY_STATUSES, WebhookDelivery

        rows = {status: (count, first) for status, count, first in db.session.execute(
            select(WebhookDelivery.status, func.count(), func.min(WebhookDelivery.created_at))
            .group_by(WebhookDelivery.status)).all()}
        by = GaugeMetricFamily("marketplace_webhook_deliveries", "Webhook deliveries by outcome.", labels=["status"])
        for status in sorted(set(DELIVERY_STATUSES) | set(rows)):
            by.add_metric([status], rows.get(status, (0, None))[0])
        yield by
        yield GaugeMetricFamily("marketplace_webhook_lag_seconds", "Age of the oldest pending webhook delivery "
                                "(0 when none is pending).", value=_age(rows.get("pending", (0, None))[1], now))

    def _tlog(self, now: datetime):
        from sqlalchemy import func, select

        from ..extensions import db
        from ..tlog.models import Checkpoint, LogEntry, LogState, QueuedEntry

        size = db.session.scalar(select(LogState.size).where(LogState.id == 1)) or 0
        covered = db.session.scalar(select(Checkpoint.tree_size).order_by(Checkpoint.tree_size.desc()).limit(1)) or 0
        queued, oldest = db.session.execute(select(func.count(), func.min(QueuedEntry.queued_at))).one()
        waiting = [oldest] if oldest is not None else []
        if covered < size:  # an integrated entry no checkpoint covers yet (a bulk load, an old log)
            waiting.append(db.session.scalar(select(LogEntry.created_at).where(LogEntry.idx == covered)))
        yield GaugeMetricFamily("marketplace_tlog_size", "Entries in the transparency log (tree size).", value=size)
        yield GaugeMetricFamily("marketplace_tlog_queued", "Entries queued for the sequencer's next batch.",
                                value=queued)
        yield GaugeMetricFamily("marketplace_tlog_checkpoint_size", "Tree size of the newest signed checkpoint.",
                                value=covered)
        yield GaugeMetricFamily("marketplace_tlog_sequencing_delay_seconds", "How long the oldest log entry that "
                                "is still queued or that no checkpoint covers has waited (0 when none).",
                                value=max((_age(w, now) for w in waiting), default=0))


class _ThisProcess:
    """The process's own registry (single-process mode): request metrics, process and runtime metrics."""

    def collect(self):
        return REGISTRY.collect()


def registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(reg, path=path)
    else:
        reg.register(_ThisProcess())
    reg.register(StateCollector(current_app.extensions["queue"]))
    return reg


def _authorized() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return True
    auth = request.headers.get("Authorization", "")
    scheme, _, given = auth.partition(" ")
    # errors="replace": whatever a header holds, the comparison answers (a mismatch), it never raises
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(errors="replace"),
                                                              token.encode())


@bp.get("/metrics")
@plain_http_ok
def metrics():
    if not _authorized():
        from ..web.problems import problem

        resp = problem(401, "Unauthorized", "GET /metrics needs the metrics bearer token (MARKETPLACE_METRICS_TOKEN).")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return resp
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encoder(registry()), content_type=content_type, headers={"Cache-Control": "no-store"})


def install(app: Flask) -> None:
    if not app.config.get("METRICS_ENABLED", True):
        return
    path = multiprocess_dir()
    if path:
        os.makedirs(path, exist_ok=True)
    app.register_blueprint(bp)
