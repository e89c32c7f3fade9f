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


def test_the_latest_rates_are_found_by_index_probes_not_by_visiting_every_rate(app):
    """fx.latest_on walks the pairs off the unique index and probes each pair's latest date: on PostgreSQL the
    rows its plan reads from fx_rates grow with the pairs, not with the days kept (with every rate visited,
    three years of daily rates for ten pairs cost 240 ms per offset report). The same rows as every rate read
    plainly, on both backends, for pairs whose rates end at different days."""
    import random
    import uuid

    from sqlalchemy import text

    rng = random.Random(15)
    # ten pairs, up to two years of daily rates each, written as bench/http_load.py's world writes them (pair by
    # pair, newest day first, mostly one source): a fifth of this, or another order, and the planner probed the
    # index for a join too; these made it hash every rate, until each pair's rows were fetched LATERAL
    pairs = [("USD", "JPY"), ("EUR", "JPY"), ("USD", "EUR"), ("HKD", "JPY"), ("GBP", "EUR"), ("GBP", "JPY"),
             ("USD", "HKD"), ("EUR", "HKD"), ("CHF", "JPY"), ("AUD", "JPY")]
    start = date(2025, 1, 1)
    rows = [{"base": b, "quote": q, "rate": str(Decimal(rng.randint(1, 10**6)) / 1000),
             "as_of": start + timedelta(days=d), "source": s}
            for n, (b, q) in enumerate(pairs) for d in reversed(range(0, 730 - 60 * (n % 5)))
            for s in ("Bench reference", "ECB")[:1 + (d % 50 == 7)]]
    db.session.execute(FxRateRecord.__table__.insert(), [r | {"id": str(uuid.UUID(int=rng.getrandbits(128)))}
                                                         for r in rows])
    db.session.commit()
    for day in (start - timedelta(days=1), start, start + timedelta(days=100), start + timedelta(days=250),
                start + timedelta(days=399), start + timedelta(days=729), date(2030, 1, 1)):
        want = {}
        for r in rows:
            if r["as_of"] <= day and r["as_of"] >= want.get((r["base"], r["quote"]), start - timedelta(days=1)):
                want[(r["base"], r["quote"])] = r["as_of"]
        expected = sorted((r["base"], r["quote"], r["as_of"], r["source"]) for r in rows
                          if want.get((r["base"], r["quote"])) == r["as_of"])
        assert sorted((r.base, r.quote, r.as_of, r.source) for r in fx.rates(day)) == expected, day
    if db.engine.dialect.name != "postgresql":
        return
    db.session.rollback()  # the reads above end here: VACUUM would wait for what their transaction still holds
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE fx_rates"))  # as autovacuum leaves a table of rates nobody changes
        # index probes made to look dear: the planner's costs, not the statement, decided; the answer must not
        conn.execute(text("SET random_page_cost = 40"))
        compiled = fx._LATEST[True].params(on=date(2030, 1, 1)).compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}")).scalar()
        conn.execute(text("RESET random_page_cost"))

    def visited(node) -> int:
        own = node.get("Actual Rows", 0) * node.get("Actual Loops", 1) if node.get("Relation Name") == "fx_rates" else 0
        return own + sum(visited(n) for n in node.get("Plans", ()))

    assert len(rows) > 6000 and visited(plan[0]["Plan"]) < 100, visited(plan[0]["Plan"])
