"""Helpers for the fault drills (tests/integration/test_fault_drills.py) and bench/spine.py.

Everything here starts processes of its own and stops only those: a Redis server on a free port of
127.0.0.1 (never the shared one), `marketplace worker` / `marketplace scheduler` / gunicorn subprocesses,
and a PostgreSQL database of its own next to TEST_DATABASE_URL's (created, migrated, dropped afterwards),
so `pg_terminate_backend` on it touches nobody else.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BASE_URL = "http://127.0.0.1:5000"  # the same for every process of a drill: the log origin derives from it
SECRET_KEY = "drill-secret-key"
PERILS = ["theft_hack", "insider_fraud", "operational_failure"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 60.0, interval: float = 0.05):
    """Poll until `predicate()` is truthy; its value, or AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- Redis: a server of our own -------------------------------------------------------------------------


def redis_available() -> bool:
    from shutil import which

    return which("redis-server") is not None


class RedisServer:
    """`redis-server` on a free port of 127.0.0.1, in the foreground as our child. `stop()` and `start()`
    again use the same port (a Redis that went away and came back); nothing is persisted."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        """PING over a bare socket (a client library's own retries would make "ready" late)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> RedisServer:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.workdir / f"redis-{self.port}.log", "a")  # noqa: SIM115 (closed below; the child keeps it)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.workdir), "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        wait_for(self.ping, f"redis-server on port {self.port}", timeout=20, interval=0.005)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- PostgreSQL: a database of our own --------------------------------------------------------------------


@contextmanager
def own_database(base_url: str, tag: str) -> Iterator[str]:
    """A fresh, migrated database next to `base_url`'s; dropped (WITH FORCE) afterwards."""
    from tests.conftest import migrate_to_head, normalise_db_url

    base = make_url(normalise_db_url(base_url))
    name = f"{base.database}_{tag}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        tmp = Path(f"/tmp/marketplace-drill-migrate-{os.getpid()}")
        tmp.mkdir(exist_ok=True)
        migrate_to_head(url, tmp)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def normalise(url: str) -> str:
    from marketplace.config import normalise_db_url

    return normalise_db_url(url)


def database_name(url: str) -> str:
    return make_url(url).database


# --- processes ----------------------------------------------------------------------------------------------


def process_env(db_url: str, instance: Path, redis_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a worker, scheduler or gunicorn of this drill (nothing inherited that would
    point it elsewhere)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MARKETPLACE_", "PROMETHEUS_", "GUNICORN_", "FLASK_"))
           and k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", DATABASE_URL=db_url, SECRET_KEY=SECRET_KEY,
               MARKETPLACE_INSTANCE_PATH=str(instance), MARKETPLACE_BASE_URL=BASE_URL,
               MARKETPLACE_ENV="development", MARKETPLACE_LOG_FORMAT="text", MARKETPLACE_WEBHOOKS_ALLOW_PRIVATE="1")
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


class Processes:
    """The processes a drill started (and only those), each writing to its own files under `tmp`."""

    def __init__(self, tmp: Path):
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        assert name not in self.procs or self.procs[name].poll() is not None, f"{name} is running"
        out, err = (open(self.tmp / f"{name}.{s}", "w") for s in ("out", "err"))  # noqa: SIM115
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        out.close()
        err.close()
        self.procs[name] = proc
        return proc

    def worker(self, name: str, env: dict, burst: bool = False) -> subprocess.Popen:
        return self.start(name, [str(BIN / "marketplace"), "worker", *(["--burst"] if burst else [])], env)

    def scheduler(self, name: str, env: dict) -> subprocess.Popen:
        return self.start(name, [str(BIN / "marketplace"), "scheduler"], env)

    def output(self, name: str, stream: str = "err") -> str:
        path = self.tmp / f"{name}.{stream}"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self, name: str) -> str:
        return f"--- {name} stdout ---\n{self.output(name, 'out')[-3000:]}\n--- {name} stderr ---\n" \
               f"{self.output(name, 'err')[-6000:]}"

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def stop(self, name: str, timeout: float = 20) -> None:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            if self.procs[name].poll() is None:
                self.procs[name].send_signal(signal.SIGTERM)
        for name in reversed(list(self.procs)):
            self.stop(name, timeout=20)


def http(method: str, url: str, body: dict | bytes | None = None, headers: dict | None = None,
         timeout: float = 30) -> tuple[int, dict, bytes]:
    """(status, headers, body); HTTP errors are answers, not exceptions."""
    data = json.dumps(body).encode() if isinstance(body, dict | list) else body
    h = {"Content-Type": "application/json"} if isinstance(body, dict | list) else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


# --- the world ------------------------------------------------------------------------------------------------


def org(kind: str, name: str):
    from marketplace.extensions import db
    from marketplace.registry.models import Organization

    return db.session.scalar(select(Organization).filter_by(kind=kind, name=name))


def client_credentials(organization, scopes: list[str] | None = None) -> tuple[str, str]:
    """A new API client of `organization` (committed): (client_id, secret)."""
    from marketplace.auth import service as auth
    from marketplace.extensions import db

    client, secret = auth.create_client(organization, "drill", scopes, "drill")
    db.session.commit()
    return client.client_id, secret


def token_via(post: Callable[[str, bytes, dict], tuple[int, bytes]], client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    status, body = post("/oauth/token", b"grant_type=client_credentials",
                        {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, body
    return json.loads(body)["access_token"]


def add_certified_exchanges(n: int, prefix: str = "DRILL") -> list[dict]:
    """`n` JP exchanges, each with volumes, custody, a 2027-Q1 obligation, its own Tokio policy (custodially
    attested, attached) and a valid certificate covering only that policy; committed. Made through the
    services, so cancelling policy i revokes certificate i and nothing else.
    Returns [{"exchange_id", "policy_id", "number", "certificate_id"}]."""
    from marketplace.allocations import service as allocations
    from marketplace.attestations import service as attestations
    from marketplace.certificates import service as certificates
    from marketplace.domain.money import Money
    from marketplace.extensions import db
    from marketplace.obligations import service as obligations
    from marketplace.policies import service as policies
    from marketplace.registry import service as registry
    from marketplace.reports import service as reports
    from marketplace.uow import unit_of_work

    regulator = registry.find_regulator("JP")
    tokio = org("insurer", "Tokio Mutual Cyber")
    yen = lambda n: Money(n, "JPY")  # noqa: E731
    out = []
    for i in range(n):
        with unit_of_work():
            ex = registry.register_exchange(f"{prefix} Exchange {i}", f"{prefix}-{i:05d}", regulator, "drill", ())
            for month in range(1, 13):
                reports.record_volume(ex, date(2026, month, 1), "spot", yen(1_000_000_000), "drill")
            reports.record_custody(ex, date(2026, 12, 31), "hot", yen(1_000_000_000), "drill")
            reports.record_custody(ex, date(2026, 12, 31), "cold", yen(10_000_000_000), "drill")
            ob = obligations.compute(ex, "2027-Q1", "drill")
            p = policies.create(tokio, ex, f"{prefix}-P-{i:05d}", yen(100_000_000_000), yen(0), PERILS,
                                date(2026, 12, 1), date(2028, 11, 30), 90, "registered", "drill")
            attestations.sign_custodially(p, "drill")
            allocations.attach(ob, p.id, yen(10_000_000_000), "drill")
            cert = certificates.issue(ob, "drill")
            out.append({"exchange_id": ex.org_id, "policy_id": p.id, "number": p.number, "certificate_id": cert.id})
        db.session.expire_all()
    return out


def settle_deliveries() -> None:
    """Mark every pending outbox delivery done (the set-up's own events are not what a drill measures)."""
    from marketplace.events.models import Delivery
    from marketplace.extensions import db
    from marketplace.webhooks.models import WebhookDelivery

    db.session.execute(Delivery.__table__.update().where(Delivery.status == "pending").values(status="done"))
    db.session.execute(WebhookDelivery.__table__.update().where(WebhookDelivery.status == "pending")
                       .values(status="succeeded"))
    db.session.commit()


class Receiver:
    """tests.webhook_receiver.Receiver that also says when a request *arrives* (before any delay), so a drill
    can act while a send is in flight, and when each one was received (monotonic clock)."""

    def __init__(self, delay: float = 0.0):
        from tests import webhook_receiver

        self._inner = webhook_receiver.Receiver(0.0)
        self.delay = delay
        self.arrived = threading.Event()
        self.arrivals: list[float] = []
        self.received_at: dict[str, float] = {}  # webhook-id -> first time it was answered
        handler = self._inner.server.RequestHandlerClass
        original = handler.do_POST
        outer = self

        def do_post(h):
            # a request has arrived once its whole body is here: a sender killed while still writing it
            # delivered nothing (a real receiver would refuse the short body too)
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length)
            if len(body) < length:
                return
            h.rfile = io.BytesIO(body)
            outer.arrivals.append(time.monotonic())
            outer.arrived.set()
            if outer.delay:
                time.sleep(outer.delay)
            original(h)
            outer.received_at.setdefault(h.headers.get("webhook-id", ""), time.monotonic())

        handler.do_POST = do_post
        quiet = (BrokenPipeError, ConnectionResetError)  # a sender killed mid-request: expected in the drills
        server = self._inner.server
        noisy = server.handle_error
        server.handle_error = lambda request, address: None if isinstance(sys.exc_info()[1], quiet) \
            else noisy(request, address)

    def __enter__(self) -> Receiver:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._inner.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._inner, name)
