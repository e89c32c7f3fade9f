"""The transparency log on SQLite and PostgreSQL: entries, checkpoints (checked independently against
C2SP), proofs, receipts, append-only storage, tamper detection by the auditor (local and remote)."""

import base64
import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, text
from werkzeug.serving import make_server

from marketplace.certificates import service as certificates
from marketplace.cli import marketplace_cli
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.tlog import sequencer
from marketplace.tlog import service as tlog
from tests.sql_statements import generic_plan
from tests.unit.test_merkle import rfc_mth, rfc_verify_consistency, rfc_verify_inclusion

ROOT = Path(__file__).resolve().parents[2]


def issue_some(n=3):
    ob = db.session.scalar(select(ObligationRecord))
    certs = [certificates.issue(ob, "test") for _ in range(n)]
    db.session.commit()
    sequencer.integrate()  # no unit of work here to nudge it: sequence what was queued
    return certs


def open_checkpoint(note: str, vkey: str):
    """C2SP signed-note + tlog-checkpoint, from the specs: returns (origin, size, root)."""
    name, key_id_hex, key_b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(key_b64)
    assert raw[0] == 0x01 and len(raw) == 33
    assert hashlib.sha256(name.encode() + b"\n" + b"\x01" + raw[1:]).digest()[:4].hex() == key_id_hex
    body, sigs = note.split("\n\n", 1)
    body += "\n"
    origin, size, root_b64 = body.rstrip("\n").split("\n")
    assert origin == name
    line = sigs.strip().split("\n")[0]
    dash, who, sig_b64 = line.split(" ")
    assert dash == "\u2014" and who == name
    sig = base64.b64decode(sig_b64)
    assert sig[:4].hex() == key_id_hex
    Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], body.encode())
    return origin, int(size), base64.b64decode(root_b64)


def test_issuance_and_revocation_entries_and_checkpoint(demo):
    # the demo issued one certificate (entry 0); each new one supersedes the valid one before it
    certs = issue_some(3)  # + 3 issuances and 3 revocations
    c = demo.test_client()
    vkey = c.get("/api/v1/log/key").get_data(as_text=True)
    _origin, size, root = open_checkpoint(c.get("/api/v1/log/checkpoint").get_data(as_text=True), vkey)
    assert size == 7
    entries = c.get("/api/v1/log/entries?start=0&end=7").json["entries"]
    assert [e["index"] for e in entries] == list(range(7))
    # each issuance, then the revocation of the certificate it supersedes (same transaction, same batch)
    assert [e["kind"] for e in entries] == ["issuance"] + ["issuance", "revocation"] * 3
    data = [base64.b64decode(e["data"]) for e in entries]
    assert data[1] == certs[0].jws.encode()
    assert f'"reason":"superseded by certificate {certs[0].id}"'.encode() in data[2]
    assert rfc_mth(data) == root
    for i in range(7):
        p = c.get(f"/api/v1/log/proofs/inclusion?index={i}&tree_size=7").json
        path = [base64.b64decode(h) for h in p["inclusionProof"]]
        assert rfc_verify_inclusion(i, 7, hashlib.sha256(b"\x00" + data[i]).digest(), path, root)
    leaf = base64.b64encode(hashlib.sha256(b"\x00" + data[2]).digest()).decode()
    by_hash = c.get("/api/v1/log/proofs/inclusion", query_string={"leaf_hash": leaf, "tree_size": 7}).json
    assert by_hash["leafIndex"] == 2
    for m in range(1, 8):
        p = c.get(f"/api/v1/log/proofs/consistency?first={m}&second=7").json
        proof = [base64.b64decode(h) for h in p["consistencyProof"]]
        assert rfc_verify_consistency(m, 7, rfc_mth(data[:m]), root, proof)
    stored = c.get("/api/v1/log/checkpoints").json["items"]
    assert [s["treeSize"] for s in stored] == [1, 7]  # one checkpoint per batch: the demo's, then these six


def test_a_leaf_is_found_by_its_hash_through_the_index_of_the_leaves(demo, database_url):
    """A leaf's index by its hash reads ix_tlog_nodes_leaf_hash (leaves only; on PostgreSQL a hash index), also in
    the generic plan a prepared statement ends up with, where a bound `level` would rule the partial index out.
    An interior node's hash names no leaf."""
    issue_some(3)
    conn = db.session.connection()
    leaf, interior = (bytes(conn.execute(text(f"SELECT hash FROM tlog_nodes WHERE level = {lv} AND idx = {ix}"))
                            .scalar()) for lv, ix in ((0, 2), (1, 0)))
    assert tlog.index_of_leaf(leaf) == 2
    with pytest.raises(NotFound):
        tlog.index_of_leaf(interior)
    sql = str(tlog._INDEX_OF_LEAF.compile(dialect=conn.dialect))
    if database_url.startswith("postgresql"):
        conn.execute(text("INSERT INTO tlog_nodes (level, idx, hash) SELECT lv, i, sha256(int8send(i * 2 + lv)) "
                          "FROM generate_series(100, 20099) i, generate_series(0, 1) lv"))
        conn.execute(text("ANALYZE tlog_nodes"))
        plan = generic_plan(conn, sql.replace("%(leaf)s", "$1"), ["bytea"], ["'\\x00'::bytea"])
    else:
        plan = "\n".join(str(r) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (leaf,)))
    db.session.rollback()
    assert "ix_tlog_nodes_leaf_hash" in plan, plan


@pytest.mark.parametrize("query", ["index=0&tree_size=99", "index=5&tree_size=3", "index=-1&tree_size=1",
                                   "tree_size=1", "index=0&leaf_hash=AA==&tree_size=1", "index=x&tree_size=1",
                                   "leaf_hash=!!&tree_size=1", "leaf_hash=AAAA&tree_size=1"])
def test_bad_inclusion_queries(demo, query):
    issue_some(1)
    r = demo.test_client().get(f"/api/v1/log/proofs/inclusion?{query}")
    assert r.status_code in (404, 422) and r.mimetype == "application/problem+json"


@pytest.mark.parametrize("query", ["first=0&second=1", "first=2&second=1", "first=1&second=99", "first=a&second=1",
                                   "start=0"])
def test_bad_consistency_and_entry_ranges(demo, query):
    issue_some(1)
    c = demo.test_client()
    assert c.get(f"/api/v1/log/proofs/consistency?{query}").status_code == 422
    for q in ["start=0&end=99", "start=3&end=1", "start=0&end=1001", "start=-1&end=1", "end=1"]:
        r = c.get(f"/api/v1/log/entries?{q}")
        assert r.status_code == 422 and r.mimetype == "application/problem+json", q


def test_receipt_in_certificate_and_bundle(demo):
    [cert] = issue_some(1)
    from marketplace.verify.core import verify

    b = certificates.bundle(cert)
    rec = b["receipt"]
    assert rec["leafIndex"] == 1 and rec["treeSize"] == 3 and rec["logKey"] == b["logKey"]
    _origin, size, root = open_checkpoint(rec["checkpoint"], b["logKey"])
    path = [base64.b64decode(h) for h in rec["inclusionProof"]]
    assert rfc_verify_inclusion(1, size, hashlib.sha256(b"\x00" + cert.jws.encode()).digest(), path, root)
    res = verify(b["certificate"], b["platformJwks"], b["insurerJwks"], b["statusListCredential"],
                 receipt=rec, log_key=b["logKey"])
    assert {c["name"]: c["ok"] for c in res.checks}["log_inclusion"] is True
    bad = {**rec, "leafIndex": 0}
    res = verify(b["certificate"], b["platformJwks"], b["insurerJwks"], b["statusListCredential"],
                 receipt=bad, log_key=b["logKey"])
    assert {c["name"]: c["ok"] for c in res.checks}["log_inclusion"] is False


def test_online_receipt_is_checked_for_consistency(demo):
    [first] = issue_some(1)
    old_receipt = certificates.receipt_for(first)
    issue_some(2)
    r = demo.test_client().post("/api/v1/verify", json={"certificate": first.jws, "receipt": old_receipt}).json
    detail = {c["name"]: c for c in r["checks"]}["log_inclusion"]
    assert detail["ok"] is True and "consistent with the current tree size 7" in detail["detail"]


def test_audit_passes_then_catches_tampering(demo, database_url):
    issue_some(3)
    runner = CliRunner()
    out = runner.invoke(marketplace_cli, ["log", "audit"])
    assert out.exit_code == 0 and "audit OK" in out.output
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            with pytest.raises(Exception, match="append-only"), conn.begin_nested():
                conn.execute(text("UPDATE tlog_entries SET data = :d WHERE idx = 2"), {"d": b"forged"})
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # as a superuser could
        conn.execute(text("UPDATE tlog_entries SET data = :d WHERE idx = 2"), {"d": b"forged"})
    out = runner.invoke(marketplace_cli, ["log", "audit"])
    assert out.exit_code == 1
    assert "index 2: the stored leaf hash does not match the entry" in out.output


def test_remote_audit_through_public_endpoints(demo, tmp_path):
    issue_some(3)
    db.session.remove()
    server = make_server("127.0.0.1", 0, demo, threaded=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        out = subprocess.run([str(Path(sys.executable).parent / "marketplace"), "log", "audit", "--url",
                              f"http://127.0.0.1:{server.server_port}"], capture_output=True, text=True,
                             timeout=60, cwd=tmp_path, env={**os.environ, "MARKETPLACE_INSTANCE_PATH": str(tmp_path)})
    finally:
        server.shutdown()
        t.join(10)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "recomputed 7 leaves" in out.stdout and "audit OK" in out.stdout


def test_a_receipt_reads_the_checkpoint_the_proof_and_the_key_only(demo):
    """An issuance's answer carries a receipt: the latest checkpoint, the proof's nodes (one statement, none when
    that proof is cached), the log key; not the tree size again (a checkpoint's size is never past the log's). It
    still verifies, with the RFC 9162 verifier of tests/unit/test_merkle.py."""
    from marketplace.tlog import service as tlog
    from tests.sql_statements import statements

    jws = db.session.scalar(text("SELECT jws FROM certificates LIMIT 1"))
    index = db.session.scalar(text("SELECT idx FROM tlog_entries WHERE kind = 'issuance' LIMIT 1"))
    db.session.rollback()
    with statements() as seen:
        rec = tlog.receipt(index)
    reads = [s for s in seen if s.startswith(("SELECT", "WITH"))]
    assert len(reads) <= 3 and not any("tlog_state" in s for s in reads), reads
    root = tlog.latest().root_hash
    path = [base64.b64decode(h) for h in rec["inclusionProof"]]
    assert rfc_verify_inclusion(index, rec["treeSize"], hashlib.sha256(b"\x00" + jws.encode()).digest(), path, root)
