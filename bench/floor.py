"""What this stack can do at best on this machine (issue 15): the floor under the HTTP bench's targets.

bench/http_load.py measures our routes against GET /healthz. This measures, on the same server set-up (gunicorn,
docker/gunicorn.conf.py, production configuration, PostgreSQL, wrk), routes that do only the irreducible part
of those routes' work, through none of our layers (bench/floor_app.py: wsgi.py's app with four extra routes):
- /floor/read: one round trip to the database (an answer that must see the latest committed state pays it);
- /floor/reads: two (a bearer token's row, then the data);
- /floor/verify: a verification's least (the body's JSON, the JWS decoded, one Ed25519 signature, one round trip);
- /floor/writes/N: N one-row INSERTs in one transaction and its commit (a write path such as issuance).
Our own routes (verify, offerings, offset) run in the same session against the same baseline, on the demo's
world (the sizes of bench/http_load.py's world change our plans little: see its figures).

From the writes it derives what one statement of a write path costs the machine (the slope from 1 to 25
INSERTs) and so the most a route doing a given number of statements can serve on these 2 cores.

Run: .venv/bin/python bench/floor.py [--seconds 15] [--connections 8]   (about 4 minutes)
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("http_load", ROOT / "bench" / "http_load.py")
hl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hl)

WRITES = (1, 10, 25)


def world() -> dict:
    """The demo (through its services), a token client for its exchange, and the floor's table."""
    from sqlalchemy import select, text

    from marketplace.auth import service as auth
    from marketplace.certificates.models import Certificate
    from marketplace.demo.service import load
    from marketplace.extensions import db
    from marketplace.obligations.models import ObligationRecord
    from marketplace.registry import service as registry
    from marketplace.tlog import sequencer

    load()
    db.session.flush()
    sakura = registry.find_exchange("Kanto-FB-00099", "JP")
    ob = db.session.scalar(select(ObligationRecord).filter_by(exchange_id=sakura.org_id))
    cert = db.session.scalar(select(Certificate))
    client, secret = auth.create_client(sakura.org, "floor", None, "bench")
    db.session.execute(text("CREATE TABLE floor_rows (id bigserial PRIMARY KEY, body text NOT NULL)"))
    db.session.commit()
    sequencer.integrate()
    db.session.commit()
    return {"obligation": ob.id, "jws": cert.jws, "client": (client.client_id, secret)}


def routes(base: str, w: dict) -> list[dict]:
    bearer = hl.token(base, *w["client"])
    auth, js = {"Authorization": f"Bearer {bearer}"}, {"Content-Type": "application/json"}
    verify_body = json.dumps({"certificate": w["jws"]})
    return [
        {"name": "GET /healthz", "method": "GET", "path": "/healthz", "headers": {}},
        {"name": "floor: 1 read", "method": "GET", "path": "/floor/read", "headers": {}},
        {"name": "floor: 2 reads", "method": "GET", "path": "/floor/reads", "headers": {}},
        {"name": "floor: verify", "method": "POST", "path": "/floor/verify", "headers": js, "body": verify_body},
        *({"name": f"floor: {n} writes + commit", "method": "POST", "path": f"/floor/writes/{n}", "headers": {}}
          for n in WRITES),
        {"name": "ours: POST /api/v1/verify", "method": "POST", "path": "/api/v1/verify", "headers": js,
         "body": verify_body},
        {"name": "ours: GET /api/v1/offerings", "method": "GET", "path": "/api/v1/offerings", "headers": auth},
        {"name": "ours: GET .../offset", "method": "GET", "path": f"/api/v1/obligations/{w['obligation']}/offset",
         "headers": auth},
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=15, help="per route")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--next-to", default="postgresql://postgres@127.0.0.1/postgres")
    a = p.parse_args()
    if hl.WRK is None:
        raise SystemExit("this bench needs wrk (apt-get install -y wrk): a Python client would be the bottleneck")
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    (tmp / "instance").mkdir()
    kek = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    secret_key, base_url = secrets.token_urlsafe(48), "http://127.0.0.1:8000"
    url, own = hl.fresh_database(a.next_to)
    server = None
    try:
        from tests.conftest import make_app, migrate_to_head

        migrate_to_head(url, tmp / "instance")
        app = make_app(url, tmp / "instance", KEY_ENCRYPTION_KEY=kek, SECRET_KEY=secret_key, BASE_URL=base_url,
                       LOG_LEVEL="WARNING", TESTING=False)
        with app.app_context():
            w = world()
            from marketplace.extensions import db

            db.engine.dispose()
        server = hl.Server(url, tmp, {"MARKETPLACE_ENV": "production", "SECRET_KEY": secret_key,
                                      "MARKETPLACE_KEY_ENCRYPTION_KEY": kek, "MARKETPLACE_BASE_URL": base_url},
                           app="bench.floor_app:app")
        rs = routes(server.base, w)
        for r in rs:
            hl.check(server.base, r)
        hl.run_wrk(server.base, rs[0], 1, a.connections, tmp)  # warm-up, not counted
        hl.drain(server)
        results = {}
        for r in rs:
            results[r["name"]] = hl.placed(server, hl.run_wrk, r, a, tmp)[0]
        again = hl.timed(server, hl.run_wrk, rs[0], a, tmp)
    finally:
        if server is not None:
            server.stop()
        hl.drop_database(a.next_to, own)
        shutil.rmtree(tmp, ignore_errors=True)

    base = max(results["GET /healthz"]["rps"], again["rps"])
    print(f"PostgreSQL, gunicorn docker/gunicorn.conf.py (2 workers x 4 threads, production configuration, rate "
          f"limiting off), {os.cpu_count()} CPUs shared with wrk (2 threads, {a.connections} connections, "
          f"{a.seconds:.0f} s per route); the demo's world")
    print(f"baseline GET /healthz: {results['GET /healthz']['rps']:.0f} req/s first, {again['rps']:.0f} again; "
          f"ratios use the faster, {base:.0f}")
    print(f"{'route':<34}{'req/s':>9}{'p99 ms':>9}{'ratio':>8}{'machine CPU ms/req':>20}{'web':>7}{'postgres':>10}"
          f"{'conns/worker':>14}")
    for name, r in results.items():
        c = r["cpu"]
        print(f"{name:<34}{r['rps']:>9.0f}{r['p99']:>9.1f}{r['rps'] / base:>8.3f}{c['machine']:>20.2f}"
              f"{c['web']:>7.2f}{c['postgres']:>10.2f}{r['spread']:>14}")
    errors = {name: r["errors"] for name, r in results.items() if r["errors"]}
    if errors:
        print(f"ERRORS: {errors}")
    first, last = (results[f"floor: {n} writes + commit"]["cpu"]["machine"] for n in (WRITES[0], WRITES[-1]))
    per_statement = (last - first) / (WRITES[-1] - WRITES[0])
    healthz_cpu = results["GET /healthz"]["cpu"]["machine"]
    commit = first - per_statement - healthz_cpu
    print(f"one statement of a write path costs the machine {per_statement:.3f} ms (slope from {WRITES[0]} to "
          f"{WRITES[-1]} INSERTs); a write's commit with its one INSERT, beyond /healthz's {healthz_cpu:.2f} ms: "
          f"{first - healthz_cpu:.2f} ms")
    cores = os.cpu_count() or 1
    print("so the most a write route can serve on these cores, from its statements alone (no Python work of its own):")
    for k in (10, 15, 20, 30):
        ceiling = cores * 1000 / (healthz_cpu + max(commit, 0) + k * per_statement)
        print(f"  {k:>3} statements and a commit: {ceiling:6.0f} req/s")
    print(f"total time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
