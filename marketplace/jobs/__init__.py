"""Background jobs behind one seam: `nudge("relay")` or `enqueue(name, **kwargs)`.

The queue is chosen once in create_app (marketplace.jobs.queues): RQ on Redis when REDIS_URL is set,
in-process otherwise; nothing else branches on Redis. Jobs are named in JOBS (or by a dotted path
under marketplace.) and always run inside the app that the worker built from the same configuration.
"""

from __future__ import annotations

import importlib

from flask import current_app

# short name -> the function that does the work (each runs in its own unit of work)
JOBS: dict[str, str] = {
    "relay": "marketplace.events.relay.relay",
    "webhooks.send": "marketplace.webhooks.sender.send_due",
    "statuslists.republish": "marketplace.certificates.statuslists.republish_due",
    "policies.lapse": "marketplace.policies.jobs.lapse_expired",
    "adequacy.daily": "marketplace.adequacy.service.daily",
    "obligations.recompute": "marketplace.obligations.jobs.recompute",
    "tlog.integrate": "marketplace.tlog.sequencer.integrate",
}


def resolve(name: str):
    path = JOBS.get(name, name)
    module, _, attr = path.rpartition(".")
    if not module.startswith("marketplace."):
        raise ValueError(f"job {name!r} is not a marketplace job")
    return getattr(importlib.import_module(module), attr)


def enqueue(name: str, **kwargs):
    """Queue a job; the in-process queue runs it now and returns its result."""
    resolve(name)  # refuse unknown jobs before queueing them
    return current_app.extensions["queue"].enqueue(name, **kwargs)


def nudge(name: str) -> None:
    """Ask for a job soon. Used after a commit: failure is the caller's to log, the schedule catches up. A job
    already queued and not yet started counts (it will see the commit): no second one is queued."""
    current_app.extensions["queue"].nudge(name)
