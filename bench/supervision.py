"""Supervision scenario time at scale (DESIGN 10, issue 14: 1,000 exchanges x 50 insurers on PostgreSQL,
target under 2 s): `POST /api/v1/supervision/scenarios` over HTTP (the test client, token and all) and the
service call alone, next to a baseline measured in the same run (a trivial query, and GET /healthz).

The world is loaded with bulk inserts: one regulator (JP), INSURERS approved insurers, EXCHANGES exchanges,
each with a 2027-Q1 obligation, a reserve balance and PER allocations of attested policies from different
insurers (so each insurer covers about EXCHANGES x PER / INSURERS exchanges).
Run: .venv/bin/python bench/supervision.py [EXCHANGES] [INSURERS] [DATABASE_URL] [ROUNDS]
     (default: 1000, 50, a SQLite file, 5)
"""

from __future__ import annotations

import base64
import statistics
import sys
import tempfile
import time
from datetime import date

sys.path.insert(0, ".")
from flask import current_app
from sqlalchemy import insert, text

from marketplace.allocations.models import Allocation
from marketplace.attestations.models import Attestation
from marketplace.auth import service as auth
from marketplace.crypto.keys import KeyPair
from marketplace.db import new_id
from marketplace.extensions import db
from marketplace.keys import service as keys
from marketplace.obligations.models import ObligationRecord
from marketplace.policies.models import Policy
from marketplace.registry.models import Exchange, InsurerApproval, Organization
from marketplace.reports.models import ReserveBalanceRecord
from marketplace.rulesets import service as rulesets
from marketplace.supervision import service as supervision
from tests.conftest import make_app, migrate_to_head, normalise_db_url

PER = 3  # allocations (from different insurers) per exchange
RATINGS = ("AAA", "AA", "A+", "A", "A-")
PERILS = ["theft_hack", "insider_fraud", "operational_failure"]


def load_world(n_exchanges: int, n_insurers: int) -> tuple[Organization, list[str]]:
    rulesets.seed_shipped(current_app.extensions["shipped_rulesets"])
    rs = rulesets.get("JP-FSA-2026", "1")
    reg = Organization(kind="regulator", name="Bench FSA", jurisdiction="JP")
    db.session.add(reg)
    db.session.flush()
    insurers = [{"id": new_id(), "kind": "insurer", "name": f"Bench Insurer {i:02d}", "jurisdiction": "JP",
                 "rating": RATINGS[i % len(RATINGS)]} for i in range(n_insurers)]
    exchanges = [{"id": new_id(), "kind": "exchange", "name": f"Bench Exchange {e:04d}", "jurisdiction": "JP"}
                 for e in range(n_exchanges)]
    db.session.execute(insert(Organization), insurers + exchanges)
    db.session.execute(insert(InsurerApproval), [
        {"id": new_id(), "insurer_id": i["id"], "regulator_id": reg.id, "status": "approved", "rating": i["rating"]}
        for i in insurers])
    db.session.execute(insert(Exchange), [
        {"org_id": e["id"], "licence_number": f"BENCH-{n:05d}", "jurisdiction": "JP", "regulator_id": reg.id,
         "service_classes": ""} for n, e in enumerate(exchanges)])
    kid = keys._store(KeyPair.generate(), "insurer", insurers[0]["id"]).kid
    obligations, policies, attestations, allocations, balances = [], [], [], [], []
    for n, e in enumerate(exchanges):
        ob_id = new_id()
        total = 2_000_000_000 + (n * 7_919_000) % 3_000_000_000
        obligations.append({"id": ob_id, "exchange_id": e["id"], "period": "2027-Q1", "period_start": date(2027, 1, 1),
                            "period_end": date(2027, 3, 31), "revision": 1, "ruleset_id": rs.id,
                            "ruleset_version": rs.version, "ruleset_digest": rs.digest, "total": total,
                            "currency": "JPY", "lines": [], "inputs_digest": "sha256:" + "0" * 64,
                            "computed_by": "bench"})
        balances.append({"id": new_id(), "exchange_id": e["id"], "as_of": date(2026, 1, 1),
                         "amount": total // 2, "currency": "JPY", "recorded_by": "bench"})
        for k in range(PER):
            insurer = insurers[(n * 7 + k * 11) % n_insurers]
            pid = new_id()
            policies.append({"id": pid, "insurer_id": insurer["id"], "number": f"B-{n}-{k}", "insured_id": e["id"],
                             "currency": "JPY", "limit_amount": 1_000_000_000, "deductible": 10_000_000,
                             "perils": PERILS, "territories": ["JP"], "term_start": date(2026, 10, 1),
                             "term_end": date(2028, 9, 30), "cancellation_notice_days": 90, "status": "active",
                             "revision": 1, "source": "registered"})
            attestations.append({"id": new_id(), "policy_id": pid, "revision": 1, "kid": kid, "jws": "bench.jws.x",
                                 "custodial": True, "created_by": "bench"})
            allocations.append({"id": new_id(), "policy_id": pid, "obligation_id": ob_id, "exchange_id": e["id"],
                                "amount": 300_000_000 + 100_000_000 * k, "currency": "JPY", "status": "live",
                                "over_limit": False, "created_by": "bench"})
    for model, rows in ((ObligationRecord, obligations), (ReserveBalanceRecord, balances), (Policy, policies),
                        (Attestation, attestations), (Allocation, allocations)):
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[start:start + 5000])
    db.session.commit()
    return reg, [i["id"] for i in insurers]


def timed(fn, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        db.session.rollback()  # each call starts from a fresh session, like a request
        db.session.expunge_all()
    return statistics.median(times), max(times)


def main() -> None:
    n_exchanges = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    n_insurers = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    url = normalise_db_url(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    tmp = tempfile.mkdtemp(prefix="bench-supervision-")
    url = url or f"sqlite:///{tmp}/bench.db"
    migrate_to_head(url, tmp)
    app = make_app(url, tmp)
    with app.app_context():
        start = time.perf_counter()
        reg, insurer_ids = load_world(n_exchanges, n_insurers)
        reg_id = reg.id
        loaded = time.perf_counter() - start
        client, secret = auth.create_client(reg, "bench", None, "bench")
        db.session.commit()
        c = app.test_client()
        basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        token = c.post("/oauth/token", data={"grant_type": "client_credentials"},
                       headers={"Authorization": f"Basic {basic}"}).json["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        failed = insurer_ids[:2]
        body = {"failed_insurers": failed}

        def http():
            r = c.post("/api/v1/supervision/scenarios", json=body, headers=bearer)
            assert r.status_code == 200, r.json
            assert len(r.json["items"]) == n_exchanges
            return r

        first = http().json
        losing = sum(1 for row in first["items"] if row["offset_after"] != row["offset_before"])
        trivial = timed(lambda: db.session.execute(text("SELECT 1")).scalar(), rounds * 20)
        health = timed(lambda: c.get("/healthz"), rounds * 4)
        service = timed(lambda: supervision.run_scenario(db.session.get(Organization, reg_id), failed), rounds)
        exposure = timed(lambda: supervision.exposure_of(db.session.get(Organization, reg_id)), rounds)
        endpoint = timed(http, rounds)
        db.engine.dispose()
    backend = url.split(":")[0]
    print(f"{backend}: {n_exchanges} exchanges x {n_insurers} insurers, {n_exchanges * PER} allocations "
          f"(world loaded in {loaded:.1f} s); scenario fails 2 insurers, {losing} exchanges lose cover")
    print(f"{'':<44}{'median s':>10}{'max s':>10}")
    for name, (med, worst) in (("baseline: SELECT 1", trivial), ("baseline: GET /healthz", health),
                               ("exposure (service call)", exposure), ("scenario (service call)", service),
                               ("POST /api/v1/supervision/scenarios", endpoint)):
        print(f"{name:<44}{med:>10.4f}{worst:>10.4f}")
    print(f"scenario endpoint / GET /healthz: {endpoint[0] / health[0]:,.0f}x; target < 2 s: "
          f"{'met' if endpoint[1] < 2 else 'NOT met'} (max {endpoint[1]:.3f} s)")


if __name__ == "__main__":
    main()
