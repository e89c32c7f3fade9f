"""The two queues: RQ (Redis) and in-process. Chosen once by `install(app)` from REDIS_URL."""

from __future__ import annotations

import logging

from flask import Flask

from . import resolve
from .runner import run

QUEUE_NAME = "marketplace"
log = logging.getLogger("marketplace.jobs")


class InProcessQueue:
    """Runs the job at once in this process and app (one machine, nothing else installed)."""

    name = "in-process"

    def enqueue(self, name: str, **kwargs):
        return run(name, kwargs)

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

    def depth(self) -> int:
        return self.queue.count


def install(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["queue"] = RQQueue(url) if url else InProcessQueue()
