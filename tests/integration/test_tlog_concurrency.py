"""100 concurrent issuers on PostgreSQL through the batched sequencer (issue 15, DESIGN 9).

Each issuer does what the issuance API does: issue in its own unit of work (the certificate and its queued
log entry commit together), then wait for the batch that integrates its entry, and read its receipt. A
second process issues at the same time, so the sequencer's lock is contended across processes too.
Checked with independent code (tests/unit/test_merkle.py's RFC 9162 functions, the checkpoint opened and
its Ed25519 signature checked with `cryptography` directly): dense indexes, every receipt verifies against
its signed checkpoint, consecutive checkpoints are consistent, and batches really are shared.
"""

import base64
import hashlib
import itertools
import multiprocessing as mp
import threading

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.tlog.models import Checkpoint, LogEntry, QueuedEntry
from tests import drills
from tests.integration.test_tlog import open_checkpoint
from tests.unit.test_merkle import rfc_mth, rfc_verify_consistency, rfc_verify_inclusion

THREADS, PROCESS_THREADS = 80, 20  # 100 issuers: 80 threads here, 20 in a second process


def issue_concurrently(app, obligation_ids: list[str], start, results: list, errors: list) -> None:
    from marketplace.certificates import service as certificates
    from marketplace.obligations.models import ObligationRecord
    from marketplace.tlog import sequencer
    from marketplace.uow import unit_of_work

    def one(ob_id: str) -> None:
        with app.app_context():
            try:
                start.wait(60)
                with unit_of_work():
                    cert = certificates.issue(db.session.get(ObligationRecord, ob_id), "race")
                idx = sequencer.await_certificate(cert.id, timeout=120)  # correctness, not latency (production: 10 s)
                results.append((cert.id, idx, certificates.receipt_for(cert), cert.jws))
            except Exception as e:  # reported by the test, with its type
                errors.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(i,)) for i in obligation_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)


def issuers_app(url: str, instance: str, pool: int):
    """An app of its own with a pool that makes threads queue for connections, as a web worker's do."""
    from marketplace import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance, "TESTING": True,
                       "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": pool, "max_overflow": 0, "pool_timeout": 120}})


def _other_process(url: str, instance: str, obligation_ids: list[str], start, out) -> None:
    app = issuers_app(url, instance, 8)
    results, errors = [], []
    issue_concurrently(app, obligation_ids, start, results, errors)
    out.put((results, errors))
    with app.app_context():
        db.engine.dispose()


def test_a_hundred_concurrent_issuers_share_batches_and_every_receipt_verifies(demo, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent sequencing across processes targets PostgreSQL (SQLite has one writer)")
    made = drills.add_certified_exchanges(THREADS + PROCESS_THREADS)  # each already has one certificate
    from marketplace.obligations.models import ObligationRecord
    from marketplace.tlog import sequencer

    sequencer.integrate()
    before = db.session.scalar(select(db.func.count()).select_from(LogEntry))
    checkpoints_before = db.session.scalar(select(db.func.count()).select_from(Checkpoint))
    obligation_ids = [db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=m["exchange_id"],
                                                                              superseded_at=None)) for m in made]
    db.session.remove()

    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    other = ctx.Process(target=_other_process, args=(database_url, demo.instance_path,
                                                     obligation_ids[THREADS:], start, out))
    other.start()
    mine = issuers_app(database_url, demo.instance_path, 16)
    results, errors = [], []
    runner = threading.Thread(target=issue_concurrently, args=(mine, obligation_ids[:THREADS], start, results, errors))
    runner.start()
    start.set()
    runner.join(300)
    theirs, their_errors = out.get(timeout=300)
    other.join(60)
    with mine.app_context():
        db.engine.dispose()
    assert errors == [] and their_errors == []
    results += theirs
    assert len(results) == THREADS + PROCESS_THREADS and all(idx is not None for _, idx, _, _ in results)

    # dense: every issuance and the revocation of the certificate it superseded, no gap, no duplicate
    assert db.session.scalar(select(db.func.count()).select_from(QueuedEntry)) == 0
    rows = db.session.execute(select(LogEntry.idx, LogEntry.data).order_by(LogEntry.idx)).all()
    assert [r.idx for r in rows] == list(range(before + 2 * len(results)))
    leaves = [bytes(r.data) for r in rows]

    c = demo.test_client()
    vkey = c.get("/api/v1/log/key").get_data(as_text=True)
    for _cert_id, idx, receipt, jws in results:  # the receipt each issuer got, checked independently
        assert leaves[idx] == jws.encode()
        _origin, size, root = open_checkpoint(receipt["checkpoint"], vkey)
        assert size == receipt["treeSize"] > idx == receipt["leafIndex"]
        path = [base64.b64decode(h) for h in receipt["inclusionProof"]]
        assert rfc_verify_inclusion(idx, size, hashlib.sha256(b"\x00" + leaves[idx]).digest(), path, root)
        assert root == rfc_mth(leaves[:size])

    # one checkpoint per batch, each consistent with the one before; fewer batches than entries
    notes = [n for (n,) in db.session.execute(select(Checkpoint.note).order_by(Checkpoint.tree_size))]
    heads = [open_checkpoint(n, vkey) for n in notes]
    new = len(heads) - checkpoints_before
    assert 1 <= new < 2 * len(results)  # batches were shared
    for (_, m, first), (_, n, second) in itertools.pairwise(heads):
        proof = [base64.b64decode(h) for h in c.get(f"/api/v1/log/proofs/consistency?first={m}&second={n}")
                 .json["consistencyProof"]]
        assert rfc_verify_consistency(m, n, first, second, proof), (m, n)
    print(f"\n[sequencer] {len(results)} concurrent issuers, {2 * len(results)} entries in {new} batches "
          f"(checkpoints), every receipt and consistency proof verified independently")
