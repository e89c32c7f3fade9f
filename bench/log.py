"""Transparency-log bench on PostgreSQL: append rate, inclusion/consistency proof p50/p99 at 1,000,000
entries, next to raw SHA-256 node hashes/s measured in the same run.

The append rate is measured on the real path (sequencer lock, entry, leaf and completed subtrees);
the remaining entries are bulk-loaded (COPY) with the same hashing so the bench ends in minutes.
Run: .venv/bin/python bench/log.py [entries] [postgres server URL]
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time

import psycopg

sys.path.insert(0, ".")
from marketplace import create_app
from marketplace.domain import merkle

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
SERVER = sys.argv[2] if len(sys.argv) > 2 else "postgresql://postgres@127.0.0.1:5432/postgres"
REAL_APPENDS = 2_000


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def raw_hash_rate(seconds: float = 1.0) -> float:
    left, right, n, start = os.urandom(32), os.urandom(32), 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            hashlib.sha256(b"\x01" + left + right).digest()
        n += 1000
    return n / (time.perf_counter() - start)


def bulk_load(conn, start: int, end: int, leaves: dict[tuple[int, int], bytes]) -> None:
    """Entries [start, end) and every subtree they complete, with the append path's hashing."""
    with conn.cursor() as cur:
        with cur.copy("COPY tlog_entries (idx, kind, data, created_at) FROM STDIN") as cp:
            for i in range(start, end):
                data = i.to_bytes(8, "big") * 8
                cp.write_row((i, "issuance", data, "2026-11-25T00:00:00Z"))
                leaves[(0, i)] = merkle.leaf_hash(data)
        nodes = []
        for i in range(start, end):
            h, level, j = leaves[(0, i)], 0, i
            nodes.append((0, i, h))
            while j % 2 == 1:
                h, level, j = merkle.node_hash(leaves[(level, j - 1)], h), level + 1, j // 2
                leaves[(level, j)] = h
                nodes.append((level, j, h))
        with cur.copy("COPY tlog_nodes (level, idx, hash) FROM STDIN") as cp:
            for row in nodes:
                cp.write_row(row)
        cur.execute("UPDATE tlog_state SET size = %s WHERE id = 1", (end,))


def main() -> None:
    name = f"bench_log_{os.getpid()}"
    admin = psycopg.connect(SERVER, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = SERVER.rsplit("/", 1)[0] + f"/{name}"
    try:
        run(url.replace("postgresql://", "postgresql+psycopg://"), url)
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def run(sa_url: str, pg_url: str) -> None:
    from flask_migrate import upgrade

    from marketplace.extensions import db
    from marketplace.tlog import service as tlog

    app = create_app({"SQLALCHEMY_DATABASE_URI": sa_url, "INSTANCE_PATH": f"/tmp/{os.getpid()}-bench"})
    with app.app_context():
        upgrade()
        raw = raw_hash_rate()
        t0 = time.perf_counter()
        for batch in range(REAL_APPENDS // 100):
            for i in range(100):
                tlog.append("issuance", (batch * 100 + i).to_bytes(8, "big") * 8)
            db.session.commit()
        append_rate = REAL_APPENDS / (time.perf_counter() - t0)
        leaves = {(lv, ix): bytes(h) for lv, ix, h in db.session.execute(
            db.text("SELECT level, idx, hash FROM tlog_nodes")).all()}
        db.session.remove()
        t0 = time.perf_counter()
        with psycopg.connect(pg_url) as conn:
            bulk_load(conn, REAL_APPENDS, N, leaves)
        load_s = time.perf_counter() - t0
        cp = tlog.checkpoint()
        db.session.commit()
        assert cp.tree_size == N and cp.root_hash == merkle.mth(0, N, lambda lv, ix: leaves[(lv, ix)])
        inc, con, sizes = [], [], []
        for _ in range(2000):
            i = random.randrange(N)
            t = time.perf_counter()
            proof = tlog.inclusion(i, N)
            inc.append((time.perf_counter() - t) * 1000)
            assert merkle.verify_inclusion(leaves[(0, i)], i, N, proof, cp.root_hash)
            m = random.randrange(1, N)
            t = time.perf_counter()
            cproof = tlog.consistency(m, N)
            con.append((time.perf_counter() - t) * 1000)
            first = merkle.mth(0, m, lambda lv, ix: leaves[(lv, ix)])
            assert merkle.verify_consistency(m, N, first, cp.root_hash, cproof)
            sizes.append(len(proof))
        db.session.remove()
    print(f"entries: {N:,} (first {REAL_APPENDS:,} through the real append path; rest bulk-loaded in {load_s:.0f} s)")
    print(f"raw SHA-256 node hashes/s:       {raw:12,.0f}")
    print(f"appends/s (real path, commit/100): {append_rate:10,.0f}   ratio to raw hashes/s: {append_rate / raw:.5f}")
    print(f"inclusion proof  p50 {pct(inc, .5):6.2f} ms  p99 {pct(inc, .99):6.2f} ms  ({max(sizes)} hashes max)")
    print(f"consistency proof p50 {pct(con, .5):6.2f} ms  p99 {pct(con, .99):6.2f} ms  (target p99 < 10 ms)")
    print(f"p99 inclusion in raw-hash units: {pct(inc, .99) / 1000 * raw:,.0f} hashes' worth of time")



if __name__ == "__main__":
    main()
