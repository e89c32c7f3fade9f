"""The two queues: RQ (Redis) and in-process. Chosen once by `install(app)` from REDIS_URL."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from . import resolve
from .runner import run

QUEUE_NAME = "marketplace"
PENDING_TTL = 60  # seconds: a nudge's pending mark outlives a job that never started (a dead worker) this long
log = logging.getLogger("marketplace.jobs")


# Jobs that talk to the outside world: in-process, they run on a thread of their own so that a slow
# webhook receiver never holds up the request whose commit nudged them.
OFF_THREAD = frozenset({"webhooks.send"})


class InProcessQueue:
    """Runs the job in this process and app (one machine, nothing else installed): at once, or, for the
    OFF_THREAD jobs when `background` is on, on a short-lived thread with its own app context."""

    name = "in-process"

    def __init__(self, app: Flask | None = None, background: bool = False):
        self.app, self.background = app, background

    def enqueue(self, name: str, **kwargs):
        if self.background and self.app is not None and name in OFF_THREAD:
            threading.Thread(target=self._run_in_app, args=(name, kwargs), name=f"job-{name}", daemon=True).start()
            return None
        return run(name, kwargs)

    def nudge(self, name: str) -> None:
        self.enqueue(name)

    def _run_in_app(self, name: str, kwargs: dict) -> None:
        with self.app.app_context():
            try:
                run(name, kwargs)
            except Exception:  # the schedule runs it again; nothing to report to a request long gone
                log.exception("background job %s failed", name)

    def depth(self) -> int:
        return 0


class RQQueue:
    name = "rq"

    def __init__(self, url: str):
        from redis import Redis
        from rq import Queue

        # short timeouts: a nudge to a Redis that is down must fail fast (the relay's schedule catches up)
        self.connection = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        self.queue = Queue(QUEUE_NAME, connection=self.connection)

    def enqueue(self, name: str, **kwargs):
        resolve(name)
        return self.queue.enqueue(run, name, kwargs, result_ttl=3600, failure_ttl=7 * 86400)

    def nudge(self, name: str) -> None:
        """Ask for the job `name` (no arguments) to run after this commit. A job of that name that is queued
        and not yet started will see this commit, so a second one is not queued: the first nudge sets a
        pending mark, the job clears it as it starts (runner.run), and a nudge finding the mark set does
        nothing. Under load this is one Redis command per commit instead of a job each."""
        resolve(name)
        mark = pending_mark(name)
        if self.connection.set(mark, "1", nx=True, ex=PENDING_TTL):
            self.queue.enqueue(run, name, {}, mark, result_ttl=3600, failure_ttl=7 * 86400)

    def depth(self) -> int:
        return self.queue.count


def pending_mark(name: str) -> str:
    return f"{QUEUE_NAME}:nudged:{name}"


def install(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    # only a long-running web process (`make run`, which also runs the schedule thread) sends off-thread: a
    # command would exit under a running send, and tests want what a request caused done when it answers
    background = bool(app.config.get("JOBS_OFF_THREAD", app.config.get("SCHEDULER_THREAD")))
    app.extensions["queue"] = RQQueue(url) if url else InProcessQueue(app, background=background)
