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


def test_through_rq_and_redis(demo, database_url, tmp_path):
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis not configured (TEST_REDIS_URL unset); .ci/run always sets it")
    from redis import Redis
    from rq import Queue, SimpleWorker

    from marketplace.jobs import queues

    conn = Redis.from_url(url)
    conn.flushdb()
    demo.config["REDIS_URL"] = url
    queues.install(demo)  # the queue is chosen once, from the configuration, as create_app does
    try:
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
    finally:
        demo.config["REDIS_URL"] = None
        queues.install(demo)
        conn.flushdb()


def test_a_job_outside_the_app_is_refused():
    """A bare `rq worker` has no app: the job refuses instead of using a default database."""
    from marketplace.jobs.runner import run

    with pytest.raises(RuntimeError, match="marketplace worker"):
        run(JOB, {"exchange_id": "x", "period": "2027-Q1"})
