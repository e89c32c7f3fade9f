# ruff: noqa: E402  (the standard library's `http` must be importable first: see below)
"""The API over real HTTP (issue 15): gunicorn with the production configuration (docker/gunicorn.conf.py:
2 workers x 4 gthreads, MARKETPLACE_ENV=production with a generated SECRET_KEY and key-encryption key;
rate limiting off for the measurement) on PostgreSQL, a realistic world, CONNECTIONS concurrent clients.
Per route: req/s, p50, p99 and the ratio of req/s to GET /healthz measured in the same run on the same
server (measured first and again last; the ratios use the faster of the two, never a flattering slow one);
each gunicorn worker's peak RSS (VmHWM) and whether it stayed under 200 MB; per route, how the open connections
were spread over the workers (conns/worker, read from /proc two seconds in: "8/0" would mean one worker did it all).
A route whose connections landed lopsided (one worker holding over three quarters) is measured again, up to three
tries, and the least lopsided try is reported, with the placements tried: keep-alive connections stay where the
kernel put them at the start, and a worker holding them all leaves the other core idle.

The world: the demo (through its service functions: 3 regulators, insurers, the JP exchange's policies,
obligation and a real certificate), then bulk inserts: EXCHANGES exchanges across JP/EU/HK, each with a
2027-Q1 obligation on its jurisdiction's rule-set in force; INSURERS insurers approved by all three
regulators; OFFERINGS listed offerings, POLICIES policies and CERTIFICATES certificates; two years of daily
reference rates for ten currency pairs (FX_DAYS x FX_PAIRS, dated before the demo's own rates). The bulk
certificates are realistic rows (the demo certificate's JWS and credential, their own ids, obligations and
status-list slots, filling status lists as issuance would) -- issuing 100,000 through the service would take
longer than the whole bench; the certificates the issuance route makes during the run are real.

Routes: GET /healthz (baseline), POST /api/v1/verify (the demo's valid certificate), GET /api/v1/offerings
(exchange token), GET /api/v1/obligations/{id}/offset, POST /api/v1/certificates (issuance, cycling
through ISSUERS bench exchanges, each with its own token: each issuance supersedes that exchange's
previous certificate, and its answer carries the log receipt from the sequencer's batch). Load generator:
Debian's wrk (compiled, a Lua script per route for method, body and headers) when /usr/bin/wrk exists;
otherwise a Python client with a note (install: apt-get install -y wrk), which may then be the bottleneck.
The client shares the machine.

Run: .venv/bin/python bench/http_load.py [--seconds 20] [--exchanges 1000] [--insurers 50] [--offerings 100000]
       [--policies 100000] [--certificates 100000] [--connections 8] [--database-url URL | --next-to URL]
       [--only WORDS]
     --database-url: use that (empty or disposable!) database as is: its schema is dropped and migrated.
     Default: a fresh database mp_http_<pid> next to --next-to (default postgresql://postgres@127.0.0.1/postgres,
     else TEST_DATABASE_URL's server), created and dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file is named like the standard library's `http` package: keep bench/ off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import base64
import http.client
import itertools
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from marketplace.config import normalise_db_url

BIN = Path(sys.executable).parent
WRK = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
RSS_LIMIT_MB = 200
JURIS = (("JP", "JPY"), ("EU", "EUR"), ("HK", "HKD"))
PERILS = ["theft_hack", "insider_fraud", "operational_failure", "custodian_failure", "business_disruption"]
RATINGS = ("AAA", "AA", "A+", "A", "A-", "BBB")
FX_PAIRS = [("USD", "JPY"), ("EUR", "JPY"), ("HKD", "JPY"), ("USD", "EUR"), ("USD", "HKD"), ("EUR", "HKD"),
            ("GBP", "JPY"), ("GBP", "EUR"), ("CHF", "EUR"), ("SGD", "HKD")]
FX_DAYS = 730
BATCH = 5000
ISSUERS = 100  # exchanges the issuance route cycles through, each with its own client and token


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the world -------------------------------------------------------------------------------------------


def bulk(model, rows: list[dict]) -> None:
    from marketplace.extensions import db

    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start:start + BATCH])


def load_world(a) -> dict:
    from marketplace.allocations.models import Allocation  # noqa: F401  (mappers)
    from marketplace.auth import service as auth
    from marketplace.certificates.models import LIST_SIZE, Certificate, StatusList
    from marketplace.certificates.statuslists import FILL_LIMIT
    from marketplace.db import new_id
    from marketplace.demo import data
    from marketplace.demo.service import load
    from marketplace.domain.market import rate_e18
    from marketplace.extensions import db
    from marketplace.fx.models import FxRateRecord
    from marketplace.market.models import Offering
    from marketplace.obligations.models import ObligationRecord
    from marketplace.policies.models import Policy
    from marketplace.registry import service as registry
    from marketplace.registry.models import Exchange, InsurerApproval, Organization
    from marketplace.rulesets import service as rulesets

    load()  # the demo, through the services: real keys, attestations, obligation and certificate
    db.session.flush()
    regulators = {j: registry.ensure_regulator(name, j, "bench")[0] for name, j in data.REGULATORS}
    sakura = registry.find_exchange("Kanto-FB-00099", "JP")
    ob = db.session.scalar(select(ObligationRecord).filter_by(exchange_id=sakura.org_id))
    demo_cert = db.session.scalar(select(Certificate))
    in_force = {j: rulesets.in_force(j, date(2027, 1, 1)) for j, _ in JURIS}

    insurers = [{"id": new_id(), "kind": "insurer", "name": f"Bench Insurer {i:03d}", "rating": RATINGS[i % 6]}
                for i in range(a.insurers)]
    exchanges = [{"id": new_id(), "kind": "exchange", "name": f"Bench Exchange {e:04d}",
                  "jurisdiction": JURIS[e % 3][0]} for e in range(a.exchanges)]
    bulk(Organization, insurers + exchanges)
    bulk(InsurerApproval, [{"id": new_id(), "insurer_id": i["id"], "regulator_id": r.id, "status": "approved",
                            "rating": i["rating"]} for i in insurers for r in regulators.values()])
    bulk(Exchange, [{"org_id": e["id"], "licence_number": f"BENCH-{n:05d}", "jurisdiction": e["jurisdiction"],
                     "regulator_id": regulators[e["jurisdiction"]].id, "service_classes": "2,3" if
                     e["jurisdiction"] == "EU" else ""} for n, e in enumerate(exchanges)])
    currency = dict(JURIS)
    # two years of daily reference rates for ten pairs, as a platform that records them keeps them, all dated
    # before the demo's own (which stay the latest, so every report chooses what it chose before)
    kept = db.session.execute(select(FxRateRecord.base, FxRateRecord.quote, FxRateRecord.rate,
                                     FxRateRecord.as_of)).all()
    rate_of = {(b, q): r for b, q, r, _ in kept}
    last = min(d for *_, d in kept) - timedelta(days=1)
    pairs = list(dict.fromkeys([*sorted(rate_of), *FX_PAIRS]))[:len(FX_PAIRS)]  # the demo's pairs first
    bulk(FxRateRecord, [{"id": new_id(), "base": b, "quote": q, "rate": rate_of.get((b, q), "1.0"),
                         "as_of": last - timedelta(days=d), "source": "Bench reference"}
                        for b, q in pairs for d in range(FX_DAYS)])
    obligations = []
    for n, e in enumerate(exchanges):
        rs = in_force[e["jurisdiction"]]
        obligations.append({"id": new_id(), "exchange_id": e["id"], "period": "2027-Q1",
                            "period_start": date(2027, 1, 1), "period_end": date(2027, 3, 31), "revision": 1,
                            "ruleset_id": rs.id, "ruleset_version": rs.version, "ruleset_digest": rs.digest,
                            "total": 2_000_000_000 + (n * 7_919_000) % 3_000_000_000,
                            "currency": currency[e["jurisdiction"]], "lines": [],
                            "inputs_digest": "sha256:" + "0" * 64, "computed_by": "bench"})
    bulk(ObligationRecord, obligations)
    db.session.commit()

    offerings = []
    for n in range(a.offerings):
        j, cur = JURIS[n % 3]
        lo = 100_000_000 + (n % 17) * 10_000_000
        offerings.append({"id": new_id(), "insurer_id": insurers[n % a.insurers]["id"], "title": f"Bench cover {n}",
                          "perils": PERILS[:3 + n % 3], "jurisdictions": [j] if n % 4 else ["JP", "EU", "HK"],
                          "currency": cur, "min_limit": lo, "max_limit": lo * 10, "capacity": lo * 40,
                          "capacity_used": (n % 5) * lo, "deductible": lo // 10, "min_term_months": 6,
                          "max_term_months": 12 + 12 * (n % 3), "indicative_rate": f"0.0{10 + n % 9}",
                          "indicative_rate_e18": rate_e18(f"0.0{10 + n % 9}"),
                          "cancellation_notice_days": 90, "status": "listed" if n % 10 else "withdrawn"})
    bulk(Offering, offerings)
    del offerings
    db.session.commit()
    policies = []
    for n in range(a.policies):
        e = exchanges[n % a.exchanges]
        policies.append({"id": new_id(), "insurer_id": insurers[(n * 7) % a.insurers]["id"], "number": f"BP-{n:06d}",
                         "insured_id": e["id"], "currency": currency[e["jurisdiction"]],
                         "limit_amount": 1_000_000_000, "deductible": 10_000_000, "perils": PERILS[:3],
                         "territories": [e["jurisdiction"]], "term_start": date(2026, 10, 1),
                         "term_end": date(2028, 9, 30), "cancellation_notice_days": 90, "status": "active",
                         "revision": 1, "source": "registered"})
    bulk(Policy, policies)
    del policies
    db.session.commit()

    # certificates: realistic rows, filling status lists the way statuslists.assign() does (random slots up
    # to FILL_LIMIT per list, the demo's list first)
    rng = secrets.SystemRandom()
    lists = [db.session.get(StatusList, demo_cert.status_list_id)]
    taken = {demo_cert.status_index}
    now = datetime.now(UTC).replace(microsecond=0)
    certs = []
    for n in range(a.certificates):
        sl = lists[-1]
        if sl.used >= FILL_LIMIT - 1000:  # leave room: the run's issuances go to the demo list
            sl = StatusList(size=LIST_SIZE, bits=bytes(LIST_SIZE // 8), used=0)
            db.session.add(sl)
            db.session.flush()
            lists.append(sl)
            taken = set()
        while (index := rng.randrange(LIST_SIZE)) in taken:
            pass
        taken.add(index)
        sl.used += 1
        o = obligations[n % a.exchanges]
        certs.append({"id": new_id(), "obligation_id": o["id"], "exchange_id": o["exchange_id"], "period": "2027-Q1",
                      "kid": demo_cert.kid, "jws": demo_cert.jws, "credential": demo_cert.credential,
                      "status_list_id": sl.id, "status_index": index, "valid_from": now,
                      "valid_until": now + timedelta(days=90), "created_by": "bench",
                      **({"status": "valid"} if n >= a.certificates - a.exchanges else  # the newest per exchange
                         {"status": "revoked", "revoked_reason": "superseded", "revoked_at": now})})
        if len(certs) == BATCH:
            bulk(Certificate, certs)
            certs = []
    bulk(Certificate, certs)
    db.session.commit()

    clients = {}
    for name, org in (("exchange", sakura.org),):
        client, secret = auth.create_client(org, "bench", None, "bench")
        clients[name] = (client.client_id, secret)
    # the issuers: distinct exchanges (each issuance supersedes that exchange's previous certificate)
    issuers = []
    for e, o in list(zip(exchanges, obligations, strict=True))[:ISSUERS]:
        client, secret = auth.create_client(db.session.get(Organization, e["id"]), "bench", None, "bench")
        issuers.append((client.client_id, secret, o["id"]))
    db.session.commit()
    from marketplace.tlog import sequencer

    sequencer.integrate()  # the demo certificate's log entry (the demo command's nudge does this)
    db.session.commit()
    # statistics and visibility maps as autovacuum would leave them after such a load (VACUUM runs outside a
    # transaction)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return {"obligation": ob.id, "jws": demo_cert.jws, "clients": clients, "issuers": issuers}


def fresh_database(base: str) -> tuple[str, str]:
    url = make_url(normalise_db_url(base))
    name = f"mp_http_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def drop_database(base: str, name: str) -> None:
    admin = create_engine(make_url(normalise_db_url(base)), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- the server ----------------------------------------------------------------------------------------


def usable_redis(url: str) -> str | None:
    """The Redis database to use (flushed: this run owns it), or None for in-process jobs."""
    if url.lower() == "none":
        return None
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(url, socket_connect_timeout=1).flushdb()
        return url
    except RedisError:
        print(f"note: Redis at {url} is not reachable: jobs run in-process, inside the requests that nudge them")
        return None


class Server:
    """gunicorn, and with Redis an RQ worker and the scheduler (the deployment of DESIGN 9: jobs such as the
    event relay run there, not in the request that nudged them)."""

    def __init__(self, db_url: str, tmp: Path, env_extra: dict, redis_url: str | None = None, app: str = "wsgi:app"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MARKETPLACE_", "PROMETHEUS_", "GUNICORN_", "FLASK_"))
               and k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
        env.update(env_extra, PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", DATABASE_URL=db_url,
                   GUNICORN_BIND=f"127.0.0.1:{self.port}", MARKETPLACE_RATELIMIT_ENABLED="0",
                   MARKETPLACE_INSTANCE_PATH=str(tmp / "instance"), PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics"))
        if redis_url:
            env["REDIS_URL"] = redis_url
        self.log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen([str(BIN / "gunicorn"), "--config", "docker/gunicorn.conf.py", app],
                                     cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.jobs = [subprocess.Popen([str(BIN / "marketplace"), what], cwd=ROOT, env=env, stdout=self.log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                     for what in (("worker", "scheduler") if redis_url else ())]
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {tmp / 'gunicorn.log'}")
            time.sleep(0.1)
        self.peak_rss: dict[int, int] = {}  # sampled VmRSS, kB
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def spread(self) -> str:
        """How the load generator's open connections are spread over the workers now, e.g. "4/4" (from /proc):
        with one worker holding them all, that worker's core does all the work (docker/gunicorn.conf.py)."""
        port, inodes = self.port, set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(f"socket:[{fields[9]}]")
        counts = []
        for pid in self.workers():
            try:
                counts.append(sum(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir()))
            except OSError:
                counts.append(0)
        return "/".join(map(str, sorted(counts, reverse=True)))

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far, by part (from /proc): the web (gunicorn's master and workers), the jobs (the RQ
        worker and scheduler, with the work-horses they reaped), PostgreSQL's and Redis's processes, and the
        machine as a whole (every core's busy time, the load generator and this script included)."""
        tick = os.sysconf("SC_CLK_TCK")

        def used(pid: int, children: bool = False) -> float:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return 0.0
            return sum(int(f) for f in fields[11:15 if children else 13]) / tick

        by_name = {"postgres": 0.0, "redis-server": 0.0}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    name = (d / "comm").read_text().strip()
                except OSError:
                    continue
                if name in by_name:
                    by_name[name] += used(int(d.name))
        busy = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return {"web": sum(used(pid) for pid in [self.proc.pid, *self.workers()]),
                "jobs": sum(used(j.pid, children=True) for j in self.jobs), "postgres": by_name["postgres"],
                "redis": by_name["redis-server"], "machine": (sum(busy) - busy[3] - busy[4]) / tick}

    def workers(self) -> list[int]:
        try:
            path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    @staticmethod
    def status(pid: int, key: str) -> int | None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            for pid in self.workers():
                kb = self.status(pid, "VmRSS")
                if kb:
                    self.peak_rss[pid] = max(self.peak_rss.get(pid, 0), kb)

    def memory(self) -> dict[int, tuple[int, int]]:
        """pid -> (VmHWM kB, sampled peak VmRSS kB), for every worker seen."""
        live = {pid: self.status(pid, "VmHWM") or 0 for pid in self.workers()}
        return {pid: (max(live.get(pid, 0), rss), rss) for pid, rss in self.peak_rss.items()} | \
               {pid: (hwm, self.peak_rss.get(pid, 0)) for pid, hwm in live.items()}

    def stop(self) -> None:
        self._stop.set()
        for proc in [self.proc, *self.jobs]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.log.close()


def token(base: str, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    req = urllib.request.Request(base + "/oauth/token", data=b"grant_type=client_credentials",
                                 headers={"Authorization": f"Basic {basic}",
                                          "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["access_token"]


# --- load generators -------------------------------------------------------------------------------------

LUA = """wrk.method = {method}
wrk.body = {body}
{headers}
{rotate}
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.timeout,
    summary.errors.connect + summary.errors.read + summary.errors.write))
end
"""


def lua_str(s: str) -> str:
    return "[==[" + s + "]==]"


ROTATE = """requests_ = {{ {items} }}
local next_thread = 0
function setup(thread) thread:set("tid", next_thread); next_thread = next_thread + 1 end
function init(args) counter = tid * 50 end
function request()
  counter = counter + 1
  local r = requests_[(counter % #requests_) + 1]
  return wrk.format(wrk.method, wrk.path, r[1], r[2])
end
"""


def lua_rotation(route: dict) -> str:
    """A wrk script part cycling through (headers, body) pairs: the issuance route's many exchanges."""
    if not route.get("rotate"):
        return ""
    items = ", ".join("{ {" + ", ".join(f"[ {lua_str(k)} ] = {lua_str(v)}" for k, v in h.items()) + "}, "
                      + lua_str(b) + " }" for h, b in route["rotate"])
    return ROTATE.format(items=items)


def run_wrk(base: str, route: dict, seconds: float, conns: int, tmp: Path) -> dict:
    script = tmp / f"wrk-{abs(hash(route['name']))}.lua"
    headers = "\n".join(f"wrk.headers[ {lua_str(k)} ] = {lua_str(v)}" for k, v in route["headers"].items())
    script.write_text(LUA.format(method=lua_str(route["method"]), body=lua_str(route.get("body") or "") if
                                 route.get("body") else "nil", headers=headers, rotate=lua_rotation(route)))
    out = subprocess.run([WRK, "-t", "2", "-c", str(conns), "-d", f"{max(1, round(seconds))}s", "--timeout", "30s",
                          "-s", str(script), base + route["path"]], capture_output=True, text=True,
                         timeout=seconds + 120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk failed on {route['name']}: {out.stdout}\n{out.stderr}")
    n, dur_us, p50, p99, status_err, timeouts, sock = (int(x) for x in line.split()[1:])
    return {"n": n, "rps": n / (dur_us / 1e6), "p50": p50 / 1000, "p99": p99 / 1000,
            "errors": status_err + timeouts + sock}


def run_python(base: str, route: dict, seconds: float, conns: int, tmp: Path) -> dict:
    host, port = base.removeprefix("http://").split(":")
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    cycle = itertools.cycle(route.get("rotate") or [(route["headers"], route.get("body"))])

    def client():
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        mine, bad = [], 0
        while time.monotonic() < deadline:
            with lock:
                headers, body = next(cycle)
            t = time.perf_counter()
            try:
                c.request(route["method"], route["path"], body=body, headers=headers)
                r = c.getresponse()
                r.read()
                if r.status >= 400:
                    bad += 1
            except OSError:
                bad += 1
                c.close()
                c = http.client.HTTPConnection(host, int(port), timeout=30)
                continue
            mine.append(time.perf_counter() - t)
        c.close()
        with lock:
            lat.extend(mine)
            errors[0] += bad

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(conns)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - start
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    return {"n": len(lat), "rps": len(lat) / elapsed, "p50": (statistics.median(lat) if lat else float("nan")) * 1000,
            "p99": p99 * 1000, "errors": errors[0]}


def check(base: str, route: dict) -> None:
    host, port = base.removeprefix("http://").split(":")
    for headers, body in [(route["headers"], route.get("body")), *route.get("rotate", [])[:2]]:
        c = http.client.HTTPConnection(host, int(port), timeout=60)
        c.request(route["method"], route["path"], body=body, headers=headers)
        r = c.getresponse()
        payload = r.read()
        c.close()
        if r.status not in (200, 201) or (route["name"].startswith("POST /api/v1/verify") and
                                          not json.loads(payload).get("valid")):
            raise SystemExit(f"{route['name']}: {r.status} {payload[:500]!r}")


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def drain(server: Server, cap: float = 180.0) -> float:
    """Wait until the requests still in flight from the last route are done (the workers idle: under 2 CPU
    ticks in 0.2 s, three times in a row), so the next route is not timed against them; seconds waited."""
    start = time.monotonic()
    quiet = 0
    last = cpu_ticks(server.workers())
    while quiet < 3 and time.monotonic() - start < cap:
        time.sleep(0.2)
        now = cpu_ticks(server.workers())
        quiet = quiet + 1 if now - last < 2 else 0
        last = now
    return time.monotonic() - start


def alone(base: str, route: dict) -> float:
    """One request with nothing else running: ms."""
    host, port = base.removeprefix("http://").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=600)
    t = time.perf_counter()
    c.request(route["method"], route["path"], body=route.get("body"), headers=route["headers"])
    c.getresponse().read()
    c.close()
    return (time.perf_counter() - t) * 1000


PLACEMENTS = 3  # tries per route when one worker holds over three quarters of the connections


def lopsided_by(spread: str) -> float:
    """The largest worker's share of the connections over an even share: 0 for "4/4", 0.5 for "8/0"."""
    try:
        counts = [int(c) for c in spread.split("/")]
    except ValueError:
        return 0.0
    total = sum(counts)
    return max(counts) / total - 1 / len(counts) if total and counts else 0.0


def lopsided(spread: str) -> bool:
    return lopsided_by(spread) > 0.25


def timed(server: Server, runner, route: dict, a, tmp: Path) -> dict:
    """One timed run of a route: the load generator's figures, CPU per request by part, and the connections'
    spread over the workers two seconds in."""
    seen: list[str] = []
    timer = threading.Timer(min(2.0, a.seconds / 2), lambda: seen.append(server.spread()))
    timer.start()
    cpu_before = server.cpu()
    result = runner(server.base, route, a.seconds, a.connections, tmp)
    cpu_after = server.cpu()
    timer.join()
    result["cpu"] = {k: (cpu_after[k] - cpu_before[k]) * 1000 / max(result["n"], 1) for k in cpu_after}
    result["spread"] = seen[0] if seen else "?"
    return result


def placed(server: Server, runner, route: dict, a, tmp: Path) -> tuple[dict, float]:
    """A route timed, and again while one worker held over three quarters of its connections (up to PLACEMENTS
    tries): the least lopsided try (the first of equals) with the placements tried in "placements", and how long
    the workers took to go idle after the last. With keep-alive connections, wherever the kernel put them at the
    load generator's start they stay, and one worker holding them all leaves the other core idle."""
    tries, drained = [], 0.0
    for _ in range(PLACEMENTS):
        tries.append(timed(server, runner, route, a, tmp))
        drained = drain(server)
        if not lopsided(tries[-1]["spread"]):
            break
    best = min(tries, key=lambda t: lopsided_by(t["spread"]))
    best["placements"] = [t["spread"] for t in tries]
    return best, drained


# --- main -------------------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20, help="per route")
    p.add_argument("--exchanges", type=int, default=1000)
    p.add_argument("--insurers", type=int, default=50)
    p.add_argument("--offerings", type=int, default=100_000)
    p.add_argument("--policies", type=int, default=100_000)
    p.add_argument("--certificates", type=int, default=100_000)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--database-url")
    p.add_argument("--next-to", default=None)
    p.add_argument("--only", default="", help="measure only the routes whose name holds one of these comma-separated "
                   "words (the /healthz baseline always runs), e.g. --only certificates")
    p.add_argument("--python-client", action="store_true", help="use the Python load generator even with wrk")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/10",
                   help="a Redis database this run may flush (jobs go to an RQ worker); 'none': in-process jobs")
    a = p.parse_args()
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    (tmp / "instance").mkdir()
    kek = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    secret_key = secrets.token_urlsafe(48)
    base_url = "http://127.0.0.1:8000"
    admin = a.next_to or "postgresql://postgres@127.0.0.1/postgres"
    own = None
    if a.database_url:
        url = normalise_db_url(a.database_url)
    else:
        url, own = fresh_database(admin)
    server = None
    try:
        from tests.conftest import make_app, migrate_to_head

        migrate_to_head(url, tmp / "instance")
        app = make_app(url, tmp / "instance", KEY_ENCRYPTION_KEY=kek, SECRET_KEY=secret_key, BASE_URL=base_url,
                       LOG_LEVEL="WARNING", TESTING=False)
        t = time.perf_counter()
        with app.app_context():
            world = load_world(a)
            from marketplace.extensions import db

            db.engine.dispose()
        loaded = time.perf_counter() - t
        redis_url = usable_redis(a.redis)
        server = Server(url, tmp, {"MARKETPLACE_ENV": "production", "SECRET_KEY": secret_key,
                                   "MARKETPLACE_KEY_ENCRYPTION_KEY": kek, "MARKETPLACE_BASE_URL": base_url},
                        redis_url)
        bearer = token(server.base, *world["clients"]["exchange"])
        auth = {"Authorization": f"Bearer {bearer}"}
        js = {"Content-Type": "application/json"}
        routes = [
            {"name": "GET /healthz", "method": "GET", "path": "/healthz", "headers": {}},
            {"name": "POST /api/v1/verify (valid)", "method": "POST", "path": "/api/v1/verify", "headers": js,
             "body": json.dumps({"certificate": world["jws"]})},
            {"name": "GET /api/v1/offerings (token)", "method": "GET", "path": "/api/v1/offerings",
             "headers": auth},
            {"name": "GET /api/v1/obligations/{id}/offset", "method": "GET",
             "path": f"/api/v1/obligations/{world['obligation']}/offset", "headers": auth},
            {"name": "POST /api/v1/certificates", "method": "POST", "path": "/api/v1/certificates",
             "headers": auth | js, "body": json.dumps({"obligation": world["obligation"]}),
             "rotate": [({"Authorization": f"Bearer {token(server.base, cid, sec)}"} | js,
                         json.dumps({"obligation": ob_id})) for cid, sec, ob_id in world["issuers"]]},
        ]
        wanted = [w for w in a.only.split(",") if w]
        routes = [r for i, r in enumerate(routes) if i == 0 or not wanted or any(w in r["name"] for w in wanted)]
        for r in routes:
            check(server.base, r)  # each answers 2xx (and the certificate verifies) before it is timed
        use_wrk = WRK is not None and not a.python_client
        runner = run_wrk if use_wrk else run_python
        runner(server.base, routes[0], 1, a.connections, tmp)  # warm-up (connections, first requests), not counted
        drain(server)
        results, drained = {}, {}
        for r in routes:
            best, drained[r["name"]] = placed(server, runner, r, a, tmp)
            results[r["name"]] = best
            if best["n"] < 2 * a.connections:  # too few to say much: time one request alone
                best["alone"] = alone(server.base, r)
                drain(server)
        # the baseline again, last: a first run is often slow while the freshly loaded database settles, and a slow
        # baseline flatters every ratio of the run; the ratios use the faster of the two
        again = timed(server, runner, routes[0], a, tmp)
        memory = server.memory()
        if any(r["errors"] for r in results.values()):  # say why, from the server's own log
            log_lines = (tmp / "gunicorn.log").read_text(errors="replace").splitlines()
            wanted = [ln for ln in log_lines if '"level": "error"' in ln or '"level": "warning"' in ln
                      or "/api/v1/certificates" in ln]
            print("errors: the server's log says:\n" + "\n".join(
                ln[-2500:] if "Traceback" in ln else ln[:400] for ln in wanted)[-4000:])
            (Path("/tmp") / "bench-http-errors.log").write_text("\n".join(wanted))
    finally:
        if server is not None:
            server.stop()
        if own:
            drop_database(admin, own)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"PostgreSQL, gunicorn docker/gunicorn.conf.py (2 workers x 4 threads, MARKETPLACE_ENV=production, "
          f"rate limiting off), {os.cpu_count()} CPUs shared with the client"
          + (f"; Redis {redis_url} with one RQ worker and the scheduler (on the same CPUs)" if redis_url else
             "; no Redis: jobs in-process"))
    print(f"world: {a.exchanges} exchanges (JP/EU/HK), {a.insurers} insurers, {a.offerings} offerings, "
          f"{a.policies} policies, {a.certificates} certificates, {FX_DAYS} days of reference rates for "
          f"{len(FX_PAIRS)} pairs (bulk rows) + the demo; loaded in {loaded:.0f} s")
    if use_wrk:
        print(f"load generator: wrk ({WRK}, compiled; 2 threads), {a.connections} connections, "
              f"{a.seconds:.0f} s per route")
    else:
        print(f"load generator: Python threads, {a.connections} connections, {a.seconds:.0f} s per route -- "
              "NOTE: wrk not used (install: apt-get install -y wrk); the Python client may be the bottleneck, "
              "so /healthz and the ratios are understated")
    first = results["GET /healthz"]["rps"]
    base = max(first, again["rps"])
    print(f"baseline GET /healthz: {first:.1f} req/s first, {again['rps']:.1f} req/s again after the other routes "
          f"(connections per worker {again['spread']}); ratios use the faster, {base:.1f}")
    print(f"{'route':<38}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'ratio to /healthz':>20}{'requests':>10}"
          f"{'errors':>8}{'conns/worker':>14}")
    for name, r in results.items():
        print(f"{name:<38}{r['rps']:>10.1f}{r['p50']:>10.1f}{r['p99']:>10.1f}{r['rps'] / base:>20.3f}{r['n']:>10}"
              f"{r['errors']:>8}{r['spread']:>14}")
    print("CPU per request, ms (from /proc over each route's timed window; the machine's figure is every core's busy "
          "time, the load generator's included; the jobs' work may trail into the next route):")
    print(f"{'route':<38}" + "".join(f"{k:>10}" for k in ("web", "postgres", "jobs", "redis", "machine")))
    for name, r in results.items():
        print(f"{name:<38}" + "".join(f"{r['cpu'][k]:>10.2f}" for k in ("web", "postgres", "jobs", "redis", "machine")))
    for name, r in results.items():
        if "alone" in r:
            print(f"{name}: only {r['n']} completed in {a.seconds:.0f} s with {a.connections} connections; "
                  f"one request alone (server otherwise idle) took {r['alone'] / 1000:.1f} s")
    retried = {name: r["placements"] for name, r in results.items() if len(r["placements"]) > 1}
    if retried:
        print("measured again when one worker held over three quarters of the connections (the least lopsided "
              "try is shown): " + ", ".join(f"{name} {' then '.join(p)}" for name, p in retried.items()))
    slow = {name: s for name, s in drained.items() if s > 1}
    if slow:
        print("still in flight after the timed window (waited for idle workers before the next route): " +
              ", ".join(f"{name} {s:.0f} s" for name, s in slow.items()))
    print("ratios (req/s / GET /healthz req/s): " + ", ".join(
        f"{name.split(' (')[0]} {r['rps'] / base:.3f}" for name, r in results.items() if name != "GET /healthz"))
    over = False
    for pid, (hwm, rss) in sorted(memory.items()):
        mb = max(hwm, rss) / 1024
        over |= mb >= RSS_LIMIT_MB
        print(f"gunicorn worker {pid}: max RSS {mb:.0f} MB (VmHWM {hwm / 1024:.0f} MB, sampled VmRSS peak "
              f"{rss / 1024:.0f} MB)")
    print(f"memory: every worker {'stayed under' if not over else 'did NOT stay under'} {RSS_LIMIT_MB} MB RSS "
          f"({len(memory)} workers seen)")
    print(f"total time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
