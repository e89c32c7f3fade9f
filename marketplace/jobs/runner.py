"""Running one job inside the app that the worker built (`marketplace worker`), in a unit of work."""

from __future__ import annotations

import logging

from flask import has_app_context

log = logging.getLogger("marketplace.jobs")


def run(name: str, kwargs: dict, pending: str | None = None):
    """Run the job `name`. `pending`: the mark its nudge set (queues.RQQueue.nudge), cleared first, so that a
    commit after this moment nudges a new job rather than counting on this one."""
    if not has_app_context():
        # A bare `rq worker` would build nothing and silently use a default database: refuse instead.
        raise RuntimeError("marketplace jobs run only under `marketplace worker` (it builds the app from the "
                           "same configuration as the web)")
    from ..uow import unit_of_work
    from . import resolve

    fn = resolve(name)
    if pending is not None:
        from flask import current_app

        current_app.extensions["queue"].connection.delete(pending)
    with unit_of_work():
        return fn(**kwargs)
