"""Supervision (DESIGN 10) on SQLite and PostgreSQL: a certificate's status at an instant before and after
its revocation, proved by log entries whose inclusion proofs are checked with the RFC 9162 verifier written
in the tests (not the code under test) against the signed checkpoint; exposure and scenarios over the demo."""

import base64
import contextlib
import hashlib
import json
from datetime import timedelta

from sqlalchemy import select

from marketplace.certificates import service as certificates
from marketplace.db import utcnow
from marketplace.errors import Unprocessable
from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.registry import service as registry
from marketplace.registry.models import Exchange, Organization
from marketplace.reports import service as reports
from marketplace.supervision import service as supervision
from marketplace.tlog import sequencer
from tests.bearer import bearer_headers
from tests.integration.test_tlog import open_checkpoint
from tests.unit.test_merkle import rfc_verify_inclusion


def _org(kind: str, jurisdiction: str) -> Organization:
    return db.session.scalar(select(Organization).filter_by(kind=kind, jurisdiction=jurisdiction)
                             .order_by(Organization.created_at))


def _stamp(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _proved(entry: dict, root: bytes, size: int) -> bytes:
    """The entry's bytes, after checking its leaf hash and inclusion proof independently (RFC 9162 2.1)."""
    data = base64.b64decode(entry["data"])
    leaf = hashlib.sha256(b"\x00" + data).digest()
    assert base64.b64decode(entry["leaf_hash"]) == leaf
    assert entry["tree_size"] == size
    path = [base64.b64decode(h) for h in entry["inclusion_proof"]]
    assert rfc_verify_inclusion(entry["index"], size, leaf, path, root)
    return data


def test_status_at_before_and_after_a_revocation_with_inclusion_proofs(demo):
    jp = registry.find_exchange("Kanto-FB-00099")
    ob = db.session.scalar(select(ObligationRecord).filter_by(exchange_id=jp.org_id, period="2027-Q1",
                                                              superseded_at=None))
    issued_at = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    cert = certificates.issue(ob, "test", now=issued_at)
    db.session.commit()
    certificates.revoke(cert, "policy HSR-JP-7781 cancelled on 2027-02-01")
    sequencer.integrate()  # both entries in one batch, one checkpoint
    db.session.commit()
    revoked_at = cert.revoked_at
    c = demo.test_client()
    fsa = bearer_headers(demo, _org("regulator", "JP"))
    url = f"/api/v1/certificates/{cert.id}/status"
    vkey = c.get("/api/v1/log/key").get_data(as_text=True)

    before = c.get(url, query_string={"at": _stamp(issued_at + timedelta(hours=1))}, headers=fsa)
    assert before.status_code == 200, before.json
    b = before.json
    assert b["status"] == "valid" and b["valid"] is True and "revoked later" in b["detail"]
    _origin, size, root = open_checkpoint(b["checkpoint"], vkey)
    kinds = [e["kind"] for e in b["entries"]]
    assert kinds == ["issuance", "revocation"]  # issued before the instant, revoked after it
    issuance = _proved(b["entries"][0], root, size)
    assert issuance == cert.jws.encode()
    revocation = json.loads(_proved(b["entries"][1], root, size))
    assert revocation["certificate"] == f"urn:uuid:{cert.id}" and revocation["time"] > _stamp(issued_at)

    after = c.get(url, query_string={"at": _stamp(revoked_at + timedelta(seconds=1))}, headers=fsa).json
    assert after["status"] == "revoked" and after["valid"] is False
    assert after["reason"] == "policy HSR-JP-7781 cancelled on 2027-02-01" and "revoked at" in after["detail"]
    _origin, size, root = open_checkpoint(after["checkpoint"], vkey)
    assert json.loads(_proved(after["entries"][1], root, size))["reason"] == after["reason"]
    # the same instant in another zone is the same answer
    tokyo = (revoked_at + timedelta(hours=9, seconds=1)).strftime("%Y-%m-%dT%H:%M:%S+09:00")
    assert c.get(url, query_string={"at": tokyo}, headers=fsa).json["status"] == "revoked"
    early = c.get(url, query_string={"at": _stamp(issued_at - timedelta(seconds=1))}, headers=fsa).json
    assert early["status"] == "not_yet_valid"
    # the demo's own certificate was superseded by this one: revoked at the instant it was issued
    other = c.get(url.replace(cert.id, _demo_certificate(cert.id)), headers=fsa).json
    assert other["status"] == "revoked" and "superseded by certificate" in other["reason"]
    assert c.get(url, headers=bearer_headers(demo, _org("regulator", "EU"))).status_code == 404
    assert c.get(url, headers=bearer_headers(demo, _org("exchange", "JP"))).status_code == 403


def _demo_certificate(exclude: str) -> str:
    from marketplace.certificates.models import Certificate

    return db.session.scalar(select(Certificate.id).where(Certificate.id != exclude)
                             .order_by(Certificate.created_at).limit(1))


def test_exposure_and_scenario_over_the_demo(demo):
    fsa = _org("regulator", "JP")
    today = utcnow().date()
    exposure = supervision.exposure_of(fsa, today=today)
    assert sum(i["eligible_offset"].amount for i in exposure["insurers"]) == exposure["total_offset"].amount > 0
    books = supervision.books(fsa.id, today)
    for b in books:  # cash held, in bulk, is what the adequacy check reads one exchange at a time
        held = reports.cash_held(b.exchange_id, today)
        assert (b.cash_held.amount if b.cash_held else None) == (held.amount if held else None)
    tokio = db.session.scalar(select(Organization.id).filter_by(kind="insurer", name="Tokio Mutual Cyber"))
    out = supervision.run_scenario(fsa, [tokio], today=today)
    for row in out["items"]:
        assert row["offset_after"].amount == 0
        cash = row["cash_held"].amount if row["cash_held"] else 0
        assert row["shortfall"].amount == max(0, row["obligation"].amount - cash)
    shortfalls = [r["shortfall"].amount for r in out["items"]]
    assert shortfalls == sorted(shortfalls, reverse=True)
    # another regulator's view holds none of the JP exchanges
    bafin = _org("regulator", "EU")
    assert all(b.exchange_id not in {x.exchange_id for x in books} for b in supervision.books(bafin.id, today))


def test_bulk_allocations_are_exactly_the_allocation_source(demo):
    """The supervision views read every obligation's allocations at once (`allocations_many`); each obligation
    must get exactly what reading it alone gives (`domain_allocations`, the offset code path of obligations,
    certificates and the adequacy check), for every jurisdiction; and so are the offsets evaluated from them."""
    from marketplace.allocations import service as allocations
    from marketplace.obligations import service as obligations

    for ex in db.session.scalars(select(Exchange)):  # every demo exchange that can have an obligation
        with contextlib.suppress(Unprocessable):
            obligations.compute(ex, "2027-Q1", "test")
    db.session.commit()
    rows = db.session.scalars(select(ObligationRecord).where(ObligationRecord.superseded_at.is_(None))).all()
    bulk = allocations.allocations_many(rows)
    for row in rows:
        assert bulk[row.id] == allocations.domain_allocations(row), row.period
    assert sum(len(v) for v in bulk.values()) >= 2  # Tokio's (eligible) and Harbour's (not approved in JP)
    today = utcnow().date()
    for reg in db.session.scalars(select(Organization).filter_by(kind="regulator")):
        for b in supervision.books(reg.id, today):
            row = db.session.get(ObligationRecord, b.obligation_id)
            assert b.offset().total == obligations.offset_for(row)[0].total
