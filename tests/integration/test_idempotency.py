"""Idempotency-Key on SQLite and PostgreSQL: replay, conflicting replay, per-client keys, expiry, races."""

import threading
from datetime import timedelta

from sqlalchemy import update

from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.registry.models import Organization
from marketplace.web.idempotency import IdempotencyKey
from tests.api.conftest import World

URL = "/api/v1/organizations"
BODY = {"kind": "insurer", "name": "Idem Re"}


def insurers():
    db.session.remove()
    return db.session.query(Organization).filter_by(name="Idem Re").count()


def test_replay_returns_stored_response_without_redoing_work(demo):
    w = World(demo)
    first = w.call("post", URL, "fsa", json=BODY, headers={"Idempotency-Key": "k1"})
    again = w.call("post", URL, "fsa", json=BODY, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert insurers() == 1
    other = w.call("post", URL, "fsa", json=BODY, headers={"Idempotency-Key": "k2"})
    assert other.status_code == 201 and other.json["id"] != first.json["id"]


def test_same_key_different_body_is_422(demo):
    w = World(demo)
    w.call("post", URL, "fsa", json=BODY, headers={"Idempotency-Key": "k"})
    r = w.call("post", URL, "fsa", json={**BODY, "name": "Other"}, headers={"Idempotency-Key": "k"})
    assert r.status_code == 422 and r.json["errors"][0]["header"] == "Idempotency-Key"
    assert insurers() == 1


def test_keys_are_per_client_and_expire(demo):
    w = World(demo)
    w.call("post", URL, "fsa", json=BODY, headers={"Idempotency-Key": "shared"})
    w2 = World(demo)  # another client of the same regulator
    r = w2.call("post", URL, "fsa", json=BODY, headers={"Idempotency-Key": "shared"})
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert insurers() == 2
    db.session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    r = w.call("post", URL, "fsa", json=BODY, headers={"Idempotency-Key": "shared"})
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert insurers() == 3


def test_failed_requests_are_replayed_too_and_leave_nothing(demo):
    w = World(demo)
    bad = {"kind": "exchange", "name": "X"}
    r1 = w.call("post", URL, "fsa", json=bad, headers={"Idempotency-Key": "bad"})
    r2 = w.call("post", URL, "fsa", json=bad, headers={"Idempotency-Key": "bad"})
    assert r1.status_code == r2.status_code == 422 and r1.json == r2.json
    assert w.call("post", URL, "fsa", json=BODY, headers={"Idempotency-Key": ""}).status_code == 400


def test_concurrent_replays_have_one_effect(demo):
    w = World(demo)
    headers = {**w.as_("fsa"), "Idempotency-Key": "race"}
    db.session.remove()
    barrier = threading.Barrier(2)
    results = []

    def go():
        client = demo.test_client()
        barrier.wait()
        r = client.post(URL, json=BODY, headers=headers)
        results.append((r.status_code, r.json))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [s for s, _ in results] == [201, 201]
    assert results[0][1]["id"] == results[1][1]["id"]
    assert insurers() == 1
