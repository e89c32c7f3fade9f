"""The event spine on both databases: one delivery per subscriber, failures retried alone with backoff,
a lost nudge is a delay and never an error, and the unit of work commits or rolls back as a whole."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.db import utcnow
from marketplace.events import handlers
from marketplace.events.models import Delivery, Event
from marketplace.events.relay import backoff, relay
from marketplace.extensions import db
from marketplace.jobs import queues
from marketplace.jobs.schedule import SCHEDULE, run_due
from marketplace.policies import service as policies
from marketplace.policies.models import Policy
from marketplace.uow import unit_of_work
from tests.sql_statements import statements


def deliveries(**by):
    db.session.expire_all()
    return db.session.scalars(select(Delivery).filter_by(**by)).all()


def cancel_usd_policy(actor="test"):
    p = db.session.scalar(select(Policy).filter_by(number="TMC-USD-0042"))
    with unit_of_work():
        policies.cancel(p, date.today() + timedelta(days=200), date.today(), actor, "test")
    return p


def test_each_subscriber_gets_its_own_delivery_in_the_same_transaction(demo):
    db.session.execute(Delivery.__table__.update().values(status="done"))
    db.session.commit()
    with pytest.raises(RuntimeError), unit_of_work():
        p = db.session.scalar(select(Policy).filter_by(number="TMC-USD-0042"))
        policies.cancel(p, date.today() + timedelta(days=200), date.today(), "test", "x")
        raise RuntimeError("the request failed after the change")
    assert db.session.scalar(select(func.count()).select_from(Event).filter_by(kind="policy.cancelled")) == 0
    assert db.session.scalar(select(Policy.status).filter_by(number="TMC-USD-0042")) == "active"
    cancel_usd_policy()
    [ev] = db.session.scalars(select(Event).filter_by(kind="policy.cancelled")).all()
    subs = sorted(d.subscriber for d in deliveries(event_id=ev.id))
    assert subs == sorted(handlers.HANDLERS["policy.cancelled"])
    assert all(d.status == "done" for d in deliveries(event_id=ev.id))  # in-process: relayed after commit


def test_a_failing_subscriber_is_retried_alone_with_backoff(demo, monkeypatch):
    calls = []

    def flaky(ev, row):
        calls.append(ev.kind)
        if len(calls) == 1:
            raise ConnectionError("receiver down")

    db.session.execute(Delivery.__table__.update().values(status="done"))  # the demo's own, out of the way
    db.session.commit()
    monkeypatch.setitem(handlers.SUBSCRIBERS, "webhooks", f"{__name__}.FLAKY")
    globals()["FLAKY"] = flaky
    queue = demo.extensions["queue"]
    demo.extensions["queue"] = _NoQueue()  # nothing runs after commit: the test drives the relay
    try:
        cancel_usd_policy()
        ev = db.session.scalar(select(Event).filter_by(kind="policy.cancelled"))
        out = relay()
        assert out["failed"] == 1 and out["done"] == len(handlers.HANDLERS["policy.cancelled"]) - 1
        [hook] = deliveries(event_id=ev.id, subscriber="webhooks")
        assert (hook.status, hook.attempts) == ("pending", 1) and "receiver down" in hook.last_error
        assert hook.next_attempt_at > utcnow() + timedelta(seconds=3)
        relay()  # runs what the revocation recorded (certificate.revoked), not the webhook: it is not due
        [hook] = deliveries(event_id=ev.id, subscriber="webhooks")
        assert (hook.status, hook.attempts) == ("pending", 1)
        hook.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        with statements() as seen:
            out = relay()
        assert out["failed"] == 0 and out["done"] >= 1
        done = deliveries(event_id=ev.id, subscriber="webhooks")[0]
        assert (done.status, done.attempts, done.last_error) == ("done", 2, None)
        # each attempt and its outcome are written together, and a batch's successes in one UPDATE (issue 15:
        # an UPDATE per delivery, flushed as the next one's savepoint began, was a statement per delivery)
        updates = [s for s in seen if s.startswith("UPDATE event_deliveries")]
        assert out["done"] >= 2 and len(updates) == 1 and "attempts + " in updates[0], seen
    finally:
        demo.extensions["queue"] = queue
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20] and backoff(40) == timedelta(hours=2)


def _due(kind: str, subject_id: str, payload: dict, subscriber: str = "webhooks") -> Delivery:
    """A stored event with one due delivery (not committed)."""
    ev = Event(kind=kind, subject_id=subject_id, audience=[], payload=payload, actor="t")
    db.session.add(ev)
    db.session.flush()
    d = Delivery(event_id=ev.id, subscriber=subscriber)
    db.session.add(d)
    db.session.flush()
    return d


def _pending_webhooks(n: int) -> list[str]:
    """n due deliveries to a subscriber that records each run (SUBSCRIBERS["webhooks"] is patched to it)."""
    db.session.execute(Delivery.__table__.update().values(status="done"))
    ids = [_due("policy.bound", f"p{k}", {"policy_id": f"p{k}", "number": f"N-{k}", "insurer_id": "i",
                                          "exchange_id": "x", "jurisdiction": "JP",
                                          "limit": {"amount": "1", "currency": "JPY"}, "term_start": "2027-01-01",
                                          "term_end": "2027-12-31"}).id for k in range(n)]
    db.session.commit()
    return ids


RUNS: list[str] = []


def record_run(ev, row):
    RUNS.append(row.subject_id)


def test_deliveries_are_claimed_and_committed_in_batches(demo, monkeypatch):
    """A relay run claims a batch of deliveries in one statement, marks its successes done in one UPDATE and
    commits them together, each subscriber still in a savepoint of its own (a failing one is rolled back
    alone: see the test above)."""
    monkeypatch.setitem(handlers.SUBSCRIBERS, "webhooks", f"{__name__}.record_run")
    monkeypatch.setattr("marketplace.events.relay.BATCH", 4)
    RUNS.clear()
    ids = _pending_webhooks(10)
    with statements() as seen:
        assert relay() == {"done": 10, "failed": 0}
    assert sorted(RUNS) == sorted(f"p{k}" for k in range(10))  # each once
    assert all((d.status, d.attempts) == ("done", 1) for d in deliveries() if d.id in ids)
    claims = [s for s in seen if s.startswith("SELECT event_deliveries.") and "event_deliveries.id IN" in s]
    assert len(claims) == 3, claims  # 4 + 4 + 2
    assert len([s for s in seen if s.startswith("UPDATE event_deliveries")]) == 3  # one per batch: its successes


def test_a_batch_whose_commit_fails_runs_again_one_by_one(demo, monkeypatch, caplog):
    """Nothing of a batch whose commit failed holds: each of its deliveries runs again in a unit of its own."""
    from marketplace import uow

    monkeypatch.setitem(handlers.SUBSCRIBERS, "webhooks", f"{__name__}.record_run")
    RUNS.clear()
    ids = _pending_webhooks(3)
    real_commit, failures = uow.UnitOfWork.commit, []

    def commit_once_failing(self):
        if not failures:
            failures.append(1)
            raise ConnectionError("the database went away at commit")
        real_commit(self)

    monkeypatch.setattr(uow.UnitOfWork, "commit", commit_once_failing)
    assert relay() == {"done": 3, "failed": 0}
    assert sorted(RUNS) == ["p0", "p0", "p1", "p1", "p2", "p2"]  # the failed batch's runs left nothing behind
    assert all((d.status, d.attempts) == ("done", 1) for d in deliveries() if d.id in ids)
    assert "running them one by one" in caplog.text


def test_a_stored_payload_that_no_longer_fits_its_kind_fails_alone(demo, monkeypatch):
    """An event whose stored payload lacks a field its kind now needs (written by an older version, say) fails
    its own delivery, as an unknown kind does; it used to stop the whole relay run, every run, from there."""
    monkeypatch.setitem(handlers.SUBSCRIBERS, "webhooks", f"{__name__}.record_run")
    RUNS.clear()
    ids = _pending_webhooks(2)
    bad = _due("policy.bound", "old", {"policy_id": "old"}).event_id
    db.session.commit()
    assert relay() == {"done": 2, "failed": 1}
    [failed] = deliveries(event_id=bad)
    assert failed.status == "failed" and "TypeError" in failed.last_error
    assert all(d.status == "done" for d in deliveries() if d.id in ids) and sorted(RUNS) == ["p0", "p1"]


def test_an_unknown_kind_fails_its_delivery_and_blocks_nothing(demo):
    db.session.execute(Delivery.__table__.update().values(status="done"))
    exploded = _due("policy.exploded", "x", {}, "revocation").event_id
    db.session.commit()
    demo.extensions["queue"], queue = _NoQueue(), demo.extensions["queue"]
    try:
        cancel_usd_policy()
    finally:
        demo.extensions["queue"] = queue
    out = relay()
    assert out["failed"] == 1 and out["done"] >= 1
    [bad] = deliveries(event_id=exploded)
    assert bad.status == "failed" and "unknown event kind" in bad.last_error
    assert not deliveries(status="pending")


def test_a_lost_nudge_is_logged_and_the_change_commits(demo, caplog):
    demo.extensions["queue"], queue = queues.RQQueue("redis://127.0.0.1:1/0"), demo.extensions["queue"]
    try:
        cancel_usd_policy()  # the nudge to a Redis that is not there fails after the commit
    finally:
        demo.extensions["queue"] = queue
    assert db.session.scalar(select(Policy.status).filter_by(number="TMC-USD-0042")) == "cancelled"
    assert "will catch up" in caplog.text
    assert deliveries(status="pending")
    run_due(demo, {}, 1e9)  # the schedule catches up
    assert not [d for d in deliveries(status="pending") if d.subscriber == "revocation"]


def test_the_schedule_names_real_jobs():
    from marketplace.jobs import resolve

    for name, every in SCHEDULE:
        assert callable(resolve(name)) and every > 0


class _NoQueue:
    name = "none"

    def enqueue(self, name, **kwargs):
        return None

    def nudge(self, name):
        return None


def test_in_process_webhook_sends_do_not_hold_up_the_request(demo, monkeypatch):
    """Off-thread in-process jobs (make run): the relay is synchronous, a webhook send runs on its own thread."""
    import threading

    from marketplace.webhooks import sender

    started, release, contexts = threading.Event(), threading.Event(), []

    def slow_send(**kwargs):
        from flask import current_app

        contexts.append(current_app.name)
        started.set()
        release.wait(5)

    monkeypatch.setattr(sender, "send_due", slow_send)
    queue = queues.InProcessQueue(demo, background=True)
    try:
        assert queue.enqueue("webhooks.send") is None  # returned at once
        assert started.wait(5) and contexts == [demo.name]  # the send runs meanwhile, in the app's context
        assert queue.enqueue("relay")["failed"] == 0  # the relay stays synchronous
    finally:
        release.set()
