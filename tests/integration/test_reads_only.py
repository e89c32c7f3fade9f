"""web.guard.reads_only (issue 15): on PostgreSQL the hot read routes (verify, the market search, an offset
report) run on an autocommit connection, with no BEGIN and COMMIT round trips; the connection goes back to the
pool transactional, so the next request that writes is one atomic unit of work again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.certificates import online
from marketplace.certificates.models import Certificate
from marketplace.extensions import db
from marketplace.market import search
from marketplace.obligations import service as obligations
from marketplace.obligations.models import ObligationRecord
from marketplace.registry import service as registry
from tests.drills import client_credentials


def autocommit() -> bool:
    return db.session.connection().connection.driver_connection.autocommit


def test_read_routes_run_in_autocommit_and_writes_stay_atomic(demo, database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("autocommit reads are a PostgreSQL round-trip saving (SQLite keeps its transactions)")
    seen: dict[str, bool] = {}

    def spy(name, fn):
        def wrapper(*args, **kwargs):
            seen[name] = autocommit()
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(online, "snapshot", spy("verify", online.snapshot))
    monkeypatch.setattr(search, "standings", spy("offerings", search.standings))
    monkeypatch.setattr(obligations, "offset_for", spy("offset", obligations.offset_for))
    sakura = registry.find_exchange("Kanto-FB-00099", "JP")
    cid, secret = client_credentials(sakura.org)
    jws = db.session.scalar(select(Certificate.jws))
    ob = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=sakura.org_id, superseded_at=None))
    db.session.commit()
    db.session.remove()
    client = demo.test_client()
    token = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                              "client_secret": secret}).json["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/verify", json={"certificate": jws}).json["valid"] is True
    assert client.get("/api/v1/offerings", headers=auth).status_code == 200
    assert client.get(f"/api/v1/obligations/{ob}/offset", headers=auth).status_code == 200
    assert seen == {"verify": True, "offerings": True, "offset": True}

    # a write after them: transactional again, so a failure leaves nothing behind
    monkeypatch.setattr(obligations, "offset_for", spy("issue", obligations.offset_for))
    r = client.post("/api/v1/certificates", json={"obligation": ob}, headers=auth)
    assert r.status_code == 201, r.json
    assert seen["issue"] is False
    with demo.test_request_context():
        assert autocommit() is False  # the pooled connection came back as it went out
        db.session.rollback()
