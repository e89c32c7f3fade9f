from __future__ import annotations

from flask import g, has_request_context

from ..extensions import db
from .models import KINDS, Event


def record(kind: str, subject_id: str, actor: str, **payload) -> Event:
    """Add an event to the current transaction (it commits or rolls back with the change)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind}")
    ev = Event(kind=kind, subject_id=subject_id, actor=actor, payload=payload)
    db.session.add(ev)
    if has_request_context():
        g.events_recorded = True  # the request's guard runs the consumer once this commits
    return ev
