"""The adequacy check (DESIGN 8, "Jobs"): recompute each live obligation's offset against current policies
and ratings, and record `reserve.shortfall` when the net reserve required exceeds the cash held.

It runs daily over every live obligation, and for one exchange when an event may have shrunk its offset: not
when a certificate is revoked only because a newer one of the same obligation took its place (every
issuance does that; it changes neither the offset nor the cash held, and rechecking repeated the last
shortfall to every subscriber).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..certificates.service import is_supersession
from ..db import utcnow
from ..events import kinds
from ..events import service as events
from ..events.models import Event
from ..extensions import db
from ..obligations import service as obligations
from ..obligations.models import ObligationRecord
from ..registry.models import Exchange
from ..reports.service import reserve_held

ACTOR = "adequacy-check"


def live_obligations(today: date, exchange_id: str | None = None) -> list[ObligationRecord]:
    """Current revisions whose period has not ended."""
    q = select(ObligationRecord).where(ObligationRecord.superseded_at.is_(None), ObligationRecord.period_end >= today)
    if exchange_id:
        q = q.where(ObligationRecord.exchange_id == exchange_id)
    return list(db.session.scalars(q.order_by(ObligationRecord.exchange_id, ObligationRecord.period_start)))


def check(ob: ObligationRecord, today: date) -> kinds.ReserveShortfall | None:
    report, _ = obligations.offset_for(ob)
    _held, cash, short = reserve_held(ob.exchange_id, report.net_reserve, today)
    if short.amount <= 0:
        return None
    ex = db.session.get(Exchange, ob.exchange_id)
    event = kinds.ReserveShortfall(
        obligation_id=ob.id, exchange_id=ob.exchange_id, jurisdiction=ex.jurisdiction, period=ob.period,
        net_reserve_required=report.net_reserve.as_dict(), cash_held=cash.as_dict() if cash else None,
        shortfall=short.as_dict(), checked_at=utcnow().isoformat(timespec="seconds"))
    events.record(event, ACTOR)
    return event


def daily(today: date | None = None) -> dict:
    """Every live obligation (a scheduled job)."""
    today = today or utcnow().date()
    live = live_obligations(today)
    found = [e for ob in live if (e := check(ob, today)) is not None]
    return {"checked": len(live), "shortfalls": len(found)}


def handle(ev: kinds.DomainEvent, row: Event | None = None) -> int:
    """An event that may have shrunk an exchange's offset: check that exchange's live obligations now."""
    exchange_id = getattr(ev, "exchange_id", None)
    if not exchange_id:
        return 0
    if isinstance(ev, kinds.CertificateRevoked) and is_supersession(ev.reason):
        return 0  # each issuance revokes the one before: its offset and the cash held are as they were
    today = utcnow().date()
    return sum(check(ob, today) is not None for ob in live_obligations(today, exchange_id))
