"""The event spine on the deployment path (PostgreSQL, a Redis of its own, `marketplace worker` and
`marketplace scheduler` subprocesses), each figure with a ratio against a baseline measured in this run:

1. cancel -> `certificate.revoked` delivered: a policy cancelled through the API (Flask's test client, in this
   process) until a local receiver has the signed webhook; N cancels one after another, each revoking its own
   certificate (N exchanges, policies and certificates are made first through the services). p50 / p99.
   Baseline: the cancel request alone (its p50), so the ratio is what the asynchronous path adds.
   The path: commit -> nudge -> worker: relay (revocation, log entry, checkpoint) -> relay (webhook fan-out)
   -> webhooks.send -> POST. Measured once the worker has run the scheduler's first round; the periodic jobs
   that come due meanwhile (relay and webhook retries every 10 s) share the one worker, as deployed.
2. relay throughput: `relay()` (in this process, nothing nudged) draining M pending deliveries to the webhook
   subscriber (fan-out to one subscription each). Baseline: the same M deliveries to a subscriber that does
   nothing, i.e. the outbox's own cost per delivery (claim, lock, mark done; one transaction per batch).
3. recovery after Redis returns: Redis stopped, a policy cancelled (answers 200), Redis kept down OUTAGE s,
   then started: time from Redis answering again to the receiver having the revocation. Baseline: the p50
   of (1). The worker and scheduler are the same processes throughout.

Run: .venv/bin/python bench/spine.py [N cancels] [M deliveries] [R outages] [OUTAGE s] [DATABASE_URL]
     (default 100 2000 3 3; DATABASE_URL defaults to TEST_DATABASE_URL: a database next to it is created and
     dropped; redis-server must be installed, it is started on a free port of 127.0.0.1 and stopped)
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, ".")
from marketplace.db import utcnow
from marketplace.events import handlers
from marketplace.events.models import Delivery, Event
from marketplace.events.relay import relay
from marketplace.extensions import db
from marketplace.jobs.queues import QUEUE_NAME
from marketplace.jobs.schedule import SCHEDULE
from tests import drills
from tests.conftest import make_app
from tests.drills import BASE_URL, SECRET_KEY, Processes, Receiver, RedisServer, wait_for


class _NoQueue:
    name = "none"

    def enqueue(self, name, **kwargs):
        return None


def _noop(ev, row) -> None:
    return None


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


class Bench:
    def __init__(self, db_url: str, redis: RedisServer, tmp: Path):
        self.redis, self.tmp = redis, tmp
        self.instance = tmp / "instance"
        self.env = drills.process_env(db_url, self.instance, redis.url())
        self.app = make_app(db_url, self.instance, REDIS_URL=redis.url(), BASE_URL=BASE_URL, SECRET_KEY=SECRET_KEY,
                            RATELIMIT_ENABLED=False)
        self.client = self.app.test_client()
        self.tokens: dict[str, str] = {}

    def token(self, kind: str, name: str) -> str:
        if name not in self.tokens:
            cid, secret = drills.client_credentials(drills.org(kind, name))

            def post(path, body, headers):
                r = self.client.post(path, data=body, headers=headers)
                return r.status_code, r.data

            self.tokens[name] = drills.token_via(post, cid, secret)
        return self.tokens[name]

    def call(self, method: str, path: str, token: str, **kw):
        return getattr(self.client, method)(path, headers={"Authorization": f"Bearer {token}"}, **kw)

    def cancel(self, policy_id: str) -> None:
        effective = (date.today() + timedelta(days=120)).isoformat()
        r = self.call("post", f"/api/v1/policies/{policy_id}/cancel", self.token("insurer", "Tokio Mutual Cyber"),
                      json={"effective_on": effective})
        assert r.status_code == 200, r.json

    def idle(self) -> bool:
        """Nothing queued and nothing running."""
        from redis import Redis
        from rq import Queue

        conn = Redis.from_url(self.redis.url())
        try:
            q = Queue(QUEUE_NAME, connection=conn)
            return q.count == 0 and q.started_job_registry.count == 0
        finally:
            conn.close()

    def flush_redis(self) -> None:
        from redis import Redis

        conn = Redis.from_url(self.redis.url())
        conn.flushall()
        conn.close()


def delivered(rx: Receiver, path: str, secret: str, cert_id: str) -> float | None:
    """When the receiver answered the (verified) `certificate.revoked` of `cert_id`, or None."""
    for r in rx.at(path):
        body = r.json
        if body["type"] == "certificate.revoked" and body["data"]["certificate_id"] == cert_id:
            rx.verified(path, secret)  # every request so far, both verifiers
            return rx.received_at.get(r.headers["webhook-id"])
    return None


def cancel_to_delivered(b: Bench, rx: Receiver, secret: str, made: list[dict]) -> tuple[list[float], list[float]]:
    """(end-to-end seconds, cancel request seconds) per cancel, one after another."""
    total, request = [], []
    for m in made:
        start = time.monotonic()
        b.cancel(m["policy_id"])
        answered = time.monotonic()
        db.session.remove()
        arrived = wait_for(lambda m=m: delivered(rx, "/fsa", secret, m["certificate_id"]),
                           f"certificate.revoked for {m['number']}", 60, 0.002)
        total.append(arrived - start)
        request.append(answered - start)
    return total, request


def relay_rate(n: int, noop: bool) -> float:
    """Deliveries/s of relay() draining n pending `policy.bound` -> webhooks deliveries."""
    from marketplace.registry import service as registry
    from marketplace.webhooks import service as webhooks

    ex = registry.find_exchange("Kanto-FB-00099", "JP")
    fsa = registry.find_regulator("JP")
    tag = "noop" if noop else "real"
    if not noop:
        webhooks.create(fsa.id, "http://127.0.0.1:9/unused", ["policy.bound"], "bench")  # fan-out finds it
    for i in range(n):
        payload = {"policy_id": f"{tag}-{i}", "number": f"B-{tag}-{i}", "insurer_id": "i", "exchange_id": ex.org_id,
                   "limit": {"amount": "1", "currency": "JPY"}, "term_start": "2027-01-01", "term_end": "2028-01-01",
                   "jurisdiction": "JP"}
        ev = Event(kind="policy.bound", subject_id=f"{tag}-{i}", jurisdiction="JP", audience=[ex.org_id],
                   payload=payload, actor="bench")
        db.session.add(ev)
        db.session.flush()
        db.session.add(Delivery(event_id=ev.id, subscriber="webhooks", next_attempt_at=utcnow()))
    db.session.commit()
    old = handlers.SUBSCRIBERS["webhooks"]
    if noop:
        handlers.SUBSCRIBERS["webhooks"] = f"{__name__}._noop"
    try:
        start = time.perf_counter()
        done = 0
        while done < n:
            out = relay(limit=n)
            assert out["failed"] == 0, out
            if not out["done"]:
                break
            done += out["done"]
        elapsed = time.perf_counter() - start
    finally:
        handlers.SUBSCRIBERS["webhooks"] = old
    assert done == n, (done, n)
    return n / elapsed


def main() -> None:
    args = sys.argv[1:]
    n = int(args[0]) if len(args) > 0 else 100
    m = int(args[1]) if len(args) > 1 else 2000
    outages = int(args[2]) if len(args) > 2 else 3
    outage = float(args[3]) if len(args) > 3 else 3.0
    url = args[4] if len(args) > 4 else os.environ.get("TEST_DATABASE_URL")
    if not url:
        sys.exit("bench/spine.py needs PostgreSQL: pass a DATABASE_URL or set TEST_DATABASE_URL")
    if not drills.redis_available():
        sys.exit("bench/spine.py needs redis-server installed (it starts its own on a free port)")
    from marketplace.demo.service import load

    logging.getLogger("marketplace.uow").setLevel(logging.ERROR)  # the failed nudges of the outages are expected
    tmp = Path(tempfile.mkdtemp(prefix="bench-spine-"))
    with drills.own_database(url, "bench") as db_url, RedisServer(tmp / "redis") as redis:
        b = Bench(db_url, redis, tmp)
        procs = Processes(tmp / "procs")
        try:
            with b.app.app_context(), Receiver() as rx:
                load()
                db.session.commit()
                started = time.monotonic()
                made = drills.add_certified_exchanges(n + outages, prefix="BENCH")
                print(f"set-up: {n + outages} exchanges with a policy and a certificate each in "
                      f"{time.monotonic() - started:.1f} s")
                regulator = b.token("regulator", "Financial Services Agency (Japan)")
                r = b.call("post", "/api/v1/webhooks", regulator,
                           json={"url": rx.url("/fsa"), "events": ["certificate.revoked"]})
                assert r.status_code == 201, r.json
                secret = r.json["secret"]
                b.token("insurer", "Tokio Mutual Cyber")
                drills.settle_deliveries()
                b.flush_redis()
                procs.worker("worker", b.env)
                procs.scheduler("scheduler", b.env)
                # warm: the scheduler enqueues every periodic job at start (the daily adequacy check included)
                wait_for(lambda: procs.output("worker").count("Job OK") >= len(SCHEDULE) and b.idle(),
                         "the worker to finish the scheduler's first round", 120, 0.05)

                # 1. cancel -> delivered
                total, request = cancel_to_delivered(b, rx, secret, made[:n])
                p50, p99 = percentile(total, 50), percentile(total, 99)
                req50 = percentile(request, 50)
                print(f"cancel -> certificate.revoked delivered, {n} cancels with a worker and Redis: "
                      f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(total) * 1000:.0f} ms")
                print(f"  baseline: the cancel request alone, p50 {req50 * 1000:.0f} ms; "
                      f"ratio end-to-end / request (p50): {p50 / req50:.1f}")

                # 3. recovery after Redis returns (before 2: the worker must be idle and nothing pending)
                recoveries = []
                for m_ in made[n:n + outages]:
                    redis.stop()
                    b.cancel(m_["policy_id"])  # answers 200: checked in cancel()
                    time.sleep(outage)
                    redis.start()
                    back = time.monotonic()
                    db.session.remove()
                    arrived = wait_for(lambda m_=m_: delivered(rx, "/fsa", secret, m_["certificate_id"]),
                                       "the revocation after Redis returned", 120, 0.01)
                    recoveries.append(arrived - back)
                if recoveries:
                    med = statistics.median(recoveries)
                    print(f"recovery after Redis returns ({outages} outages of {outage:.0f} s; Redis back -> "
                          f"certificate.revoked received): median {med:.2f} s, max {max(recoveries):.2f} s")
                    print(f"  baseline: cancel -> delivered p50 {p50 * 1000:.0f} ms; ratio recovery / p50: "
                          f"{med / p50:.1f}")
                alive = {name: p.poll() is None for name, p in procs.procs.items()}
                assert all(alive.values()), f"a job process exited: {alive}"

                # 2. relay throughput (this process; the worker is stopped and nothing is nudged)
                procs.stop_all()
                b.app.extensions["queue"] = _NoQueue()
                drills.settle_deliveries()
                real = relay_rate(m, noop=False)
                base = relay_rate(m, noop=True)
                print(f"relay throughput, {m} pending deliveries to the webhook fan-out: {real:,.0f} deliveries/s")
                print(f"  baseline: the same deliveries to a no-op subscriber: {base:,.0f} deliveries/s; "
                      f"ratio {real / base:.2f}")
                db.session.remove()
                db.engine.dispose()
        finally:
            procs.stop_all()


if __name__ == "__main__":
    main()
