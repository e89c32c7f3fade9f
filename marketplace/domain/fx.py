"""Reference FX rates: a rate is a recorded fact, and every conversion cites the one it used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .errors import DomainError
from .money import Money, Rounding, exponent, round_to_int, to_decimal


@dataclass(frozen=True, slots=True)
class FxRate:
    """1 unit (major) of `base` = `rate` units (major) of `quote`, as published on `as_of` by `source`."""

    base: str
    quote: str
    rate: Decimal
    as_of: date
    source: str

    def __post_init__(self) -> None:
        exponent(self.base)
        exponent(self.quote)
        object.__setattr__(self, "rate", to_decimal(self.rate))
        if self.rate <= 0:
            raise DomainError(f"FX rate {self.base}/{self.quote} must be positive")
        if self.base == self.quote:
            raise DomainError("an FX rate needs two different currencies")

    @property
    def pair(self) -> str:
        return f"{self.base}/{self.quote}"

    def as_dict(self) -> dict[str, str]:
        return {"pair": self.pair, "rate": str(self.rate), "as_of": self.as_of.isoformat(), "source": self.source}


@dataclass(frozen=True, slots=True)
class Conversion:
    original: Money
    result: Money
    rate: FxRate


def convert(money: Money, rate: FxRate, rounding: Rounding) -> Conversion:
    if money.currency != rate.base:
        raise DomainError(f"rate {rate.pair} cannot convert {money.currency}")
    shift = exponent(rate.quote) - exponent(rate.base)
    value = (Decimal(money.amount) * rate.rate).scaleb(shift)
    return Conversion(money, Money(round_to_int(value, rounding), rate.quote), rate)


def pick_rate(rates: list[FxRate] | tuple[FxRate, ...], base: str, quote: str, on: date) -> FxRate | None:
    """The latest recorded rate for base/quote published on or before `on` (ties: source name)."""
    usable = [r for r in rates if r.base == base and r.quote == quote and r.as_of <= on]
    if not usable:
        return None
    return max(usable, key=lambda r: (r.as_of, r.source))
