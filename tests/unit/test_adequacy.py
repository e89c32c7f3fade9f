"""Adequacy: shortfall = max(0, net reserve required - cash held); no cash reported counts as none."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.domain.adequacy import shortfall
from marketplace.domain.errors import DomainError
from marketplace.domain.money import Money

AMOUNTS = st.integers(min_value=0, max_value=10**15)


def test_examples_by_hand():
    assert shortfall(Money(3_364_977_591, "JPY"), Money(3_500_000_000, "JPY")) == Money(0, "JPY")
    assert shortfall(Money(3_364_977_591, "JPY"), Money(3_000_000_000, "JPY")) == Money(364_977_591, "JPY")
    assert shortfall(Money(25_000_00, "EUR"), None) == Money(25_000_00, "EUR")
    assert shortfall(Money(0, "EUR"), None) == Money(0, "EUR")
    with pytest.raises(DomainError):
        shortfall(Money(1, "EUR"), Money(1, "JPY"))


@given(AMOUNTS, AMOUNTS)
def test_shortfall_is_never_negative_and_closes_the_gap(net, cash):
    s = shortfall(Money(net, "JPY"), Money(cash, "JPY"))
    assert s.amount >= 0 and s.amount + cash >= net
    assert (s.amount == 0) == (cash >= net)


@given(AMOUNTS, AMOUNTS, AMOUNTS)
def test_more_cash_never_means_a_larger_shortfall(net, cash, extra):
    assert shortfall(Money(net, "JPY"), Money(cash + extra, "JPY")).amount <= \
        shortfall(Money(net, "JPY"), Money(cash, "JPY")).amount
