"""Amounts typed in the portal, in major units, become exact minor units (or a clear refusal)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.domain.errors import DomainError
from marketplace.domain.money import Money, parse_amount


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("500,000,000", "JPY", 500_000_000), ("¥500,000,000", "JPY", 500_000_000), ("５００", "JPY", 500),
    ("1,234.50", "EUR", 123_450), ("1234.5", "EUR", 123_450), ("€ 12", "EUR", 1_200), ("EUR 0.01", "EUR", 1),
    ("12 000", "HKD", 1_200_000), ("HK$1,000.00", "HKD", 100_000), ("-5", "JPY", -5), ("7 USD", "USD", 700),
])
def test_typed_amounts(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(("text", "currency"), [
    ("1.5", "JPY"), ("1.234", "EUR"), ("", "JPY"), ("abc", "EUR"), ("1,00", "EUR"), ("1e6", "JPY"),
    ("1,000,000,000,000,000,000", "JPY"), ("١٢٣", "JPY"), ("NaN", "EUR"),
])
def test_refused_amounts(text, currency):
    with pytest.raises(DomainError):
        parse_amount(text, currency)


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(["JPY", "EUR", "HKD", "USD"]))
def test_round_trips_what_money_formats(minor, currency):
    money = Money(minor, currency)
    assert parse_amount(str(money.major), currency) == minor
    assert parse_amount(f"{money.major:,}", currency) == minor
