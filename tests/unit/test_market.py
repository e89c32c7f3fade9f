"""The request state machine and capacity: unit tests and a hypothesis state machine."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from marketplace.domain.errors import DomainError
from marketplace.domain.market import (
    FINAL,
    STATES,
    TRANSITIONS,
    Capacity,
    CapacityExceeded,
    IllegalTransition,
    rate_e18,
    transition,
)

ACTIONS = sorted({a for moves in TRANSITIONS.values() for a in moves})


def test_happy_path_and_names_current_state():
    s = "requested"
    for action in ("quote", "accept", "bind"):
        s = transition(s, action)
    assert s == "bound"
    with pytest.raises(IllegalTransition) as e:
        transition("bound", "accept")
    assert e.value.state == "bound" and "bound" in str(e.value)
    with pytest.raises(IllegalTransition):
        transition("requested", "bind")  # no binding without an accepted quote


def test_capacity():
    c = Capacity(100, 0).take(60)
    assert c.remaining == 40
    with pytest.raises(CapacityExceeded) as e:
        c.take(41)
    assert e.value.remaining == 40
    with pytest.raises(DomainError):
        c.take(0)
    assert c.give_back(60).remaining == 100


class Market(RuleBasedStateMachine):
    """Random requests against one offering: no sequence reaches an illegal state or oversells."""

    def __init__(self):
        super().__init__()
        self.capacity = Capacity(1000, 0)
        self.requests: list[list] = []  # [state, limit]

    @rule(limit=st.integers(1, 400))
    def new_request(self, limit):
        self.requests.append(["requested", limit])

    @precondition(lambda self: self.requests)
    @rule(i=st.integers(0, 10**6), action=st.sampled_from(ACTIONS))
    def act(self, i, action):
        req = self.requests[i % len(self.requests)]
        try:
            new = transition(req[0], action)
        except IllegalTransition:
            assert action not in TRANSITIONS[req[0]]
            return
        if new == "bound":
            try:
                self.capacity = self.capacity.take(req[1])
            except CapacityExceeded:
                return  # the bind is refused; the request stays accepted
        req[0] = new

    @invariant()
    def states_are_known_and_capacity_holds(self):
        assert all(r[0] in STATES for r in self.requests)
        assert 0 <= self.capacity.used <= self.capacity.total
        assert self.capacity.used == sum(r[1] for r in self.requests if r[0] == "bound")
        assert all(r[0] not in FINAL or not TRANSITIONS[r[0]] for r in self.requests)


TestMarket = Market.TestCase


rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.999999999999999999"), places=18,
                    allow_nan=False, allow_infinity=False)


@given(rates, rates)
def test_rate_e18_orders_exactly_as_the_decimals_do(a, b):
    assert (rate_e18(a) < rate_e18(b)) == (a < b) and (rate_e18(a) == rate_e18(b)) == (a == b)
    assert Decimal(rate_e18(a)).scaleb(-18) == a  # exact: nothing rounded
    assert rate_e18(str(a)) == rate_e18(a) < 2 ** 63  # a BIGINT


def test_rate_e18_refuses_what_it_cannot_hold_exactly():
    assert rate_e18("1E-18") == 1 and rate_e18("0.012") == 12 * 10 ** 15 and rate_e18("1.0E-7") == 10 ** 11
    for bad in ("1E-19", "0.1234567890123456789", "1", "-0.01", "NaN", "Infinity"):
        with pytest.raises(DomainError):
            rate_e18(bad)
