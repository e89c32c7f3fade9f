"""`marketplace worker` and `marketplace scheduler`: the deployment's job processes.

Both build the app from the same configuration as the web (the flask CLI's app), say which database
and queue they serve, and refuse to start on a database that is missing or not migrated, so a worker
can never quietly run against a default SQLite file. Both live through a Redis outage (RQ's own loops
give up on some Redis errors): they start again once Redis answers, so its loss delays jobs, never ends them.
"""

from __future__ import annotations

import logging
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

log = logging.getLogger("marketplace.jobs")
RECONNECT_WAIT = (1, 2, 5)  # seconds the worker or scheduler waits after each Redis failure in a row (then 5 s)


def _database_label() -> str:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)


def _redis_label(url: str) -> str:
    return make_url(url.replace("redis://", "redis+x://", 1)).render_as_string(hide_password=True) \
        .replace("redis+x://", "redis://", 1)


def _ready_or_exit(role: str) -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        click.echo(f"error: the {role} needs REDIS_URL (without it, jobs run in the web process)", err=True)
        sys.exit(2)
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from ..db.migrations import migration_state
    from ..extensions import db

    try:
        current, head = migration_state(db.engine, current_app.extensions["migrate"].directory)
    except SQLAlchemyError as e:  # unreachable database, wrong credentials, ...
        click.echo(f"error: cannot reach the database {_database_label()}: {e.__class__.__name__}", err=True)
        sys.exit(2)
    except CommandError as e:  # the migrations themselves are missing (an install without migrations/)
        click.echo(f"error: cannot read the migrations: {e}", err=True)
        sys.exit(2)
    if current != head:
        click.echo(f"error: the database {_database_label()} is at migration {current or 'none'}, the code "
                   f"needs {head}: run `flask --app wsgi db upgrade` first", err=True)
        sys.exit(2)
    click.echo(f"{role}: database {_database_label()} (migration {head}), queue {_redis_label(url)}")
    return url


def _redis_errors() -> tuple[type[Exception], ...]:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return RedisConnectionError, RedisTimeoutError


def _wait_for_redis(role: str, failures: int, error: object) -> bool:
    """After RQ gave up on Redis: wait a little (1, 2, then 5 s) before starting again. False when a stop
    (SIGTERM / SIGINT) arrives meanwhile: RQ's signal handlers stay installed and raise StopRequested."""
    from rq.exceptions import StopRequested

    wait = RECONNECT_WAIT[min(failures, len(RECONNECT_WAIT) - 1)]
    log.warning("%s: Redis unreachable (%s); starting again in %d s", role, error, wait)
    try:
        time.sleep(wait)
    except StopRequested:
        return False
    return True


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run until the queue is empty, then exit.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run queued jobs (RQ) inside this app: the relay, webhook sends, sweeps, checks."""
    from rq import SimpleWorker

    from .queues import QUEUE_NAME

    class Worker(SimpleWorker):
        stopping = False
        max_connection_wait_time = RECONNECT_WAIT[-1]  # an idle worker's retries for Redis (RQ: up to 60 s)

        def handle_warm_shutdown_request(self):  # SIGTERM / SIGINT: the one way a long-running worker ends
            self.stopping = True
            super().handle_warm_shutdown_request()

    _ready_or_exit("worker")
    queue = current_app.extensions["queue"]
    failures = 0
    while True:
        worker, started, error = None, time.monotonic(), None
        try:
            # SimpleWorker runs each job in this process, inside the app context the CLI pushed.
            worker = Worker([queue.queue], connection=queue.connection)  # (it asks Redis for its address)
            worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
        except _redis_errors() as e:  # starting, or registering its death after RQ quit: Redis is away
            if burst:
                raise
            error = e
        if burst or (worker is not None and worker.stopping):
            break
        # RQ's worker quits on a Redis error met outside its wait for jobs (finishing a job, a heartbeat):
        # Redis loss must delay the jobs, not end the worker.
        failures = 0 if time.monotonic() - started > 60 else failures
        if not _wait_for_redis("worker", failures, error or "the worker quit"):
            break
        failures += 1
    click.echo(f"worker stopped ({QUEUE_NAME})")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Enqueue periodic jobs (RQ cron): relay, webhook retries, status lists, expiry sweep, adequacy."""
    from rq.cron import CronScheduler

    from .queues import QUEUE_NAME
    from .schedule import register_cron

    _ready_or_exit("scheduler")
    queue = current_app.extensions["queue"]
    failures = 0
    while True:
        # RQ's scheduler exits on the first Redis error; Redis loss must delay the schedule, not end it. A new
        # scheduler's interval jobs are due at once, so the relay is enqueued as soon as Redis is back.
        started = time.monotonic()
        try:
            cron = CronScheduler(connection=queue.connection)
            register_cron(cron, QUEUE_NAME)
            cron.start()  # returns on SIGTERM / SIGINT
            return
        except _redis_errors() as e:
            failures = 0 if time.monotonic() - started > 60 else failures
            if not _wait_for_redis("scheduler", failures, e):
                return
            failures += 1
