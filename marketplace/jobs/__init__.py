"""Background jobs: RQ on Redis when REDIS_URL is set, otherwise run in-process at once.

Jobs are referenced by dotted name and run inside an app context built from the environment, so an
RQ worker needs nothing but `rq worker --url $REDIS_URL marketplace`.
"""

from __future__ import annotations

import importlib

from flask import current_app

QUEUE = "marketplace"


def _resolve(name: str):
    module, _, attr = name.rpartition(".")
    if not module.startswith("marketplace."):
        raise ValueError(f"job {name!r} is not a marketplace job")
    return getattr(importlib.import_module(module), attr)


def run_job(name: str, kwargs: dict, config: dict | None = None):
    """Worker-side entry point: build the app, run the job in one transaction."""
    from ..app import create_app
    from ..extensions import db

    app = create_app(config)
    with app.app_context():
        try:
            out = _resolve(name)(**kwargs)
            db.session.commit()
            return out
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
            db.engine.dispose()


def enqueue(name: str, **kwargs):
    """Queue a job (RQ) or, with no Redis configured, run it now in this process and return its result."""
    _resolve(name)  # refuse unknown jobs before queueing them
    url = current_app.config.get("REDIS_URL")
    if not url:
        return _resolve(name)(**kwargs)
    from redis import Redis
    from rq import Queue

    queue = Queue(QUEUE, connection=Redis.from_url(url))
    return queue.enqueue(run_job, name, kwargs, current_app.config.get("JOB_CONFIG"))
