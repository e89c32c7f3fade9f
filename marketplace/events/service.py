"""Recording events: the event and one delivery per subscriber, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import insert

from ..db import new_id, utcnow
from ..extensions import db
from .handlers import HANDLERS
from .kinds import DomainEvent
from .models import Delivery, Event

_EVENT, _DELIVERY = insert(Event.__table__), insert(Delivery.__table__)


def record(event: DomainEvent, actor: str) -> str:
    """Write the event and its deliveries in the current transaction (they commit or roll back with the
    change), and ask for the relay once the unit of work commits; the event's id.

    Plain table inserts, not ORM objects: nothing in the request reads these rows back, and the unit-of-work
    flush of two pending objects cost more than the statements themselves (issue 15)."""
    event_id, now = new_id(), utcnow()
    session = db.session()
    session.execute(_EVENT, {"id": event_id, "kind": event.kind, "subject_id": event.subject_id,
                             "jurisdiction": event.jurisdiction, "audience": event.audience(),
                             "payload": event.payload(), "actor": actor, "created_at": now})
    session.execute(_DELIVERY, [{"id": new_id(), "event_id": event_id, "subscriber": name, "status": "pending",
                                 "attempts": 0, "next_attempt_at": now, "last_error": None, "done_at": None,
                                 "created_at": now} for name in HANDLERS[event.kind]])
    from ..jobs import nudge
    from ..uow import after_commit

    after_commit(nudge, "relay")
    return event_id
