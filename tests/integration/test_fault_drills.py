"""Fault drills on the deployment path (PostgreSQL, Redis, `marketplace worker` / `scheduler`, gunicorn):

1. Redis stopped during a cancel: the request answers 200 and commits; once Redis is back, the running
   scheduler and worker revoke the certificate and a signed `certificate.revoked` reaches a local receiver.
2. A worker killed with SIGKILL mid-job (half-way through a revocation transaction; while a webhook send is
   in flight): another worker redoes the work once in effect (one revocation, one log entry, one delivery
   row per subscription and event; a re-sent webhook keeps its `webhook-id`).
3. PostgreSQL connections dropped (`pg_terminate_backend`) under load on gunicorn: every answer is clean,
   the service recovers, nothing is half-written, and the transparency log audits.

Each drill has a database of its own next to TEST_DATABASE_URL's and a Redis server of its own on a free
port (tests/drills.py): it stops and starts only what it started. Figures (recovery time) are printed.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text, update
from standardwebhooks import Webhook

from marketplace.certificates.models import Certificate
from marketplace.db import utcnow
from marketplace.events.handlers import HANDLERS
from marketplace.events.models import Delivery, Event
from marketplace.extensions import db
from marketplace.policies.models import Policy
from marketplace.tlog.models import LogEntry
from marketplace.webhooks import sender
from marketplace.webhooks.models import WebhookDelivery
from tests import drills
from tests.conftest import make_app
from tests.drills import BASE_URL, BIN, SECRET_KEY, Processes, Receiver, RedisServer, wait_for
from tests.webhook_receiver import spec_signature

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]
R = "/api/v1"


# --- the stack of one drill -------------------------------------------------------------------------------


class Drill:
    """An own database (demo loaded), an own Redis, the in-process app the test talks to, and the processes
    the drill starts (each stopped afterwards)."""

    def __init__(self, db_url: str, redis: RedisServer, tmp_path):
        self.db_url, self.redis, self.tmp = db_url, redis, tmp_path
        self.instance = tmp_path / "instance"  # shared by every process: the key-encryption key lives here
        self.procs = Processes(tmp_path / "procs")
        self.app = make_app(db_url, self.instance, REDIS_URL=redis.url(), BASE_URL=BASE_URL, SECRET_KEY=SECRET_KEY)
        self.client = self.app.test_client()
        self._tokens: dict[str, str] = {}

    @property
    def env(self) -> dict:
        return drills.process_env(self.db_url, self.instance, self.redis.url())

    def org(self, key: str):
        kind, name = {"fsa": ("regulator", "Financial Services Agency (Japan)"),
                      "sakura": ("exchange", "Sakura Digital Exchange"),
                      "tokio": ("insurer", "Tokio Mutual Cyber")}[key]
        return drills.org(kind, name)

    def token(self, key: str) -> str:
        if key not in self._tokens:
            cid, secret = drills.client_credentials(self.org(key))

            def post(path, body, headers):
                r = self.client.post(path, data=body, headers=headers)
                return r.status_code, r.data

            self._tokens[key] = drills.token_via(post, cid, secret)
        return self._tokens[key]

    def call(self, method: str, path: str, who: str, **kw):
        return getattr(self.client, method)(path, headers={"Authorization": f"Bearer {self.token(who)}"}, **kw)

    def subscribe(self, who: str, url: str, events: list[str]) -> str:
        r = self.call("post", f"{R}/webhooks", who, json={"url": url, "events": events})
        assert r.status_code == 201, r.json
        return r.json["secret"]

    def cancel(self, policy_id: str, days: int = 200):
        effective = (date.today() + timedelta(days=days)).isoformat()
        return self.call("post", f"{R}/policies/{policy_id}/cancel", "tokio", json={"effective_on": effective})

    def flush_redis(self) -> None:
        """Forget the jobs the set-up queued (our own Redis server: nobody else uses it)."""
        from redis import Redis

        conn = Redis.from_url(self.redis.url())
        conn.flushall()
        conn.close()


@pytest.fixture
def drill(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL not configured (TEST_DATABASE_URL unset); .ci/run always sets it")
    if not drills.redis_available():
        pytest.skip("redis-server is not installed (the drills start their own)")
    from marketplace.demo.service import load

    with drills.own_database(url, "drill") as db_url, RedisServer(tmp_path / "redis") as redis:
        d = Drill(db_url, redis, tmp_path)
        with d.app.app_context():
            try:
                load()
                db.session.commit()
                yield d
            finally:
                d.procs.stop_all()
                with contextlib.suppress(Exception):  # (the database is dropped WITH FORCE anyway)
                    db.session.remove()
                db.engine.dispose()


# --- what "exactly once" means here -----------------------------------------------------------------------


def revocation_entries(cert_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(LogEntry)
                             .filter_by(kind="revocation", certificate_id=cert_id))


def revoked_events(cert_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Event)
                             .filter_by(kind="certificate.revoked", subject_id=cert_id))


def assert_outbox_whole() -> None:
    """Every event has exactly one delivery per subscriber of its kind; every webhook delivery is unique per
    (subscription, event)."""
    rows = db.session.execute(select(Delivery.event_id, func.count()).group_by(Delivery.event_id)).all()
    per_event = Counter(dict(rows))
    for event_id, kind in db.session.execute(select(Event.id, Event.kind)):
        assert per_event[event_id] == len(HANDLERS[kind]), (kind, event_id, per_event[event_id])
    dupes = db.session.execute(select(WebhookDelivery.subscription_id, WebhookDelivery.event_id, func.count())
                               .group_by(WebhookDelivery.subscription_id, WebhookDelivery.event_id)
                               .having(func.count() > 1)).all()
    assert not dupes, dupes


def assert_log_audits(d: Drill) -> None:
    out = subprocess.run([str(BIN / "marketplace"), "log", "audit"], env=d.env, cwd=drills.ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "audit OK" in out.stdout, (out.stdout[-2000:], out.stderr[-2000:])


def revoked_bodies(rx: Receiver, path: str, secret: str) -> dict[str, list[tuple[str, dict]]]:
    """certificate id -> [(webhook-id, body)] of the verified `certificate.revoked` requests to `path`."""
    out = defaultdict(list)
    for r in rx.at(path):
        body = Webhook(secret).verify(r.body, r.headers)  # the library's verifier, and the specification's HMAC
        expected = spec_signature(secret, r.headers["webhook-id"], r.headers["webhook-timestamp"], r.body)
        assert expected in r.headers["webhook-signature"].split(" ")
        assert body["type"] == "certificate.revoked"
        out[body["data"]["certificate_id"]].append((r.headers["webhook-id"], body))
    return out


# --- 1. Redis stopped during a cancel ---------------------------------------------------------------------


def test_redis_stopped_during_a_cancel(drill):
    d = drill
    usd = db.session.scalar(select(Policy).filter_by(number="TMC-USD-0042"))
    usd_id, notice = usd.id, usd.cancellation_notice_days
    [cert_id] = db.session.scalars(select(Certificate.id).filter_by(status="valid")).all()
    d.token("tokio")
    with Receiver() as rx, Receiver(delay=2.0) as slow:
        secret = d.subscribe("fsa", rx.url("/fsa"), ["certificate.revoked"])
        d.subscribe("sakura", slow.url("/sakura"), ["policy.bound"])
        drills.settle_deliveries()
        d.flush_redis()
        # the deployment: a worker and a scheduler, running throughout
        d.procs.worker("worker", d.env)
        d.procs.scheduler("scheduler", d.env)
        wait_for(lambda: "Job OK" in d.procs.output("worker"), "the worker to run the first scheduled jobs", 60)

        # Redis goes away while the worker is busy (a webhook to a slow receiver is in flight)
        yen = lambda n: {"amount": str(n), "currency": "JPY"}  # noqa: E731
        bound = d.call("post", f"{R}/policies", "tokio", json={
            "number": "DRILL-BUSY-1", "insured": d.org("sakura").id, "limit": yen(1_000_000_000),
            "deductible": yen(0), "perils": drills.PERILS, "term_start": "2026-12-01", "term_end": "2028-11-30",
            "cancellation_notice_days": 90})
        assert bound.status_code == 201, bound.json
        assert slow.arrived.wait(60), "the policy.bound webhook was never sent\n" + d.procs.logs("worker")
        d.redis.stop()
        stopped = time.monotonic()
        r = d.cancel(usd_id, days=notice + 10)
        assert r.status_code == 200, r.json  # a committed change is never reported as a failure
        assert r.json["status"] == "cancelled"
        db.session.remove()
        assert db.session.scalar(select(Policy.status).filter_by(id=usd_id)) == "cancelled"
        assert db.session.get(Certificate, cert_id).status == "valid"  # nothing ran the relay
        pending = db.session.scalars(select(Delivery.subscriber).join(Event)
                                     .where(Event.kind == "policy.cancelled", Delivery.status == "pending")).all()
        assert sorted(pending) == sorted(HANDLERS["policy.cancelled"])

        # the outage lasts past a scheduler tick: the scheduler and the worker must both live through it
        def noticed(name: str):
            def check():
                assert d.procs.procs[name].poll() is None, f"the {name} exited during the Redis outage\n" + \
                    d.procs.logs(name)
                return f"{name}: Redis unreachable" in d.procs.output(name)
            return check

        wait_for(noticed("worker"), "the busy worker to meet the outage", 30, 0.2)  # RQ quit; it starts again
        wait_for(noticed("scheduler"), "the scheduler to meet the outage", 30, 0.2)
        assert d.procs.procs["worker"].poll() is None, d.procs.logs("worker")
        db.session.remove()
        assert db.session.get(Certificate, cert_id).status == "valid"
        assert len(slow.at("/sakura")) == 1  # the send in flight completed

        d.redis.start()
        back = time.monotonic()
        # the receiver lists a request before it records when it answered it: wait for both
        got = wait_for(lambda: (b := revoked_bodies(rx, "/fsa", secret).get(cert_id)) and b[0][0] in rx.received_at
                       and b, "certificate.revoked at the receiver", 90, 0.02)
        arrived = rx.received_at[got[0][0]]
        print(f"\n[drill 1] Redis down {back - stopped:.1f} s; recovery (Redis back -> certificate.revoked received): "
              f"{arrived - back:.2f} s")

    db.session.remove()
    c = db.session.get(Certificate, cert_id)
    assert c.status == "revoked" and "TMC-USD-0042" in c.revoked_reason
    assert revocation_entries(cert_id) == 1 and revoked_events(cert_id) == 1
    [(webhook_id, body)] = got
    assert body["data"]["jurisdiction"] == "JP" and body["data"]["exchange_id"] == d.org("sakura").id
    sent = db.session.get(WebhookDelivery, webhook_id)
    assert sent.status == "succeeded" and sent.event_type == "certificate.revoked"
    assert d.procs.procs["scheduler"].poll() is None and d.procs.procs["worker"].poll() is None
    assert_outbox_whole()


# --- 2. a worker killed with SIGKILL mid-job --------------------------------------------------------------


def waiting_on_a_lock(engine, dbname: str) -> list[int]:
    """Backends of `dbname` waiting for a row lock another transaction holds."""
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :db "
                                      "AND wait_event_type = 'Lock'"), {"db": dbname}))


def test_worker_killed_mid_revocation_redoes_it_once(drill):
    """The worker is SIGKILLed inside a revocation's transaction: the certificate row and its status bit are
    updated, its status bit and log entry not yet written (it waits for the status list's row, which another
    revocation holds)."""
    d = drill
    made = drills.add_certified_exchanges(12)
    dbname = drills.database_name(d.db_url)
    with Receiver() as rx:
        secret = d.subscribe("fsa", rx.url("/fsa"), ["certificate.revoked"])
        drills.settle_deliveries()
        d.flush_redis()
        d.token("tokio")
        d.procs.worker("worker-1", d.env)

        # some work completes normally first
        first, rest = made[:4], made[4:]
        for m in first:
            assert d.cancel(m["policy_id"]).status_code == 200
        wait_for(lambda: all(m["certificate_id"] in revoked_bodies(rx, "/fsa", secret) for m in first),
                 "the first revocations delivered", 60)

        # another revocation holds the status lists; the worker's next revocation blocks inside its transaction
        engine = create_engine(drills.normalise(d.db_url))
        holder = engine.connect()
        tx = holder.begin()
        holder.execute(text("SELECT id FROM status_lists FOR UPDATE"))
        try:
            for m in rest:
                assert d.cancel(m["policy_id"]).status_code == 200
            [blocked] = wait_for(lambda: waiting_on_a_lock(engine, dbname), "the worker to wait on the status list", 60)
            with engine.connect() as conn:  # half-written, uncommitted: nobody else sees any of it
                state = conn.execute(text("SELECT state, query FROM pg_stat_activity WHERE pid = :p"),
                                     {"p": blocked}).one()
                assert "status_lists" in state.query
                assert conn.scalar(text("SELECT count(*) FROM certificates WHERE status = 'revoked'")) == len(first)
            d.procs.kill("worker-1", signal.SIGKILL)
        finally:
            tx.rollback()
            holder.close()
        # the dead worker's backend finds its client gone and rolls back
        wait_for(lambda: not waiting_on_a_lock(engine, dbname) and blocked not in _backends(engine, dbname),
                 "the killed worker's transaction to end", 60)
        db.session.remove()
        revoked = select(func.count()).select_from(Certificate).filter_by(status="revoked")
        assert db.session.scalar(revoked) == len(first)
        # the claimed delivery's attempt rolled back with the rest: every one of them is as it was
        left = db.session.execute(select(Delivery.status, Delivery.attempts).join(Event).where(
            Event.kind == "policy.cancelled", Delivery.subscriber == "revocation",
            Event.subject_id.in_([m["policy_id"] for m in rest]))).all()
        assert sorted(left) == [("pending", 0)] * len(rest)

        # a new worker and the scheduler (the killed job is gone with its worker: the schedule catches up)
        d.procs.worker("worker-2", d.env)
        d.procs.scheduler("scheduler", d.env)
        wait_for(lambda: all(m["certificate_id"] in revoked_bodies(rx, "/fsa", secret) for m in made),
                 "every certificate.revoked delivered", 90, 0.1)
        wait_for(lambda: _webhooks_settled(), "webhook deliveries to settle", 30, 0.1)
        received = revoked_bodies(rx, "/fsa", secret)
        engine.dispose()

    db.session.remove()
    for m in made:
        cert = db.session.get(Certificate, m["certificate_id"])
        assert cert.status == "revoked" and m["number"] in cert.revoked_reason
        assert revocation_entries(cert.id) == 1, cert.id  # no double revocation, no duplicate log entry
        assert revoked_events(cert.id) == 1, cert.id
        assert len({wid for wid, _ in received[cert.id]}) == 1  # one delivery row: one webhook-id
    assert_outbox_whole()
    # the other subscribers' deliveries (adequacy, webhooks) finish on the relay's schedule: wait, then none is left
    wait_for(lambda: (db.session.remove(), not db.session.scalars(select(Delivery).where(
        Delivery.status != "done")).all())[1], "every event delivery to finish", 60, 0.2)
    assert_log_audits(d)
    print(f"\n[drill 2] worker SIGKILLed inside a revocation (waiting on the status list's row, {len(first)} done "
          f"before): all {len(made)} certificates revoked once, one log entry and one certificate.revoked each, "
          f"{sum(len(v) for v in received.values())} webhooks received for {len(received)} events; log audit OK")


def _backends(engine, dbname: str) -> set[int]:
    with engine.connect() as conn:
        return set(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": dbname}))


def _webhooks_settled() -> bool:
    db.session.remove()
    return not db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                 .where(WebhookDelivery.status == "pending"))


def test_worker_killed_while_a_webhook_is_in_flight_sends_it_again_with_the_same_id(drill):
    d = drill
    [made] = drills.add_certified_exchanges(1)
    with Receiver(delay=3.0) as rx:  # a slow receiver: the send is in flight for 3 s
        secret = d.subscribe("fsa", rx.url("/fsa"), ["certificate.revoked"])
        drills.settle_deliveries()
        d.flush_redis()
        d.token("tokio")
        d.procs.worker("worker-1", d.env)
        assert d.cancel(made["policy_id"]).status_code == 200
        assert rx.arrived.wait(60), "the send never started\n" + d.procs.logs("worker-1")
        d.procs.kill("worker-1", signal.SIGKILL)  # while the receiver is still answering

        db.session.remove()
        cert_id = made["certificate_id"]
        assert db.session.get(Certificate, cert_id).status == "revoked" and revocation_entries(cert_id) == 1
        [leased] = db.session.scalars(select(WebhookDelivery).filter_by(event_type="certificate.revoked")).all()
        leased_id = leased.id
        # claimed (attempt 1) and leased: due again when the lease runs out, not before
        assert leased.status == "pending" and leased.attempts == 1
        assert leased.next_attempt_at > utcnow() + timedelta(minutes=4)
        wait_for(lambda: len(rx.at("/fsa")) == 1, "the receiver to finish the first request", 30)

        # the lease runs out (5 minutes: moved here instead of waited for); a new worker and the scheduler
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == leased_id)
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        rx.delay = 0.0
        restarted = time.monotonic()
        d.procs.worker("worker-2", d.env)
        d.procs.scheduler("scheduler", d.env)
        wait_for(_webhooks_settled, "the delivery to be sent again", 60, 0.1)
        received = revoked_bodies(rx, "/fsa", secret)[cert_id]
        resent = max(rx.received_at.values()) - restarted if rx.received_at else float("nan")

    db.session.remove()
    done = db.session.get(WebhookDelivery, leased_id)
    assert done.status == "succeeded" and done.attempts == 2
    assert len(received) == 2 and {wid for wid, _ in received} == {leased_id}  # the same webhook-id, twice
    assert received[0][1] == received[1][1]  # the same body
    assert revocation_entries(cert_id) == 1 and revoked_events(cert_id) == 1
    assert_outbox_whole()
    print(f"\n[drill 2] worker SIGKILLed with a webhook in flight: leased for {sender.LEASE}, then re-sent with the "
          f"same webhook-id ({resent:.2f} s after a new worker started); 1 delivery row, 2 attempts")


# --- 3. PostgreSQL connections dropped under load ---------------------------------------------------------


def test_postgres_connections_dropped_under_load(drill):
    d = drill
    dbname = drills.database_name(d.db_url)
    port = drills.free_port()
    base = f"http://127.0.0.1:{port}"
    creds = {k: drills.client_credentials(d.org(k)) for k in ("sakura", "fsa")}
    drills.settle_deliveries()
    d.flush_redis()
    db.session.remove()

    env = {**d.env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2",
           "MARKETPLACE_RATELIMIT_ENABLED": "0"}
    gunicorn = d.procs.start("web", [str(BIN / "gunicorn"), "--config", "docker/gunicorn.conf.py", "wsgi:app"], env)
    d.procs.worker("worker", d.env)
    d.procs.scheduler("scheduler", d.env)

    def ready():
        assert gunicorn.poll() is None, d.procs.logs("web")
        try:
            return drills.http("GET", f"{base}/readyz", timeout=5)[0] == 200
        except OSError:
            return False

    wait_for(ready, "gunicorn", 60, 0.2)

    def post(path, body, headers):
        s, _, b = drills.http("POST", base + path, body, headers)
        return s, b

    tokens = {k: drills.token_via(post, *c) for k, c in creds.items()}
    sakura_id = d.org("sakura").id
    db.session.remove()  # this process holds no connection while its database's backends are terminated
    results: list[dict] = []
    lock = threading.Lock()

    def request(i: int) -> dict:
        """One request of the mix: reads and writes, each write with its own Idempotency-Key."""
        rng = random.Random(i)
        kind = ("volume", "obligation", "read-obligations", "read-policies", "read-volumes")[i % 5]
        key = str(uuid.uuid4())
        h = {"Authorization": f"Bearer {tokens['sakura']}", "Idempotency-Key": key}
        if kind == "volume":
            req = ("POST", f"{R}/reports/volumes", {"month": f"2026-{rng.randint(10, 12):02d}", "product_class": "spot",
                                                   "amount": {"amount": str(rng.randint(4, 6) * 10**12),
                                                              "currency": "JPY"}})
        elif kind == "obligation":
            req = ("POST", f"{R}/obligations", {"period": "2027-Q1"})
        elif kind == "read-obligations":
            req, h = ("GET", f"{R}/obligations?exchange={sakura_id}", None), {"Authorization": h["Authorization"]}
        elif kind == "read-policies":
            req, h = ("GET", f"{R}/policies", None), {"Authorization": f"Bearer {tokens['fsa']}"}
        else:
            req, h = ("GET", f"{R}/reports/volumes", None), {"Authorization": h["Authorization"]}
        started = time.monotonic()
        try:
            status, headers, body = drills.http(req[0], base + req[1], req[2], h, timeout=45)
        except Exception as e:  # a hang (timeout) or a dropped connection: never acceptable
            status, headers, body = None, {}, repr(e).encode()
        out = {"i": i, "kind": kind, "method": req[0], "path": req[1], "body": req[2], "headers": h, "status": status,
               "type": headers.get("Content-Type", ""), "answer": body, "seconds": time.monotonic() - started}
        with lock:
            results.append(out)
        return out

    terminated: list[int] = []
    stop = threading.Event()
    killer_engine = create_engine(drills.normalise(d.db_url), isolation_level="AUTOCOMMIT")

    def killer():
        time.sleep(1.0)
        for _ in range(5):
            with killer_engine.connect() as conn:
                pids = list(conn.scalars(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": dbname}))
            terminated.append(sum(bool(p) for p in pids))
            if stop.wait(0.7):
                break

    k = threading.Thread(target=killer, name="pg-killer")
    k.start()
    with ThreadPoolExecutor(8) as pool:
        i = 0
        while k.is_alive():  # bounded: the killer runs about 5 s
            list(pool.map(request, range(i, i + 16)))
            i += 16
        k.join()
        during = list(results)
        results.clear()
        after = list(pool.map(request, range(i, i + 40)))  # the drops have stopped: everything must succeed
    killer_engine.dispose()

    def clean(r: dict) -> bool:
        if r["status"] is None:
            return False
        if 200 <= r["status"] < 300:
            return True
        text_ = r["answer"].decode(errors="replace")
        return (r["status"] >= 500 and r["type"].startswith("application/problem+json")
                and "Traceback" not in text_ and 'File "' not in text_ and "psycopg" not in text_)

    statuses = Counter(r["status"] for r in during)
    print(f"\n[drill 3] {len(during)} requests during {len(terminated)} rounds of pg_terminate_backend "
          f"({sum(terminated)} backends terminated): {dict(statuses)}; slowest "
          f"{max(r['seconds'] for r in during):.2f} s; afterwards {Counter(r['status'] for r in after)}")
    assert sum(terminated) > 0, "nothing was terminated"
    bad = [r for r in during + after if not clean(r)]
    assert not bad, [(r["kind"], r["status"], r["type"], r["answer"][:300]) for r in bad[:5]]
    assert all(200 <= r["status"] < 300 for r in after), \
        [(r["kind"], r["status"], r["answer"][:300]) for r in after if r["status"] >= 300]
    assert gunicorn.poll() is None
    web_log = d.procs.output("web")
    assert "IntegrityError" not in web_log, "a 500 that was a race between requests, not a dropped connection"
    assert web_log.count("Booting worker") == 2, "a gunicorn worker died\n" + d.procs.logs("web")

    # a write answered 5xx may or may not have committed; its Idempotency-Key settles which, on retry
    for r in [r for r in during if r["method"] == "POST"]:
        status, headers, body = drills.http("POST", base + r["path"], r["body"], r["headers"], timeout=45)
        assert 200 <= status < 300, (r["kind"], status, body[:300])
        if 200 <= r["status"] < 300:
            assert headers.get("Idempotent-Replayed") == "true" and body == r["answer"], r["kind"]

    # nothing half-written
    wait_for(lambda: _relay_drained(), "the outbox to drain", 60, 0.2)
    from marketplace.obligations.models import ObligationRecord
    from marketplace.web.idempotency import IdempotencyKey

    db.session.remove()
    assert not db.session.scalars(select(IdempotencyKey).where(IdempotencyKey.status.is_(None))).all()
    revisions = db.session.execute(
        select(ObligationRecord.revision, ObligationRecord.superseded_at, ObligationRecord.id)
        .filter_by(exchange_id=sakura_id, period="2027-Q1").order_by(ObligationRecord.revision)).all()
    assert [rev for rev, _, _ in revisions] == list(range(1, len(revisions) + 1))
    assert sum(superseded is None for _, superseded, _ in revisions) == 1
    computed = set(db.session.scalars(select(Event.subject_id).filter_by(kind="obligation.computed")))
    assert {ob_id for _, _, ob_id in revisions} <= computed  # every revision has its event (and deliveries:)
    assert_outbox_whole()
    for cert in db.session.scalars(select(Certificate)):
        assert revocation_entries(cert.id) == (cert.status == "revoked"), cert.id
    assert_log_audits(d)
    print(f"[drill 3] {len(revisions)} obligation revisions, all with their events and deliveries; log audit OK")


def _relay_drained() -> bool:
    db.session.remove()
    return not db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending"))

