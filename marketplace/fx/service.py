from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, bindparam, func, select
from sqlalchemy.orm import aliased

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


def latest_on(on):
    """Per pair, the rows of its latest date on or before `on` (a SQL date expression), every source of that date
    (pick_rate breaks ties by source): the columns rate_of takes."""
    same_pair = aliased(FxRateRecord)
    return _RATES.where(FxRateRecord.as_of == select(func.max(same_pair.as_of))
                        .where(same_pair.base == FxRateRecord.base, same_pair.quote == FxRateRecord.quote,
                               same_pair.as_of <= on).scalar_subquery())


_LATEST = latest_on(bindparam("on", type_=Date))


def rate_of(base: str, quote: str, rate: str, as_of: date | str, source: str) -> FxRate:
    """A row of latest_on as a domain rate; `as_of` may be ISO text (rows read back as JSON)."""
    return FxRate(base, quote, Decimal(rate), as_of if isinstance(as_of, date) else date.fromisoformat(as_of), source)


def rates(on_or_before: date) -> list[FxRate]:
    """The reference rates domain.fx.pick_rate can choose on `on_or_before`, as plain rows: for each pair, those
    of its latest date on or before it (every offset report reads them, so the answer stays as small as the
    number of pairs however many days of rates are kept)."""
    return [rate_of(*r) for r in db.session.execute(_LATEST, {"on": on_or_before})]
