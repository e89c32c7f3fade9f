"""Recording events: the event and one delivery per subscriber, in the caller's transaction."""

from __future__ import annotations

from ..extensions import db
from .handlers import HANDLERS
from .kinds import DomainEvent
from .models import Delivery, Event


def record(event: DomainEvent, actor: str) -> Event:
    """Add the event and its deliveries to the current transaction (they commit or roll back with the
    change), and ask for the relay once the unit of work commits."""
    row = Event(kind=event.kind, subject_id=event.subject_id, jurisdiction=event.jurisdiction,
                audience=event.audience(), payload=event.payload(), actor=actor)
    db.session.add(row)
    db.session.flush()
    for name in HANDLERS[event.kind]:
        db.session.add(Delivery(event_id=row.id, subscriber=name))
    from ..jobs import nudge
    from ..uow import after_commit

    after_commit(nudge, "relay")
    return row
