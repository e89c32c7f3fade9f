from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, and_, bindparam, func, literal_column, select, true, tuple_
from sqlalchemy.orm import aliased

from ..db.lists import by_dialect
from ..domain.fx import FxRate
from ..extensions import db, plain_rows
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


# LIMIT 1 written into the SQL: a bound limit is unknown to a generic plan, which then looks dearer than every
# custom one, and PostgreSQL would plan the statements that hold this one again at every execution.
_ONE = literal_column("1")
_NONE = literal_column("0")


def _pairs():
    """Every (base, quote) pair that has a rate, found by walking the unique index (base, quote, as_of, source)
    from one pair to the next (a loose index scan, as a recursive CTE): a few index probes per pair, however
    many days of rates are kept."""
    n = aliased(FxRateRecord)

    def after(p) -> tuple:  # (base, quote) of the first pair in index order after p's (the very first: p None)
        q = select(n.base, n.quote).order_by(n.base, n.quote).limit(_ONE)
        if p is not None:
            q = q.where(tuple_(n.base, n.quote) > tuple_(p.c.base, p.c.quote))
        return tuple(q.with_only_columns(c).scalar_subquery() for c in (n.base, n.quote))

    base, quote = after(None)
    pairs = select(base.label("base"), quote.label("quote")).cte("fx_pairs", recursive=True)
    return pairs.union_all(select(*after(pairs)).where(pairs.c.base.is_not(None)))


def latest_on(on, postgres: bool):
    """Per pair, the rows of its latest date on or before `on` (a SQL date expression), every source of that date
    (pick_rate breaks ties by source): the columns rate_of takes. The pairs are walked off the index first
    (_pairs), then each pair's latest date and its rows are index probes: the work grows with the number of
    pairs, not with the days of rates kept (with every row visited, three years of daily rates for ten pairs
    cost 240 ms per offset report). On PostgreSQL a pair's rows are fetched beside it (LATERAL, kept a subquery),
    so the probes do not hang on the planner's guess of how many pairs the walk finds: as a join, with two years
    of ten pairs' rates, it hashed every rate instead (4 ms a report). SQLite probes the index anyway."""
    pairs, m = _pairs(), aliased(FxRateRecord)
    day = select(func.max(m.as_of)).where(m.base == pairs.c.base, m.quote == pairs.c.quote, m.as_of <= on) \
        .correlate(pairs).scalar_subquery()
    if postgres:
        r = aliased(FxRateRecord)
        rows = select(r.base, r.quote, r.rate, r.as_of, r.source) \
            .where(r.base == pairs.c.base, r.quote == pairs.c.quote, r.as_of == day) \
            .offset(_NONE).lateral("fx_latest")  # OFFSET 0: a plain subquery would be flattened into the join
        return select(*rows.c).select_from(pairs).join(rows, true()).where(pairs.c.base.is_not(None))
    latest = select(pairs.c.base, pairs.c.quote, day.label("as_of")).where(pairs.c.base.is_not(None)) \
        .subquery("fx_latest")
    return _RATES.join_from(FxRateRecord, latest, and_(FxRateRecord.base == latest.c.base,
                                                       FxRateRecord.quote == latest.c.quote,
                                                       FxRateRecord.as_of == latest.c.as_of))


_LATEST = by_dialect(lambda pg: latest_on(bindparam("on", type_=Date), pg))


def rate_of(base: str, quote: str, rate: str, as_of: date | str, source: str) -> FxRate:
    """A row of latest_on as a domain rate; `as_of` may be ISO text (rows read back as JSON)."""
    return FxRate(base, quote, Decimal(rate), as_of if isinstance(as_of, date) else date.fromisoformat(as_of), source)


def rates(on_or_before: date) -> list[FxRate]:
    """The reference rates domain.fx.pick_rate can choose on `on_or_before`, as plain rows: for each pair, those
    of its latest date on or before it (every offset report reads them, so the answer stays as small as the
    number of pairs however many days of rates are kept)."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    return [rate_of(*r) for r in plain_rows(_LATEST[postgres], {"on": on_or_before})]
