"""Transparency-log bench on PostgreSQL: the batched sequencer's append rate with concurrent issuers, merge
delay, and proof times, at a tenth of --entries and again at --entries (flat is the goal), next to raw
SHA-256 node hashes/s measured in the same run.

- Concurrent issuers (the real path): --processes x --threads writers, each looping like the issuance API
  does: queue one entry in its own transaction (a unit of work, committed), then wait for the batch that
  integrates it (sequencer.await_certificate: whoever takes the sequencer's advisory lock integrates
  everything queued and signs one checkpoint). Printed: appends/s, batches (checkpoints) and entries per
  batch, merge delay (queued -> integrated, from the rows) p50/p99, each writer's wait p99, and the CPU each
  append cost in the writer processes and in PostgreSQL (from /proc), with the rate the machine's cores could
  sustain at that cost (the machine's speed moves the rate; the cost shows where it goes).
- Backlog: the sequencer alone draining --backlog queued entries (entries/s, batches of BATCH_MAX).
- Proofs: inclusion and consistency p50/p99 through the service (target p99 < 10 ms), checked.
Between the two sizes the log is bulk-loaded (COPY) with the same hashing, keeping only the tree's right
edge in memory, so 1e7 entries load in minutes.

Run: .venv/bin/python bench/log.py [--entries 1000000] [--processes 4] [--threads 8] [--seconds 10]
     [--backlog 20000] [--server postgresql://postgres@127.0.0.1:5432/postgres]
     1e7 mode: --entries 10000000 (about 15 minutes here, 6 GB of disk).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import random
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from marketplace import create_app  # noqa: E402
from marketplace.domain import merkle  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def raw_hash_rate(seconds: float = 1.0) -> float:
    left, right, n, start = os.urandom(32), os.urandom(32), 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            hashlib.sha256(b"\x01" + left + right).digest()
        n += 1000
    return n / (time.perf_counter() - start)


def make_app(sa_url: str, pool: int = 5):
    return create_app({"SQLALCHEMY_DATABASE_URI": sa_url, "INSTANCE_PATH": os.environ["BENCH_LOG_INSTANCE"],
                       "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": pool, "max_overflow": 0, "pool_timeout": 60}})


def entry_data(i: int) -> bytes:
    return i.to_bytes(8, "big") * 8


# --- bulk load: the append path's hashing, only the right edge kept ----------------------------------------


def bulk_load(pg_url: str, target: int) -> float:
    """Grow the log to `target` entries with COPY; sign nothing (the caller checkpoints)."""
    t0 = time.perf_counter()
    with psycopg.connect(pg_url) as conn, conn.cursor() as cur:
        start = cur.execute("SELECT size FROM tlog_state WHERE id = 1").fetchone()[0]
        from marketplace.tlog.sequencer import right_edge

        edge = {(lv, ix): bytes(h) for lv, ix, h in cur.execute(
            "SELECT level, idx, hash FROM tlog_nodes WHERE (level, idx) IN (SELECT * FROM unnest(%s::int[], "
            "%s::bigint[]))", ([lv for lv, _ in right_edge(start)], [ix for _, ix in right_edge(start)]))}
        chunk = 200_000
        for lo in range(start, target, chunk):
            hi = min(target, lo + chunk)
            nodes = []
            with cur.copy("COPY tlog_entries (idx, kind, data, created_at) FROM STDIN") as cp:
                for i in range(lo, hi):
                    data = entry_data(i)
                    cp.write_row((i, "issuance", data, "2026-11-25T00:00:00Z"))
                    h, level, j = merkle.leaf_hash(data), 0, i
                    nodes.append((0, i, h))
                    while j % 2 == 1:
                        h, level, j = merkle.node_hash(edge.pop((level, j - 1)), h), level + 1, j // 2
                        nodes.append((level, j, h))
                    edge[(level, j)] = h
            with cur.copy("COPY tlog_nodes (level, idx, hash) FROM STDIN") as cp:
                for row in nodes:
                    cp.write_row(row)
            conn.commit()
            print(f"  loaded {hi:,} entries ({time.perf_counter() - t0:.0f} s)", end="\r", flush=True)
        cur.execute("UPDATE tlog_state SET size = %s WHERE id = 1", (target,))
        conn.commit()
    print()
    return time.perf_counter() - t0


# --- concurrent issuers ---------------------------------------------------------------------------------


def writer_process(sa_url: str, threads: int, seconds: float, ready, start, out) -> None:
    from marketplace.extensions import db
    from marketplace.tlog import sequencer
    from marketplace.uow import unit_of_work

    app = make_app(sa_url, pool=threads)
    waits: list[float] = []
    ids: list[str] = []
    lock = threading.Lock()

    def loop():
        with app.app_context():
            start.wait(60)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                cid = str(uuid.uuid4())
                with unit_of_work() as uow:  # as the issuance API: commit, wait for the batch, then nudges
                    sequencer.queue("issuance", cid.encode() * 2, cid)
                    uow.commit()
                    t = time.perf_counter()
                    idx = sequencer.await_certificate(cid)
                w = time.perf_counter() - t
                with lock:
                    waits.append(w)
                    ids.append(cid)
                assert idx is not None
            db.session.remove()

    with app.app_context():  # connect and warm up before the clock starts
        sequencer.integrate()
        db.session.remove()
    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    ready.put(os.getpid())
    start.wait(60)
    cpu = time.process_time()  # every thread of this process, the batch listener's too
    for t in ts:
        t.join()
    out.put((len(ids), waits, time.process_time() - cpu))


def concurrent_appends(sa_url: str, pg_url: str, processes: int, threads: int, seconds: float) -> dict:
    with psycopg.connect(pg_url) as conn:
        size0 = conn.execute("SELECT size FROM tlog_state").fetchone()[0]
        cps0 = conn.execute("SELECT count(*) FROM tlog_checkpoints").fetchone()[0]
    ctx = mp.get_context("spawn")
    ready, start, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=writer_process, args=(sa_url, threads, seconds, ready, start, out))
             for _ in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:  # every process has built its app and started its threads
        ready.get(timeout=120)
    pg0 = postgres_cpu()
    t0 = time.perf_counter()
    start.set()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - t0
    pg_cpu = sum(t - pg0.get(pid, 0.0) for pid, t in postgres_cpu().items())  # a backend started since: from 0
    for p in procs:
        p.join(30)
    n = sum(r[0] for r in results)
    waits = [w for r in results for w in r[1]]
    with psycopg.connect(pg_url) as conn:
        size1 = conn.execute("SELECT size FROM tlog_state").fetchone()[0]
        batches = conn.execute("SELECT count(*) FROM tlog_checkpoints").fetchone()[0] - cps0
        delays = [r[0] for r in conn.execute(
            "SELECT EXTRACT(EPOCH FROM created_at - queued_at) FROM tlog_entries WHERE idx >= %s", (size0,))]
        pending = conn.execute("SELECT count(*) FROM tlog_queue").fetchone()[0]
    assert size1 - size0 == n and pending == 0, (size1 - size0, n, pending)
    return {"appends": n, "rate": n / elapsed, "batches": batches, "delay50": pct(delays, .5),
            "delay99": pct(delays, .99), "wait99": pct(waits, .99), "size": size1,
            "cpu_writers": sum(r[2] for r in results) / max(n, 1), "cpu_pg": pg_cpu / max(n, 1)}


def postgres_cpu() -> dict[str, float]:
    """CPU seconds (user + system) so far of every PostgreSQL process on this machine, by pid, from /proc. CPU per
    append moves far less than appends/s when the machine's speed does."""
    tick, now = os.sysconf("SC_CLK_TCK"), {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if name.startswith("postgres"):
            now[pid] = (int(rest[11]) + int(rest[12])) / tick  # utime, stime (fields 14 and 15)
    return now


def backlog(app, count: int) -> float:
    from sqlalchemy import insert

    from marketplace.extensions import db
    from marketplace.tlog import sequencer
    from marketplace.tlog.models import QueuedEntry

    with app.app_context():
        base = random.getrandbits(40)
        db.session.execute(insert(QueuedEntry), [{"kind": "issuance", "data": entry_data(base + i)}
                                                 for i in range(count)])
        db.session.commit()
        t0 = time.perf_counter()
        assert sequencer.integrate()["integrated"] == count
        return count / (time.perf_counter() - t0)


def proofs(app, size: int, samples: int = 1000) -> tuple[float, float, float, float]:
    from marketplace.extensions import db
    from marketplace.tlog import service as tlog

    with app.app_context():
        cp = tlog.latest()
        assert cp.tree_size == size
        inc, con = [], []
        for _ in range(samples):
            i = random.randrange(size)
            t = time.perf_counter()
            proof = tlog.inclusion(i, size)
            inc.append((time.perf_counter() - t) * 1000)
            leaf = bytes(db.session.scalar(db.text("SELECT hash FROM tlog_nodes WHERE level = 0 AND idx = :i"),
                                           {"i": i}))
            assert merkle.verify_inclusion(leaf, i, size, proof, cp.root_hash)
            m = random.randrange(1, size)
            t = time.perf_counter()
            cproof = tlog.consistency(m, size)
            con.append((time.perf_counter() - t) * 1000)
            assert merkle.verify_consistency(m, size, tlog.root(m), cp.root_hash, cproof)
        db.session.remove()
    return pct(inc, .5), pct(inc, .99), pct(con, .5), pct(con, .99)


def checkpoint_now(app) -> None:
    from marketplace.extensions import db
    from marketplace.tlog import service as tlog

    with app.app_context():
        tlog.checkpoint()
        db.session.commit()
        db.session.remove()


def measure(label: str, sa_url: str, pg_url: str, app, args) -> dict:
    print(f"at {label} entries:")
    c = concurrent_appends(sa_url, pg_url, args.processes, args.threads, args.seconds)
    print(f"  concurrent issuers ({args.processes} processes x {args.threads} threads): {c['rate']:8,.0f} appends/s "
          f"({c['appends']:,} in {c['batches']:,} batches, {c['appends'] / max(c['batches'], 1):.1f} per batch)")
    print(f"  merge delay p50 {c['delay50'] * 1000:6.1f} ms  p99 {c['delay99'] * 1000:6.1f} ms (target < 1 s); "
          f"issuer wait p99 {c['wait99'] * 1000:6.1f} ms")
    cores, per_append = os.cpu_count(), c["cpu_writers"] + c["cpu_pg"]
    print(f"  CPU per append: writer processes {c['cpu_writers'] * 1000:.2f} ms, PostgreSQL {c['cpu_pg'] * 1000:.2f} "
          f"ms ({cores} cores: at most {cores / per_append:,.0f} appends/s at this cost)")
    c["backlog"] = backlog(app, args.backlog)
    print(f"  sequencer draining a backlog of {args.backlog:,}: {c['backlog']:10,.0f} entries/s")
    with app.app_context():
        from marketplace.tlog import service as tlog

        size = tlog.size()
    c["proofs"] = proofs(app, size)
    print(f"  inclusion proof   p50 {c['proofs'][0]:6.2f} ms  p99 {c['proofs'][1]:6.2f} ms")
    print(f"  consistency proof p50 {c['proofs'][2]:6.2f} ms  p99 {c['proofs'][3]:6.2f} ms  (target p99 < 10 ms)")
    return c


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--processes", type=int, default=4)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--backlog", type=int, default=20_000)
    p.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args()
    name = f"bench_log_{os.getpid()}"
    os.environ.setdefault("BENCH_LOG_INSTANCE", f"/tmp/{name}")  # one key-encryption key for every process
    admin = psycopg.connect(args.server, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    pg_url = args.server.rsplit("/", 1)[0] + f"/{name}"
    try:
        run(pg_url.replace("postgresql://", "postgresql+psycopg://"), pg_url, args)
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def run(sa_url: str, pg_url: str, args) -> None:
    from flask_migrate import upgrade

    app = make_app(sa_url)
    with app.app_context():
        upgrade()
    raw = raw_hash_rate()
    print(f"machine: {os.cpu_count()} cores; PostgreSQL; raw SHA-256 node hashes/s: {raw:,.0f}")
    small = args.entries // 10
    results = []
    for target in (small, args.entries):
        with psycopg.connect(pg_url) as conn:
            size = conn.execute("SELECT size FROM tlog_state").fetchone()[0]
        if target > size:
            took = bulk_load(pg_url, target)
            checkpoint_now(app)
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute("ANALYZE")
                conn.execute("CHECKPOINT")  # the load's WAL written out now, not during the measurement
            print(f"bulk-loaded to {target:,} entries in {took:.0f} s")
        results.append(measure(f"{target:,}", sa_url, pg_url, app, args))
    a, b = results
    print(f"flatness ({args.entries:,} vs {small:,}): appends/s x{b['rate'] / a['rate']:.2f}, "
          f"backlog x{b['backlog'] / a['backlog']:.2f}, inclusion p99 x{b['proofs'][1] / a['proofs'][1]:.2f}")
    with app.app_context():
        from marketplace.extensions import db

        db.engine.dispose()


if __name__ == "__main__":
    main()
