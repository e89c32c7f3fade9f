from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.domain.errors import CurrencyMismatch, DomainError, UnknownCurrency
from marketplace.domain.fx import FxRate, convert, pick_rate
from marketplace.domain.money import Money, Rounding, apportion, total


def test_adding_same_currency_and_refusing_different_ones():
    assert Money(150, "JPY") + Money(50, "JPY") == Money(200, "JPY")
    with pytest.raises(CurrencyMismatch):
        Money(1, "JPY") + Money(1, "USD")
    with pytest.raises(CurrencyMismatch):
        assert Money(1, "JPY") < Money(1, "EUR")


@pytest.mark.parametrize("bad", [1.5, "10", None, True, Decimal("1")])
def test_amount_must_be_integer_minor_units(bad):
    with pytest.raises(DomainError):
        Money(bad, "JPY")


def test_unknown_currency_is_refused():
    with pytest.raises(UnknownCurrency):
        Money(1, "XYZ")


def test_rounding_is_explicit_and_named():
    m = Money(5, "JPY")  # 5 x 0.5 = 2.5
    assert m.scale(Decimal("0.5"), Rounding.HALF_EVEN) == Money(2, "JPY")
    assert m.scale(Decimal("0.5"), Rounding.HALF_UP) == Money(3, "JPY")
    with pytest.raises(TypeError):
        m.scale(Decimal("0.5"), "ROUND_HALF_UP")
    with pytest.raises(DomainError):
        m.scale(0.5, Rounding.HALF_UP)


def test_format_uses_currency_exponent():
    assert Money(123456, "USD").format() == "USD 1,234.56"
    assert Money(123456, "JPY").format() == "JPY 123,456"
    assert Money(-5, "EUR").major == Decimal("-0.05")


def test_fx_conversion_handles_exponents_and_cites_rate():
    usd_jpy = FxRate("USD", "JPY", Decimal("150.25"), date(2026, 12, 30), "fixing")
    c = convert(Money(1_000_001, "USD"), usd_jpy, Rounding.HALF_EVEN)  # 10,000.01 USD
    assert c.result == Money(1_502_502, "JPY")  # 1,502,501.5025 -> 1,502,502
    assert c.rate is usd_jpy
    jpy_usd = FxRate("JPY", "USD", Decimal("0.0066"), date(2026, 12, 30), "fixing")
    assert convert(Money(1000, "JPY"), jpy_usd, Rounding.HALF_UP).result == Money(660, "USD")
    with pytest.raises(DomainError):
        convert(Money(1, "EUR"), usd_jpy, Rounding.HALF_UP)


def test_pick_rate_takes_latest_on_or_before():
    rates = [FxRate("USD", "JPY", Decimal(r), d, "s") for r, d in
             [("140", date(2026, 1, 1)), ("150", date(2026, 6, 1)), ("160", date(2027, 1, 2))]]
    assert pick_rate(rates, "USD", "JPY", date(2027, 1, 1)).rate == Decimal("150")
    assert pick_rate(rates, "USD", "JPY", date(2025, 1, 1)) is None
    assert pick_rate(rates, "JPY", "USD", date(2027, 1, 1)) is None


@pytest.mark.parametrize("bad", ["0", "-1", 1.2])
def test_fx_rate_must_be_positive_decimal(bad):
    with pytest.raises(DomainError):
        FxRate("USD", "JPY", bad, date(2026, 1, 1), "s")


@given(st.lists(st.integers(0, 10**15), min_size=1, max_size=12), st.data())
def test_apportion_is_exact_and_never_exceeds_inputs(amounts, data):
    target = data.draw(st.integers(0, sum(amounts)))
    out = apportion(amounts, target)
    assert sum(out) == target
    assert all(0 <= o <= a for o, a in zip(out, amounts, strict=False))


def test_total_in_currency():
    assert total([Money(1, "EUR"), Money(2, "EUR")], "EUR") == Money(3, "EUR")
    assert total([], "EUR") == Money(0, "EUR")
