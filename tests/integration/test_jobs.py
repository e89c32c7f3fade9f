"""Jobs run in-process without Redis, and through a real RQ queue with Redis."""

import os

import pytest

from marketplace.extensions import db
from marketplace.jobs import enqueue
from marketplace.obligations.models import ObligationRecord
from marketplace.registry import service as registry

JOB = "marketplace.obligations.jobs.recompute"


def test_in_process_without_redis(demo):
    ex = registry.find_exchange("SFC-BPX123")
    out = enqueue(JOB, exchange_id=ex.org_id, period="2027-Q1")
    assert out["total"] == str(120_000_000_00 + 2_940_000_000_00) and out["revision"] == 1


def test_unknown_job_is_refused(demo):
    with pytest.raises((ValueError, AttributeError)):
        enqueue("os.system", command="true")
    with pytest.raises(AttributeError):
        enqueue("marketplace.obligations.jobs.nope")


@pytest.fixture
def redis_queue(demo):
    """The demo app's jobs on a real RQ queue (TEST_REDIS_URL, flushed before and after): the Redis client."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis not configured (TEST_REDIS_URL unset); .ci/run always sets it")
    from redis import Redis

    from marketplace.jobs import queues

    conn = Redis.from_url(url)
    conn.flushdb()
    demo.config["REDIS_URL"] = url
    queues.install(demo)  # the queue is chosen once, from the configuration, as create_app does
    try:
        yield conn
    finally:
        demo.config["REDIS_URL"] = None
        queues.install(demo)
        conn.flushdb()


def test_through_rq_and_redis(redis_queue):
    from rq import Queue, SimpleWorker

    conn = redis_queue
    ex = registry.find_exchange("SFC-BPX123")
    job = enqueue(JOB, exchange_id=ex.org_id, period="2027-Q1")
    hk = db.session.query(ObligationRecord).filter_by(exchange_id=ex.org_id)
    assert hk.count() == 0  # queued, not run
    db.session.remove()  # release SQLite's lock for the worker's own connection
    # the worker runs jobs inside the app it was started with (`marketplace worker` does the same)
    SimpleWorker([Queue("marketplace", connection=conn)], connection=conn).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert job.return_value()["revision"] == 1
    assert db.session.query(ObligationRecord).filter_by(exchange_id=ex.org_id).count() == 1


def test_a_job_outside_the_app_is_refused():
    """A bare `rq worker` has no app: the job refuses instead of using a default database."""
    from marketplace.jobs.runner import run

    with pytest.raises(RuntimeError, match="marketplace worker"):
        run(JOB, {"exchange_id": "x", "period": "2027-Q1"})


def test_a_nudge_while_a_job_is_still_queued_queues_no_second_one(redis_queue):
    """RQQueue.nudge: a job that is queued and not started yet will see the nudging commit, so a second nudge
    queues nothing; once the job starts (it clears its pending mark first), the next nudge queues a new one."""
    from rq import Queue, SimpleWorker

    from marketplace.jobs import nudge, queues

    conn = redis_queue
    rq = Queue("marketplace", connection=conn)
    nudge("relay")
    nudge("relay")
    nudge("tlog.integrate")
    assert rq.count == 2 and conn.exists(queues.pending_mark("relay"))
    assert 0 < conn.ttl(queues.pending_mark("relay")) <= queues.PENDING_TTL  # a dead worker's mark expires
    db.session.remove()
    SimpleWorker([rq], connection=conn).work(burst=True)
    assert rq.count == 0 and not conn.exists(queues.pending_mark("relay"))
    assert all(j.is_finished for j in (rq.fetch_job(i) for i in rq.finished_job_registry.get_job_ids()))
    nudge("relay")  # the earlier job has run: this commit needs a job of its own
    assert rq.count == 1


def test_one_commit_nudges_each_job_once(demo):
    """Two events in one unit of work register the relay's nudge twice; it runs once after the commit."""
    from marketplace.uow import unit_of_work

    calls = []
    with demo.test_request_context(), unit_of_work() as uow:
        uow.after_commit(calls.append, "relay")
        uow.after_commit(calls.append, "relay")
        uow.after_commit(calls.append, "webhooks.send")
    assert calls == ["relay", "webhooks.send"]
