"""Reporting periods: a year (2027), a quarter (2027-Q1) or a month (2027-01). End date is inclusive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import BadPeriod

# ASCII digits only, and the whole string: "2027-Q1\n" or full-width digits would make a second obligation.
PERIOD_REGEX = r"([0-9]{4})(?:-(Q[1-4]|0[1-9]|1[0-2]))?"
_PATTERN = re.compile(PERIOD_REGEX, re.ASCII)


def add_months(d: date, months: int) -> date:
    """First day of the month `months` after d's month. BadPeriod when that month is not in years 1 to 9999."""
    idx = d.year * 12 + (d.month - 1) + months
    if not 1 <= idx // 12 <= 9999:
        raise BadPeriod(f"{months} months after {d.isoformat()} is outside the calendar (years 1 to 9999)")
    return date(idx // 12, idx % 12 + 1, 1)


def term_end(start: date, months: int) -> date:
    """The last day of a term of `months` months from `start`: the day before the same day of the month
    `months` later (2026-12-15 + 12 -> 2027-12-14; 2026-12-01 + 12 -> 2027-11-30); when that month has no
    such day, its last day (2027-01-31 + 1 -> 2027-02-28). BadPeriod past the calendar."""
    first, after = add_months(start, months), add_months(start, months + 1)
    if start.day > (after - timedelta(days=1)).day:
        return after - timedelta(days=1)
    return first.replace(day=start.day) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: date
    end: date  # inclusive

    @classmethod
    def parse(cls, text: str) -> Period:
        m = _PATTERN.fullmatch(text or "") if isinstance(text, str) else None
        if not m:
            raise BadPeriod(f"period {text!r} is not YYYY, YYYY-Qn or YYYY-MM")
        year = int(m.group(1))
        if year < 2000 or year > 2200:
            raise BadPeriod(f"period {text!r}: year out of range")
        part = m.group(2)
        if part is None:
            start, months = date(year, 1, 1), 12
        elif part.startswith("Q"):
            start, months = date(year, 3 * (int(part[1]) - 1) + 1, 1), 3
        else:
            start, months = date(year, int(part), 1), 1
        return cls(text, start, add_months(start, months) - timedelta(days=1))

    def months_before(self, n: int) -> list[date]:
        """The first days of the n complete months before the period starts, oldest first."""
        return [add_months(self.start, -i) for i in range(n, 0, -1)]


def full_years_between(earlier: date, later: date) -> int:
    """Whole years from `earlier` to `later` (a 29 February anniversary counts on 28 February)."""
    years = later.year - earlier.year
    try:
        anniversary = earlier.replace(year=later.year)
    except ValueError:
        anniversary = date(later.year, 2, 28)
    if later < anniversary:
        years -= 1
    return years
