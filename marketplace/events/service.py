"""Recording events: the event and one delivery per subscriber, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Integer, String, bindparam, func, insert, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from ..db import UTCDateTime, new_id, utcnow
from ..extensions import db
from .handlers import HANDLERS
from .kinds import DomainEvent
from .models import Delivery, Event

_EVENT, _DELIVERY = insert(Event.__table__), insert(Delivery.__table__)
_EVENT_FIELDS = ("id", "kind", "subject_id", "jurisdiction", "audience", "payload", "actor")


def _both_at_once():
    """PostgreSQL: the event and its deliveries in one statement (a data-modifying CTE), one round trip."""
    now = bindparam("now", type_=UTCDateTime())
    new_event = _EVENT.values({f: bindparam(f) for f in _EVENT_FIELDS} | {"created_at": now}) \
        .returning(Event.__table__.c.id).cte("new_event")
    subs = select(func.unnest(bindparam("delivery_ids", type_=ARRAY(String))).label("id"),
                  func.unnest(bindparam("subscribers", type_=ARRAY(String))).label("subscriber")).subquery("subs")
    rows = select(subs.c.id, new_event.c.id, subs.c.subscriber, literal("pending", String), literal(0, Integer),
                  now, now).select_from(subs).join(new_event, true())
    return _DELIVERY.from_select(["id", "event_id", "subscriber", "status", "attempts", "next_attempt_at",
                                  "created_at"], rows).add_cte(new_event)


_BOTH = _both_at_once()


def record(event: DomainEvent, actor: str) -> str:
    """Write the event and its deliveries in the current transaction (they commit or roll back with the
    change), and ask for the relay once the unit of work commits; the event's id.

    Plain table statements, not ORM objects: nothing in the request reads these rows back, and the
    unit-of-work flush cost more than the statements (issue 15). On PostgreSQL one statement writes both."""
    event_id, now = new_id(), utcnow()
    fields = {"id": event_id, "kind": event.kind, "subject_id": event.subject_id, "jurisdiction": event.jurisdiction,
              "audience": event.audience(), "payload": event.payload(), "actor": actor}
    subscribers = list(HANDLERS[event.kind])
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_BOTH, fields | {"now": now, "subscribers": subscribers,
                                         "delivery_ids": [new_id() for _ in subscribers]})
    else:
        session.execute(_EVENT, fields | {"created_at": now})
        session.execute(_DELIVERY, [{"id": new_id(), "event_id": event_id, "subscriber": name, "status": "pending",
                                     "attempts": 0, "next_attempt_at": now, "last_error": None, "done_at": None,
                                     "created_at": now} for name in subscribers])
    from ..jobs import nudge
    from ..uow import after_commit

    after_commit(nudge, "relay")
    return event_id
