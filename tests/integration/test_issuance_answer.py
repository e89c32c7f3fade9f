"""The issuance answer (issue 15): it shows the certificate as the issuing request wrote and committed it, with
the receipt of the log batch the request waited for, without reading either back. It must equal what a later
GET of the certificate reads from the database, on SQLite and PostgreSQL; counts, never timings."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.obligations.models import ObligationRecord
from marketplace.registry import service as registry
from tests.bearer import bearer_headers
from tests.sql_statements import statements

R = "/api/v1"


def test_the_issuance_answer_is_what_the_database_holds_and_is_not_read_back(demo):
    app = current_app._get_current_object()
    sakura = registry.find_exchange("Kanto-FB-00099", "JP")
    headers = bearer_headers(app, sakura.org)
    ob = db.session.scalar(select(ObligationRecord.id).filter_by(exchange_id=sakura.org_id,
                                                                superseded_at=None))
    client = app.test_client()
    answers = []
    for _ in range(2):  # the second supersedes the first (a revocation in the same transaction)
        db.session.remove()
        with statements() as seen:
            r = client.post(f"{R}/certificates", json={"obligation": ob}, headers=headers)
        assert r.status_code == 201, r.get_data(as_text=True)
        reread = [s for s in seen if s.startswith("SELECT certificates.") and "WHERE certificates.id = " in s]
        assert reread == [], reread  # the certificate is not loaded again after its commits
        assert not any("FROM tlog_entries WHERE tlog_entries.certificate_id" in s for s in seen)  # index known
        assert r.json["receipt"] is not None and r.json["receipt"]["leafIndex"] >= 0
        db.session.remove()
        stored = client.get(f"{R}/certificates/{r.json['id']}", headers=headers)
        assert stored.status_code == 200
        assert r.json == stored.json  # every field, the receipt too (the checkpoint is still the latest)
        answers.append(r.json)
    first = client.get(f"{R}/certificates/{answers[0]['id']}", headers=headers).json
    assert answers[0]["status"]["status"] == "valid" and first["status"]["status"] == "revoked"
    assert first["status"]["reason"] == f"superseded by certificate {answers[1]['id']}"
