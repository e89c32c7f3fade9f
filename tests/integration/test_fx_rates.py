"""Reference rates as an offset report reads them: per pair, the latest date on or before the period's start,
however many days of rates are kept, and the same choice as picking from every rate recorded."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from marketplace.domain.fx import FxRate, pick_rate
from marketplace.extensions import db
from marketplace.fx import service as fx
from marketplace.fx.models import FxRateRecord


def test_only_the_latest_rates_on_or_before_a_day_are_read(app):
    start = date(2026, 1, 1)
    for day in range(60):  # two months of daily rates for two pairs, two sources on some days
        on = start + timedelta(days=day)
        fx.record(FxRate("USD", "JPY", Decimal("150") + Decimal(day) / 100, on, "BOJ"))
        fx.record(FxRate("EUR", "JPY", Decimal("160") + Decimal(day) / 100, on, "ECB"))
        if day % 7 == 0:
            fx.record(FxRate("USD", "JPY", Decimal("149") + Decimal(day) / 100, on, "ZZ-BANK"))
    db.session.commit()
    everything = [FxRate(r.base, r.quote, Decimal(r.rate), r.as_of, r.source)  # every rate kept, read plainly
                  for r in db.session.scalars(select(FxRateRecord))]
    assert len(everything) == 129
    for day in (date(2025, 12, 31), start, date(2026, 1, 29), date(2026, 2, 5), date(2026, 6, 1)):
        read = fx.rates(day)
        assert len(read) <= 3 and all(r.as_of <= day for r in read)
        for base, quote in (("USD", "JPY"), ("EUR", "JPY"), ("JPY", "USD")):
            assert pick_rate(read, base, quote, day) == pick_rate(everything, base, quote, day), (day, base)
    tie = fx.rates(date(2026, 1, 29))  # day 28: both USD sources; the tie goes to the later source name
    assert sorted(r.source for r in tie if r.base == "USD") == ["BOJ", "ZZ-BANK"]
    assert pick_rate(tie, "USD", "JPY", date(2026, 1, 29)).source == "ZZ-BANK"
    assert fx.rates(date(2025, 12, 31)) == []
