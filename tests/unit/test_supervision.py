"""Supervision (DESIGN 10) in the pure core: exposure per insurer and "these insurers fail" scenarios,
worked by hand, and their properties; a certificate's status at an instant from its log entries."""

import base64
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.domain.cover import Allocation, Insurer, Policy
from marketplace.domain.errors import DomainError
from marketplace.domain.money import Money
from marketplace.domain.obligation import Obligation
from marketplace.domain.period import Period
from marketplace.domain.supervision import Book, LogRecord, exposure, parse_time, scenario, share, status_at

from .helpers import JP, shipped

RS = shipped(JP)  # per-insurer cap 50%, total insurance cap 80%; haircut AA 0, A 5%
Q1 = Period.parse("2027-Q1")
PERILS = frozenset({"theft_hack", "insider_fraud", "operational_failure"})
X = Insurer("x", "Xenon Re", "AA", frozenset({"JP"}))
Y = Insurer("y", "Yamato Mutual", "A", frozenset({"JP"}))


def jpy(n: int) -> Money:
    return Money(n, "JPY")


def alloc(aid: str, exchange: str, insurer: Insurer, amount: int) -> Allocation:
    p = Policy(id=f"p-{aid}", number=f"POL-{aid}", insurer=insurer, insured_id=exchange, limit=jpy(amount),
               deductible=jpy(0), perils=PERILS, term_start=date(2026, 10, 1), term_end=date(2027, 9, 30),
               cancellation_notice_days=90, attested=True)
    return Allocation(aid, p, jpy(amount))


def book(exchange: str, total: int, cash: int | None, allocations: list[Allocation]) -> Book:
    ob = Obligation(exchange, "JP", Q1, RS.ref, jpy(total), ())
    return Book(exchange, exchange.upper(), f"ob-{exchange}", ob, tuple(allocations), (), RS,
                jpy(cash) if cash is not None else None)


M = 1_000_000


def three_exchanges() -> list[Book]:
    return [
        book("e1", 1000 * M, 300 * M, [alloc("a1", "e1", X, 400 * M), alloc("a2", "e1", Y, 200 * M)]),
        book("e2", 500 * M, 100 * M, [alloc("a3", "e2", X, 300 * M), alloc("a4", "e2", Y, 100 * M)]),
        book("e3", 200 * M, 50 * M, [alloc("a5", "e3", X, 100 * M), alloc("a6", "e3", Y, 100 * M)]),
    ]


def test_scenario_three_exchanges_two_insurers_by_hand():
    """JP@1: per-insurer cap 50% of the obligation, total insurance cap 80%; X is AA (no haircut), Y is A (5%).

    e1: obligation 1,000m, cash 300m. X 400m (cap 500m: kept); Y 200m x 0.95 = 190m. Total 590m <= 800m.
        before: offset 590m, net 410m, shortfall 410m - 300m = 110m.
        X fails: offset 190m, net 810m, shortfall 810m - 300m = 510m.
    e2: obligation 500m, cash 100m. X 300m capped at 50% x 500m = 250m; Y 100m x 0.95 = 95m. 345m <= 400m.
        before: offset 345m, net 155m, shortfall 55m.
        X fails: offset 95m, net 405m, shortfall 405m - 100m = 305m.
    e3: obligation 200m, cash 50m. X 100m (cap 100m: kept); Y 95m; 195m > 80% x 200m = 160m: total cap,
        largest remainder: X 160 x 100/195 = 82.0512820m -> 82,051,282; Y 160 x 95/195 = 77.9487179m ->
        77,948,718 (the leftover unit goes to the larger remainder, .95 > .05).
        before: offset 160m, net 40m, cash 50m: no shortfall.
        X fails: the caps are applied again to Y alone: 95m <= 100m and <= 160m, so the offset is 95m
        (not 160m - 82,051,282 = 77,948,718), net 105m, shortfall 105m - 50m = 55m.
    Sorted by shortfall: e1 510m, e2 305m, e3 55m.
    """
    rows = scenario(three_exchanges(), {"x"})
    got = [(r.exchange_id, r.offset_before.amount, r.offset_after.amount, r.net_reserve_after.amount,
            r.shortfall_before.amount, r.shortfall.amount) for r in rows]
    assert got == [
        ("e1", 590 * M, 190 * M, 810 * M, 110 * M, 510 * M),
        ("e2", 345 * M, 95 * M, 405 * M, 55 * M, 305 * M),
        ("e3", 160 * M, 95 * M, 105 * M, 0, 55 * M),
    ]
    assert all(r.cash_held is not None for r in rows)
    # no insurer fails: every figure as it stands, sorted by today's shortfall
    calm = scenario(three_exchanges(), set())
    assert [(r.exchange_id, r.shortfall.amount) for r in calm] == [("e1", 110 * M), ("e2", 55 * M), ("e3", 0)]
    assert all(r.offset_before == r.offset_after for r in calm)


def test_exposure_by_hand_sums_to_total_offset():
    """Eligible offsets after caps (see the scenario above):
    X: e1 400m + e2 250m + e3 82,051,282 = 732,051,282; Y: 190m + 95m + 77,948,718 = 362,948,718.
    Total 1,095,000,000 = 590m + 345m + 160m (the three offsets).
    Shares: X 732,051,282 / 1,095,000,000 = 0.66853998.. -> 0.668540; Y 0.33146001.. -> 0.331460.
    Largest share of one obligation: X e1 0.4, e2 250/500 = 0.5, e3 0.41025641 -> 0.500000 (e2);
    Y 0.19, 0.19, 77,948,718 / 200m = 0.38974359 -> 0.389744 (e3). Both cover all three exchanges."""
    table = exposure(three_exchanges(), "JPY")
    by = {r.insurer_id: r for r in table.insurers}
    assert by["x"].eligible_offset == jpy(732_051_282) and by["y"].eligible_offset == jpy(362_948_718)
    assert table.total_offset == jpy(1_095_000_000)
    assert sum(r.eligible_offset.amount for r in table.insurers) == table.total_offset.amount
    assert table.total_offset.amount == sum(b.offset().total.amount for b in three_exchanges())
    assert (by["x"].share_of_offsets, by["y"].share_of_offsets) == (Decimal("0.668540"), Decimal("0.331460"))
    assert (by["x"].largest_share, by["x"].largest_exchange_id) == (Decimal("0.500000"), "e2")
    assert (by["y"].largest_share, by["y"].largest_exchange_id) == (Decimal("0.389744"), "e3")
    assert by["x"].exchanges == by["y"].exchanges == 3
    assert [r.insurer_id for r in table.insurers] == ["x", "y"]  # largest first
    assert table.total_obligation == jpy(1_700 * M)


def test_ineligible_cover_counts_for_nothing_and_no_dependency():
    """An insurer rated below the minimum (BBB < A-) carries 0: no exchange depends on it, share 0."""
    weak = Insurer("w", "Weak", "BBB", frozenset({"JP"}))
    table = exposure([book("e1", 100 * M, None, [alloc("a", "e1", weak, 50 * M)])], "JPY")
    [row] = table.insurers
    assert (row.eligible_offset.amount, row.exchanges, row.allocated_exchanges, row.share_of_offsets) == \
        (0, 0, 1, Decimal("0.000000"))
    [r] = scenario([book("e1", 100 * M, None, [alloc("a", "e1", weak, 50 * M)])], {"w"})
    assert r.shortfall == jpy(100 * M)  # no cash reported counts as none held


def test_mixed_currencies_are_refused_in_words():
    eur = Book("e9", "E9", "ob", Obligation("e9", "EU", Q1, RS.ref, Money(1, "EUR"), ()), (), (), RS)
    with pytest.raises(DomainError, match="more than one currency"):
        exposure([*three_exchanges(), eur], "JPY")


def test_share_rounding():
    assert share(1, 3) == Decimal("0.333333") and share(2, 3) == Decimal("0.666667")
    assert share(5, 0) == Decimal("0.000000")
    assert share(1, 8_000_000) == Decimal("0.000000")  # 0.000000125 -> banker's rounding to even


INSURERS = [Insurer(f"i{k}", f"I{k}", r, frozenset({"JP"})) for k, r in enumerate(["AAA", "AA", "A", "A-", "BBB"])]


@st.composite
def books(draw):
    out = []
    for e in range(draw(st.integers(1, 4))):
        total = draw(st.integers(0, 2_000_000_000))
        allocs = [alloc(f"a{e}-{k}", f"e{e}", draw(st.sampled_from(INSURERS)), draw(st.integers(1, 1_500_000_000)))
                  for k in range(draw(st.integers(0, 5)))]
        cash = draw(st.none() | st.integers(0, 2_000_000_000))
        out.append(book(f"e{e}", total, cash, allocs))
    return out


@settings(max_examples=150, deadline=None)
@given(books(), st.sets(st.sampled_from([i.id for i in INSURERS])), st.sampled_from([i.id for i in INSURERS]))
def test_a_failed_insurer_never_lowers_any_shortfall(bs, failed, one_more):
    """Failing one more insurer never lowers a shortfall nor raises an offset; shortfalls are never
    negative; offsets never exceed the obligation; the exposure table sums to the total offset."""
    before = {r.exchange_id: r for r in scenario(bs, failed)}
    after = {r.exchange_id: r for r in scenario(bs, failed | {one_more})}
    for e, r in after.items():
        assert r.shortfall >= before[e].shortfall
        assert r.offset_after <= before[e].offset_after <= r.offset_before
        assert r.shortfall.amount >= 0 and r.offset_after <= r.obligation
    rows = list(after.values())
    assert [r.shortfall.amount for r in scenario(bs, failed | {one_more})] == \
        sorted((r.shortfall.amount for r in rows), reverse=True)
    table = exposure(bs, "JPY")
    assert sum(i.eligible_offset.amount for i in table.insurers) == table.total_offset.amount == \
        sum(r.offset_before.amount for r in rows)


# ---- status at an instant ----------------------------------------------------------------------------

def _jws(valid_from: str, valid_until: str) -> bytes:
    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'EdDSA'})}.{part({'validFrom': valid_from, 'validUntil': valid_until})}.sig".encode()


def _revocation(time: str, reason: str) -> bytes:
    return json.dumps({"certificate": "urn:uuid:c", "reason": reason, "time": time}).encode()


def t(text: str) -> datetime:
    return parse_time(text)


def test_status_at_before_and_after_a_revocation():
    issued = LogRecord(4, "issuance", _jws("2027-01-01T00:00:00Z", "2027-03-31T23:59:59Z"))
    revoked = LogRecord(9, "revocation", _revocation("2027-02-01T10:00:00Z", "policy cancelled on 2027-02-01"))
    assert status_at([issued, revoked], t("2026-12-31T23:59:59Z")).status == "not_yet_valid"
    before = status_at([issued, revoked], t("2027-02-01T09:59:59Z"))
    assert before.valid and before.status == "valid" and "revoked later" in before.detail
    assert [r.index for r in before.evidence] == [4, 9]
    at = status_at([issued, revoked], t("2027-02-01T19:00:00+09:00"))  # 10:00Z, the instant of revocation
    assert at.status == "revoked" and not at.valid and at.reason == "policy cancelled on 2027-02-01"
    assert at.revoked_at == datetime(2027, 2, 1, 10, tzinfo=UTC)
    assert status_at([issued], t("2027-04-01T00:00:00Z")).status == "expired"
    assert status_at([issued], t("2027-02-01T10:00:00Z")).status == "valid"
    assert status_at([], t("2027-02-01T10:00:00Z")).status == "unknown"


def test_parse_time_needs_a_zone():
    assert parse_time("2027-01-01T09:00:00+09:00") == datetime(2027, 1, 1, tzinfo=UTC)
    for bad in ("2027-01-01T00:00:00", "yesterday", ""):
        with pytest.raises(DomainError):
            parse_time(bad)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_instant_that_leaves_the_calendar_in_utc_is_a_domain_error(text):
    issued = LogRecord(4, "issuance", _jws("2027-01-01T00:00:00Z", "2027-03-31T23:59:59Z"))
    with pytest.raises(DomainError, match="years 1 to 9999"):
        status_at([issued], datetime.fromisoformat(text))
    with pytest.raises(DomainError, match="years 1 to 9999"):
        parse_time(text)
    with pytest.raises(DomainError, match="years 1 to 9999"):
        status_at([LogRecord(4, "issuance", _jws(text, "2027-03-31T23:59:59Z"))], t("2027-01-01T00:00:00Z"))
