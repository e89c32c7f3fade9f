"""Policy jobs (scheduled through marketplace.jobs.schedule)."""

from __future__ import annotations

from ..db import utcnow
from . import service


def lapse_expired() -> dict:
    """The policy-expiry sweep: lapse every active policy whose term has ended (each lapse is an event)."""
    return {"lapsed": service.lapse_expired(utcnow().date(), "expiry-sweep")}
