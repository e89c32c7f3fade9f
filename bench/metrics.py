"""What observability costs: per-request overhead (latency histogram + JSON access line) as a ratio against
the same app without it, measured in this run; and the time of one /metrics scrape over a large outbox.

Baseline: an app whose request timing is disconnected (no histogram, no access line). Observed: the same
app with both, the access line formatted as JSON into a null stream at INFO (what production writes).
Requests are GET /healthz through Flask's test client (no network), in interleaved rounds.
Run: .venv/bin/python bench/metrics.py [rounds] [deliveries]  (SQLite in a temporary directory)
"""

from __future__ import annotations

import io
import logging
import statistics
import sys
import tempfile
import time
from datetime import timedelta

sys.path.insert(0, ".")
from flask import request_finished, request_started

from marketplace import create_app
from marketplace.observability import logs, timing

PER_ROUND = 200


class _Null(io.TextIOBase):
    def write(self, s: str) -> int:
        return len(s)


def make(path: str, observed: bool):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}/bench.db", "TESTING": True, "INSTANCE_PATH": path,
                      "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "METRICS_ENABLED": observed})
    if not observed:
        request_started.disconnect(timing._started, app)
        request_finished.disconnect(timing._finished, app)
    return app


def per_request(client) -> float:
    start = time.perf_counter()
    for _ in range(PER_ROUND):
        client.get("/healthz")
    return (time.perf_counter() - start) / PER_ROUND


def fill(app, deliveries: int) -> None:
    from marketplace.db import utcnow
    from marketplace.events.models import Delivery, Event
    from marketplace.extensions import db

    now = utcnow()
    with app.app_context():
        events = [{"id": f"e{i:09d}", "kind": "policy.cancelled", "subject_id": "s", "jurisdiction": "JP",
                   "audience": [], "payload": {}, "actor": "bench", "created_at": now - timedelta(seconds=i)}
                  for i in range(deliveries // 3 + 1)]
        db.session.execute(Event.__table__.insert(), events)
        rows = [{"id": f"d{i:09d}", "event_id": events[i // 3]["id"], "subscriber": ("revocation", "webhooks",
                 "adequacy")[i % 3], "status": "done" if i % 50 else "pending", "attempts": 1,
                 "next_attempt_at": now, "created_at": now - timedelta(seconds=i // 3)} for i in range(deliveries)]
        db.session.execute(Delivery.__table__.insert(), rows)
        db.session.commit()


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    deliveries = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    with tempfile.TemporaryDirectory() as path:
        from flask_migrate import upgrade

        base = make(path, observed=False)
        with base.app_context():
            upgrade()
        observed = make(path, observed=True)
        handler = logs.configure("json", "INFO", stream=_Null())
        logging.getLogger("alembic").setLevel(logging.WARNING)
        try:
            clients = {"baseline": base.test_client(), "observed": observed.test_client()}
            for c in clients.values():
                per_request(c)  # warm up
            times: dict[str, list[float]] = {k: [] for k in clients}
            for _ in range(rounds):
                for name, c in clients.items():
                    times[name].append(per_request(c))
        finally:
            logs.unconfigure(handler)
        b, o = statistics.median(times["baseline"]), statistics.median(times["observed"])
        print(f"GET /healthz, median of {rounds} rounds x {PER_ROUND} requests (test client, no network)")
        print(f"baseline (no timing, no access line):   {b * 1e6:8.1f} us/request")
        print(f"observed (histogram + JSON access line): {o * 1e6:8.1f} us/request")
        print(f"overhead: {(o - b) * 1e6:.1f} us/request, ratio observed/baseline: {o / b:.2f}")

        fill(observed, deliveries)
        client = observed.test_client()
        scrapes = []
        for _ in range(10):
            start = time.perf_counter()
            r = client.get("/metrics")
            scrapes.append(time.perf_counter() - start)
            assert r.status_code == 200
        median = statistics.median(scrapes) * 1e3
        print(f"GET /metrics over {deliveries:,} event deliveries (SQLite): median {median:.1f} ms, "
              f"max {max(scrapes) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
