"""Money: integer minor units plus an ISO 4217 currency. No floats, rounding always explicit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import Enum

from .errors import CurrencyMismatch, DomainError, UnknownCurrency

# ISO 4217 minor-unit exponents for the currencies the service accepts.
EXPONENTS: dict[str, int] = {
    "JPY": 0, "KRW": 0,
    "EUR": 2, "USD": 2, "HKD": 2, "GBP": 2, "CHF": 2, "SGD": 2, "AUD": 2, "CAD": 2,
}


class Rounding(Enum):
    """The rounding rules a rule-set may name. There is no default: callers pass one."""

    HALF_EVEN = "ROUND_HALF_EVEN"
    HALF_UP = "ROUND_HALF_UP"

    @property
    def decimal_mode(self) -> str:
        return {"ROUND_HALF_EVEN": ROUND_HALF_EVEN, "ROUND_HALF_UP": ROUND_HALF_UP}[self.value]


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency]
    except (KeyError, TypeError):
        raise UnknownCurrency(f"unknown or unsupported currency {currency!r}") from None


def round_to_int(value: Decimal, rounding: Rounding) -> int:
    """Round a Decimal to an integer with the named rule."""
    if not isinstance(rounding, Rounding):
        raise TypeError("rounding must be a Rounding")
    return int(value.quantize(Decimal(1), rounding=rounding.decimal_mode))


def to_decimal(value: object) -> Decimal:
    """Parse a rate or ratio. Floats are refused: they cannot carry an exact rate."""
    if isinstance(value, (bool, float)):
        raise DomainError(f"rate {value!r} must be a decimal string, not a float")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, (int, str)):
        try:
            d = Decimal(value)
        except Exception:
            raise DomainError(f"{value!r} is not a decimal number") from None
    else:
        raise DomainError(f"{value!r} is not a decimal number")
    if not d.is_finite():
        raise DomainError(f"{value!r} is not a finite number")
    return d


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount: int  # minor units (yen, cents)
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise DomainError(f"money amount must be an integer of minor units, got {self.amount!r}")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def scale(self, rate: Decimal, rounding: Rounding) -> Money:
        """amount x rate, rounded to whole minor units with the given rule."""
        return Money(round_to_int(Decimal(self.amount) * to_decimal(rate), rounding), self.currency)

    def min(self, other: Money) -> Money:
        return self if self <= other else other

    def max(self, other: Money) -> Money:
        return self if self >= other else other

    @property
    def major(self) -> Decimal:
        """The amount in major units (exact)."""
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def format(self) -> str:
        e = exponent(self.currency)
        return f"{self.currency} {self.major:,.{e}f}"

    def as_dict(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}


def total(items: list[Money] | tuple[Money, ...], currency: str) -> Money:
    out = Money.zero(currency)
    for m in items:
        out = out + m
    return out


def apportion(amounts: list[int], target: int) -> list[int]:
    """Reduce non-negative `amounts` pro rata so that they sum to `target` (0 <= target <= sum).

    Largest-remainder method: floor each share, then hand the leftover units to the largest
    fractional remainders, ties to the earlier position. Exact, deterministic, never exceeds an input.
    """
    s = sum(amounts)
    if target < 0 or target > s or any(a < 0 for a in amounts):
        raise DomainError("apportion target out of range")
    if s == 0:
        return [0] * len(amounts)
    shares = [(a * target) // s for a in amounts]
    rema = [(a * target) % s for a in amounts]
    left = target - sum(shares)
    order = sorted(range(len(amounts)), key=lambda i: (-rema[i], i))
    for i in order[:left]:
        shares[i] += 1
    return shares


_SYMBOLS = ("¥", "￥", "€", "$", "HK$", "US$")


def parse_amount(text: str, currency: str) -> int:
    """An amount a person typed in major units ("500,000,000", "¥500,000,000", "1,234.50", "１２３") as
    integer minor units. Exact: more decimals than the currency has are refused, never rounded; thousands
    separators are commas or spaces; the currency's code or symbol may lead or trail."""
    import re
    import unicodedata

    digits = exponent(currency)
    s = unicodedata.normalize("NFKC", str(text or "")).strip()
    for mark in (currency, *sorted(_SYMBOLS, key=len, reverse=True)):
        if s.upper().startswith(mark.upper()):
            s = s[len(mark):].strip()
        if s.upper().endswith(mark.upper()):
            s = s[: -len(mark)].strip()
    m = re.fullmatch(r"(-?)(\d{1,3}(?:[, ]\d{3})+|\d+)(?:\.(\d+))?", s, flags=re.ASCII)
    if not m:
        raise DomainError(f"enter an amount in {currency} such as {'1,000,000' if digits == 0 else '1,000.00'}")
    sign, whole, frac = m.group(1), re.sub(r"[, ]", "", m.group(2)), m.group(3) or ""
    if len(frac) > digits:
        raise DomainError(f"{currency} amounts have {digits or 'no'} decimal place{'s' if digits != 1 else ''}"
                          if digits else f"{currency} amounts have no decimals")
    if len(whole) > 18:
        raise DomainError("this amount is too large")
    value = int(whole) * 10**digits + int((frac + "0" * digits)[:digits] or 0)
    return -value if sign else value
