"""Obligation jobs (queued through marketplace.jobs)."""

from __future__ import annotations

from ..registry.models import Exchange
from . import service


def recompute(exchange_id: str, period: str, actor: str = "job") -> dict:
    from ..extensions import db

    ex = db.session.get(Exchange, exchange_id)
    row = service.compute(ex, period, actor)
    return {"obligation": row.id, "revision": row.revision, "total": str(row.total), "currency": row.currency}
