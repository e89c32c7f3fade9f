"""Webhook sending throughput: `send_due` over N due deliveries to a local receiver (tests/webhook_receiver.py),
with 1 sending thread and with the default pool, optionally with a slow receiver.

Every request is verified (Standard Webhooks signature) before the figure is printed. The receiver runs in this
process, so with no delay the threads share one interpreter lock with it: the pool pays off when receivers take
time to answer (DELAY, e.g. 0.05 s), which is what real ones do.
Run: .venv/bin/python bench/webhooks.py [N] [DELAY seconds] [DATABASE_URL]   (default: 1000, 0, a SQLite file)
"""

from __future__ import annotations

import sys
import tempfile
import time

sys.path.insert(0, ".")
from marketplace.db import utcnow
from marketplace.events.models import Event
from marketplace.extensions import db
from marketplace.registry.models import Organization
from marketplace.webhooks import sender, service
from marketplace.webhooks.models import WebhookDelivery
from tests.conftest import make_app, migrate_to_head, normalise_db_url
from tests.webhook_receiver import Receiver


def run(url: str, n: int, delay: float, workers: int) -> float:
    tmp = tempfile.mkdtemp(prefix="bench-webhooks-")
    migrate_to_head(url, tmp)
    app = make_app(url, tmp)
    old, sender.WORKERS = sender.WORKERS, workers
    try:
        with app.app_context(), Receiver(delay) as rx:
            org = Organization(kind="exchange", name="Bench Exchange", jurisdiction="JP")
            db.session.add(org)
            db.session.flush()
            sub, secret = service.create(org.id, rx.url("/bench"), ["policy.bound"], "bench")
            for i in range(n):
                payload = {"policy_id": f"p{i}", "number": f"B-{i}", "insurer_id": "i", "exchange_id": org.id,
                           "limit": {"amount": "1", "currency": "JPY"}, "term_start": "2027-01-01",
                           "term_end": "2028-01-01", "jurisdiction": "JP"}
                ev = Event(kind="policy.bound", subject_id=f"p{i}", jurisdiction="JP", audience=[org.id],
                           payload=payload, actor="bench")
                db.session.add(ev)
                db.session.flush()
                db.session.add(WebhookDelivery(subscription_id=sub.id, event_id=ev.id, event_type="policy.bound",
                                               next_attempt_at=utcnow()))
            db.session.commit()
            start = time.perf_counter()
            out = sender.send_due(limit=n)
            elapsed = time.perf_counter() - start
            assert out["succeeded"] == n, out
            assert len(rx.verified("/bench", secret)) == n
            db.engine.dispose()
            return n / elapsed
    finally:
        sender.WORKERS = old


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    url = normalise_db_url(sys.argv[3]) if len(sys.argv) > 3 else None
    for workers in (1, sender.WORKERS):
        target = url or "sqlite:///" + tempfile.mkdtemp(prefix="bench-webhooks-db-") + "/bench.db"
        rate = run(target, n, delay, workers)
        print(f"{target.split(':')[0]:<18} {n} deliveries, receiver delay {delay:.3f} s, {workers} thread(s): "
              f"{rate:,.0f} deliveries/s (all signatures verified)")


if __name__ == "__main__":
    main()
