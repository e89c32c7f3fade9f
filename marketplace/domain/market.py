"""The coverage market's rules: request/quote/bind state machine and offering capacity."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import DomainError

RATE_PLACES = 18  # an indicative rate carries at most this many decimal places (the API refuses more)

# request -> quote|decline -> accept -> bind; plus expire (a quote past its expiry) and withdraw (by the exchange).
TRANSITIONS: dict[str, dict[str, str]] = {
    "requested": {"quote": "quoted", "decline": "declined", "withdraw": "withdrawn"},
    "quoted": {"accept": "accepted", "expire": "expired", "withdraw": "withdrawn", "decline": "declined"},
    "accepted": {"bind": "bound", "decline": "declined"},
    "declined": {},
    "bound": {},
    "expired": {},
    "withdrawn": {},
}
STATES = tuple(TRANSITIONS)
FINAL = frozenset(s for s, moves in TRANSITIONS.items() if not moves)


class IllegalTransition(DomainError):
    def __init__(self, state: str, action: str):
        self.state, self.action = state, action
        allowed = ", ".join(sorted(TRANSITIONS.get(state, {}))) or "nothing (final state)"
        super().__init__(f"cannot {action} a request that is {state}; allowed: {allowed}")


def transition(state: str, action: str) -> str:
    """The state after `action`, or IllegalTransition naming the current state."""
    try:
        return TRANSITIONS[state][action]
    except KeyError:
        raise IllegalTransition(state, action) from None


class CapacityExceeded(DomainError):
    def __init__(self, remaining: int, wanted: int):
        self.remaining, self.wanted = remaining, wanted
        super().__init__(f"needs {wanted} but only {remaining} remains")


@dataclass(frozen=True)
class Capacity:
    """A total (offering capacity or policy limit) and how much of it is taken, in minor units."""

    total: int
    used: int

    def __post_init__(self) -> None:
        if self.total < 0 or self.used < 0:
            raise DomainError("capacity and use must not be negative")

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.used)

    def take(self, amount: int) -> Capacity:
        if amount <= 0:
            raise DomainError("the amount must be positive")
        if amount > self.remaining:
            raise CapacityExceeded(self.remaining, amount)
        return Capacity(self.total, self.used + amount)

    def give_back(self, amount: int) -> Capacity:
        if amount <= 0 or amount > self.used:
            raise DomainError("cannot give back more than was taken")
        return Capacity(self.total, self.used - amount)


def offering_checks(perils: frozenset[str], max_term_months: int, rating: str | None,
                    approved_in: frozenset[str], jurisdiction: str, rs) -> list:
    """Would cover from this offering count under `rs` for an exchange in `jurisdiction`?
    The checks that can be judged before a policy exists, named as in evaluate_offset."""
    from . import ratings
    from .offset import Check, perils_check

    out = [Check("insurer_approved", jurisdiction in approved_in,
                 "approved" if jurisdiction in approved_in else f"not approved in {jurisdiction}")]
    minimum = rs.value("min_insurer_rating")
    good = minimum is None or ratings.at_least(rating, minimum)
    out.append(Check("insurer_rating", good, f"rating {rating or 'none'}; minimum {minimum or 'none'}"))
    out.append(perils_check(frozenset(perils), rs))  # the same check (and words) as a policy's
    initial = rs.value("min_initial_term_days")
    if initial is not None:
        longest = max_term_months * 365 // 12
        out.append(Check("initial_term", longest >= initial, f"longest term about {longest} days; minimum {initial}"))
    return out


def rate_e18(rate: Decimal | str) -> int:
    """An indicative rate as the exact integer rate x 10^18, which SQL sorts and indexes like the Decimal on
    every database (SQLite has no decimal type). Exact for every rate the API accepts (at most RATE_PLACES
    decimal places, 0 < rate < 1); a rate with more places is refused rather than rounded."""
    value = Decimal(rate)
    if not value.is_finite() or not 0 <= value < 1:
        raise DomainError("a rate must be at least 0 and below 1")
    if value.as_tuple().exponent < -RATE_PLACES:
        raise DomainError(f"a rate needs at most {RATE_PLACES} decimal places")
    return int(value.scaleb(RATE_PLACES))
