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
_SAME_PAIR = aliased(FxRateRecord)
# per pair, the rows of its latest date on or before :on (every source of that date: pick_rate breaks ties by source)
_LATEST = _RATES.where(FxRateRecord.as_of == select(func.max(_SAME_PAIR.as_of))
                       .where(_SAME_PAIR.base == FxRateRecord.base, _SAME_PAIR.quote == FxRateRecord.quote,
                              _SAME_PAIR.as_of <= bindparam("on", type_=Date)).scalar_subquery())


def rates(on_or_before: date) -> list[FxRate]:
    """The reference rates domain.fx.pick_rate can choose on `on_or_before`, as plain rows: for each pair, those
    of its latest date on or before it (every offset report reads them, so the answer stays as small as the
    number of pairs however many days of rates are kept)."""
    return [FxRate(r.base, r.quote, Decimal(r.rate), r.as_of, r.source)
            for r in db.session.execute(_LATEST, {"on": on_or_before})]
