from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from ..domain.fx import FxRate
from ..extensions import db
from .models import FxRateRecord


def record(rate: FxRate) -> FxRateRecord:
    """Record a reference rate once (same pair, date and source twice is a no-op)."""
    row = db.session.scalar(select(FxRateRecord).filter_by(base=rate.base, quote=rate.quote,
                                                           as_of=rate.as_of, source=rate.source))
    if row is None:
        row = FxRateRecord(base=rate.base, quote=rate.quote, rate=str(rate.rate), as_of=rate.as_of,
                           source=rate.source)
        db.session.add(row)
        db.session.flush()
    return row


_RATES = select(FxRateRecord.base, FxRateRecord.quote, FxRateRecord.rate, FxRateRecord.as_of, FxRateRecord.source)


def rates(on_or_before: date | None = None) -> list[FxRate]:
    """Every reference rate (as of `on_or_before` or earlier), as plain rows: every offset report reads them."""
    q = _RATES if on_or_before is None else _RATES.where(FxRateRecord.as_of <= on_or_before)
    return [FxRate(r.base, r.quote, Decimal(r.rate), r.as_of, r.source) for r in db.session.execute(q)]
