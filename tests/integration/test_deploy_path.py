"""The deployment path: docker/compose.yaml runs the README's "Deploying" steps (one source of truth), and
those steps, run by hand as subprocesses against PostgreSQL and Redis, give a working service: migrate,
bootstrap, gunicorn with docker/gunicorn.conf.py (2 workers, metrics added up across them), `marketplace
worker` and `marketplace scheduler` (which refuse a database that is not migrated, and a missing REDIS_URL).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import runpy
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from marketplace import create_app
from marketplace.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STEPS = ("migrate", "bootstrap", "web", "worker", "scheduler")
STEP = re.compile(r"^ {4}(?P<cmd>\S.*?)\s+# step: (?P<name>\w+)\s*$")
EXPORT = re.compile(r"^ {4}export (?P<name>[A-Z_][A-Z0-9_]*)=")
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def deploy_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Deploying\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def readme_steps() -> dict[str, tuple[dict[str, str], list[str]]]:
    """step name -> (environment assignments before the command, argv), in README order."""
    steps = {}
    for line in deploy_section().splitlines():
        m = STEP.match(line)
        if m:
            argv = shlex.split(m["cmd"])
            env = {}
            while argv and ASSIGNMENT.match(argv[0]):
                key, _, val = argv.pop(0).partition("=")
                env[key] = val
            steps[m["name"]] = (env, argv)
    return steps


def readme_exports() -> list[str]:
    return [m["name"] for line in deploy_section().splitlines() if (m := EXPORT.match(line))]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())  # merge keys (<<) resolved


def app_services(doc: dict) -> dict[str, dict]:
    return {name: s for name, s in doc["services"].items() if "build" in s}


# --- one source of truth (no services needed) ----------------------------------------------------------


def test_compose_runs_exactly_the_readme_steps():
    steps, doc = readme_steps(), compose()
    assert tuple(steps) == STEPS
    services = app_services(doc)
    assert set(services) == set(STEPS)
    for name, (env, argv) in steps.items():
        assert services[name]["command"] == argv, name
        for key, val in env.items():  # PROMETHEUS_MULTIPROC_DIR for the web
            assert services[name]["environment"][key] == val, (name, key)
    assert "PROMETHEUS_MULTIPROC_DIR" in steps["web"][0]
    assert steps["worker"][1] == ["marketplace", "worker"] and steps["scheduler"][1] == ["marketplace", "scheduler"]
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "docker" / "Dockerfile").read_text(), re.M)[1]
    assert json.loads(cmd) == steps["web"][1]  # the image's default command is the web step too
    # every variable compose sets without an empty default is one the README exports
    exported = set(readme_exports())
    for name, service in services.items():
        for key, val in service["environment"].items():
            if key not in steps[name][0] and not re.fullmatch(r"\$\{\w+:-\}", str(val)):
                assert key in exported, (name, key)
    # order: migrate first; bootstrap and the long-running services after it succeeded
    assert {"postgres", "redis"} <= set(services["migrate"]["depends_on"])
    for name in ("bootstrap", "web", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["restart"] == services["bootstrap"]["restart"] == "no"


def test_compose_fails_fast_without_the_secrets():
    for name, service in app_services(compose()).items():
        env = service["environment"]
        assert re.fullmatch(r"\$\{MARKETPLACE_KEY_ENCRYPTION_KEY:\?.+\}", env["MARKETPLACE_KEY_ENCRYPTION_KEY"]), name
        assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", env["SECRET_KEY"]), name
        assert env["MARKETPLACE_ENV"] == "production"


def test_production_refuses_to_start_without_a_usable_key_encryption_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.delenv("MARKETPLACE_KEY_ENCRYPTION_KEY", raising=False)
    with pytest.raises(ConfigError, match="MARKETPLACE_KEY_ENCRYPTION_KEY must be set"):
        create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})
    monkeypatch.setenv("MARKETPLACE_KEY_ENCRYPTION_KEY", "too-short")
    with pytest.raises(ConfigError, match="32 bytes"):
        create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})
    monkeypatch.setenv("MARKETPLACE_KEY_ENCRYPTION_KEY", new_kek())
    create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})


def new_kek() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def test_gunicorn_conf_hooks_and_logging(tmp_path, monkeypatch):
    metrics = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics))
    monkeypatch.setenv("MARKETPLACE_ENV", "production")
    monkeypatch.delenv("MARKETPLACE_LOG_FORMAT", raising=False)
    conf = runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))
    metrics.mkdir()
    (metrics / "histogram_1.db").write_bytes(b"stale")
    conf["on_starting"](_server([]))
    assert list(metrics.iterdir()) == []  # an earlier run's samples are not counted again
    for name in ("gauge_liveall_4242.db", "histogram_4242.db"):
        (metrics / name).write_bytes(b"")
    conf["child_exit"](None, SimpleNamespace(pid=4242))
    assert sorted(p.name for p in metrics.iterdir()) == ["histogram_4242.db"]  # counts stay; live gauges go
    assert conf["accesslog"] is None  # the app writes the access lines
    _no_access_records(conf)
    formatter = conf["logconfig_dict"]["formatters"]["marketplace"]["()"]
    assert formatter.__name__ == "JsonFormatter"


def _server(addresses: list) -> SimpleNamespace:
    logged = []
    return SimpleNamespace(cfg=SimpleNamespace(address=addresses), logged=logged,
                           log=SimpleNamespace(info=lambda msg, *args: logged.append(msg % args)))


def test_gunicorn_refuses_an_address_another_server_listens_on(monkeypatch):
    """Workers listen with SO_REUSEPORT (the kernel spreads connections across them), which would let a second
    server of the same user share the port unnoticed: the master first binds the address plainly, and a taken
    address stops it."""
    monkeypatch.delenv("GUNICORN_REUSE_PORT", raising=False)
    conf = runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))
    assert conf["reuse_port"] is True
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=f"127.0.0.1:{port} is already in use"):
            conf["on_starting"](_server([("127.0.0.1", port)]))
    free = _server([("127.0.0.1", _free_port())])
    conf["on_starting"](free)  # a free address: no complaint, and the log says how the workers listen
    assert free.logged and "SO_REUSEPORT" in free.logged[0]
    monkeypatch.setenv("GUNICORN_BIND", "unix:/tmp/marketplace.sock")
    assert runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))["reuse_port"] is False
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8000")
    monkeypatch.setenv("GUNICORN_REUSE_PORT", "0")
    assert runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))["reuse_port"] is False


def _listening_sockets(port: int) -> dict[int, int]:
    """{socket inode: pid} of the TCP sockets listening on this port, from /proc (no tool needed)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(int(fields[9]))
    owners = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                    owners[int(link[8:-1])] = int(proc.name)
        except OSError:  # a process that ended meanwhile, or not ours to read
            continue
    return owners


def _no_access_records(conf):
    """gunicorn's own Logger, given a logconfig_dict, builds an access record for every request (which no
    handler takes); the configured logger builds none."""
    import logging

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    cfg = Config()
    cfg.set("logconfig_dict", conf["logconfig_dict"])
    seen = []
    handler = logging.Handler()
    handler.emit = seen.append
    resp = SimpleNamespace(status="200 OK", headers=[], response_length=2, sent=2)
    req = SimpleNamespace(headers=[], method="GET", path="/healthz", query="", uri="/healthz", version=(1, 1))
    environ = {"REMOTE_ADDR": "127.0.0.1", "RAW_URI": "/healthz", "SERVER_PROTOCOL": "HTTP/1.1",
               "REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "QUERY_STRING": ""}
    counts = {}
    for cls in (Logger, conf["logger_class"]):
        log = cls(cfg)
        log.access_log.addHandler(handler)
        try:
            before = len(seen)
            log.access(resp, req, environ, datetime.timedelta(milliseconds=3))
            counts[cls.__name__] = len(seen) - before
        finally:
            log.access_log.removeHandler(handler)
    assert counts == {"Logger": 1, "AppLogger": 0}


# --- the steps, run by hand (PostgreSQL + Redis) ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def services(tmp_path):
    """A database of its own next to TEST_DATABASE_URL's (created, and dropped afterwards) and TEST_REDIS_URL."""
    from redis import Redis
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from marketplace.config import normalise_db_url

    url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not url or not redis_url:
        pytest.skip("needs PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL); .ci/run always sets them")
    base = make_url(normalise_db_url(url))
    name = f"{base.database}_deploy_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    redis = Redis.from_url(redis_url)
    redis.flushdb()  # integration tests own this Redis database (as tests/integration/test_jobs.py does)
    try:
        yield base.set(database=name).render_as_string(hide_password=False), redis_url
    finally:
        redis.flushdb()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Started:
    """The processes this test started (and only those), each writing to its own files."""

    def __init__(self, tmp: Path):
        self.tmp, self.procs = tmp, []

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        out, err = (open(self.tmp / f"{name}.{s}", "w") for s in ("out", "err"))  # noqa: SIM115
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        out.close()
        err.close()
        self.procs.append(proc)
        return proc

    def output(self, name: str, stream: str = "err") -> str:
        return (self.tmp / f"{name}.{stream}").read_text()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _get(url: str, headers: dict | None = None, data: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _wait_for(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _samples(body: bytes) -> dict:
    return {(s.name, frozenset(s.labels.items())): s.value
            for f in text_string_to_metric_families(body.decode()) for s in f.samples}


def test_the_readme_steps_by_hand(services, tmp_path):
    db_url, redis_url = services
    steps = readme_steps()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_dir = tmp_path / "prometheus"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MARKETPLACE_", "PROMETHEUS_", "GUNICORN_", "FLASK_"))
           and k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", MARKETPLACE_ENV="production", DATABASE_URL=db_url,
               REDIS_URL=redis_url, SECRET_KEY="deploy-test-secret-key", MARKETPLACE_KEY_ENCRYPTION_KEY=new_kek(),
               MARKETPLACE_BASE_URL=base, MARKETPLACE_INSTANCE_PATH=str(tmp_path / "instance"),
               GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2")
    assert set(readme_exports()) <= set(env)  # every variable the README has a newcomer set

    def run(name: str, extra_env: dict | None = None, **kw) -> subprocess.CompletedProcess:
        step_env, argv = steps[name]
        return subprocess.run(argv, cwd=ROOT, env={**env, **step_env, **(extra_env or {})}, capture_output=True,
                              text=True, timeout=120, **kw)

    # the worker refuses a database that is not migrated, and a missing REDIS_URL (exit 2, one clear line)
    r = run("worker")  # (the scheduler shares the check: jobs/commands.py)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "is at migration none" in r.stderr and "flask --app wsgi db upgrade" in r.stderr, r.stderr
    no_redis = {k: v for k, v in env.items() if k != "REDIS_URL"}
    r = subprocess.run(steps["worker"][1], cwd=ROOT, env=no_redis, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "needs REDIS_URL" in r.stderr, (r.stdout, r.stderr)

    r = run("migrate")
    assert r.returncode == 0, r.stderr
    r = run("bootstrap")
    assert r.returncode == 0, r.stderr
    client_id = re.search(r"client_id:\s+(\S+)", r.stdout)[1]
    client_secret = re.search(r"client_secret:\s+(\S+)", r.stdout)[1]
    again = run("bootstrap")
    assert again.returncode == 0 and "already exists" in again.stdout and "client_secret" not in again.stdout

    started = Started(tmp_path)
    try:
        web_env = {**env, **steps["web"][0], "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        web = started.start("web", steps["web"][1], web_env)
        worker = started.start("worker", steps["worker"][1], {**env, **steps["worker"][0]})
        started.start("scheduler", steps["scheduler"][1], {**env, **steps["scheduler"][0]})

        def ready():
            assert web.poll() is None, started.output("web")
            try:
                status, body = _get(f"{base}/readyz")
            except OSError:
                return None
            return status == 200 and json.loads(body)

        assert _wait_for(ready, "gunicorn /readyz")["migrations"] == "at head"
        assert _get(f"{base}/healthz")[0] == 200

        # the scheduler enqueues the relay at once; the worker runs it against this database
        _wait_for(lambda: "Job OK" in started.output("worker"), "the worker to run a scheduled job")
        assert worker.poll() is None
        assert f"queue {redis_url}" in started.output("worker", "out")
        assert "deploy_" in started.output("worker", "out")  # it names the database it serves

        # the API through the real stack, with the bootstrap credentials
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        status, body = _get(f"{base}/oauth/token", {"Authorization": f"Basic {basic}",
                                                    "Content-Type": "application/x-www-form-urlencoded"},
                            b"grant_type=client_credentials")
        assert status == 200, body
        token = json.loads(body)["access_token"]
        status, _ = _get(f"{base}/api/v1/organizations", {"Authorization": f"Bearer {token}",
                                                          "X-Request-ID": "deploy-req-1"})
        assert status == 200

        # /healthz from many connections at once until both workers have answered some
        sent = 1  # the one above
        pids: set[str] = set()
        with ThreadPoolExecutor(16) as pool:
            for _ in range(10):
                codes = list(pool.map(lambda _: _get(f"{base}/healthz")[0], range(100)))
                assert set(codes) == {200}
                sent += len(codes)
                pids = {p.name.split("_")[-1] for p in metrics_dir.glob("histogram_*.db")}
                if len(pids) >= 2:
                    break
        assert len(pids) == 2, "both gunicorn workers answered requests"
        # each worker listens on a socket of its own (SO_REUSEPORT); the master holds none
        owners = _listening_sockets(port)
        assert len(owners) == 2 and len(set(owners.values())) == 2 and web.pid not in owners.values(), owners
        # a second server on the same address refuses to start, and the first keeps serving
        again = subprocess.run(steps["web"][1], cwd=ROOT, env=web_env, capture_output=True, text=True, timeout=60)
        assert again.returncode != 0 and f"127.0.0.1:{port} is already in use" in again.stderr, again.stderr
        assert _get(f"{base}/healthz")[0] == 200
        sent += 1
        healthz = ("marketplace_http_request_duration_seconds_count",
                   frozenset({"route": "/healthz", "method": "GET", "status": "2xx"}.items()))
        for _ in range(4):  # whichever worker answers the scrape, it adds up both workers' samples
            status, body = _get(f"{base}/metrics")
            assert status == 200
            m = _samples(body)
            assert m[healthz] == sent
        token_route = ("marketplace_http_request_duration_seconds_count",
                       frozenset({"route": "/oauth/token", "method": "POST", "status": "2xx"}.items()))
        assert m[token_route] == 1
        assert m[("marketplace_metrics_source_up", frozenset({("source", "database")}))] == 1
        assert m[("marketplace_metrics_source_up", frozenset({("source", "queue")}))] == 1
        assert ("marketplace_queue_depth", frozenset()) in m and ("marketplace_outbox_lag_seconds", frozenset()) in m
        assert client_secret.encode() not in body and token.encode() not in body
    finally:
        started.stop()

    # logs: JSON lines (gunicorn's own too), with request ids, and no secret anywhere
    web_log = started.output("web")
    records = [json.loads(line) for line in web_log.splitlines() if line.strip()]
    assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in records)
    assert not any(r["logger"].startswith("alembic") for r in records)  # no chatter per /readyz probe
    access = [r for r in records if r.get("request_id") == "deploy-req-1"]
    assert access and access[0]["logger"] == "marketplace.access" and access[0]["route"] == "/api/v1/organizations"
    for name in ("web", "worker", "scheduler"):
        for stream in ("out", "err"):
            text = started.output(name, stream)
            for secret in (client_secret, token, env["MARKETPLACE_KEY_ENCRYPTION_KEY"], env["SECRET_KEY"]):
                assert secret not in text, (name, stream)
    for line in started.output("worker").splitlines():
        assert json.loads(line)["logger"]  # the worker's log lines are JSON too

