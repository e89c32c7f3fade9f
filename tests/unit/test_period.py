from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.domain.errors import BadPeriod
from marketplace.domain.period import Period, add_months, full_years_between, term_end


@pytest.mark.parametrize(("label", "start", "end"), [
    ("2027-Q1", date(2027, 1, 1), date(2027, 3, 31)),
    ("2027-Q4", date(2027, 10, 1), date(2027, 12, 31)),
    ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
    ("2027", date(2027, 1, 1), date(2027, 12, 31)),
])
def test_parse(label, start, end):
    p = Period.parse(label)
    assert (p.start, p.end, p.label) == (start, end, label)


@pytest.mark.parametrize("bad", ["", "2027-Q5", "2027-13", "27-Q1", "2027Q1", "1999", None, 2027, "2027-Q1 "])
def test_parse_refuses(bad):
    with pytest.raises(BadPeriod):
        Period.parse(bad)


def test_months_before():
    assert Period.parse("2027-Q1").months_before(3) == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]


def test_full_years_between():
    assert full_years_between(date(2022, 3, 14), date(2027, 1, 1)) == 4
    assert full_years_between(date(2022, 1, 1), date(2027, 1, 1)) == 5
    assert full_years_between(date(2024, 2, 29), date(2025, 2, 28)) == 1
    assert full_years_between(date(2024, 2, 29), date(2025, 2, 27)) == 0


@pytest.mark.parametrize(("d", "months"), [(date(9999, 12, 31), 1), (date(9999, 1, 1), 12), (date(1, 1, 1), -1),
                                          (date(2027, 1, 1), 10**6)])
def test_add_months_off_the_calendar_is_a_domain_error_not_a_bare_value_error(d, months):
    with pytest.raises(BadPeriod, match="outside the calendar"):
        add_months(d, months)
    assert add_months(date(9999, 11, 30), 1) == date(9999, 12, 1)
    assert add_months(date(1, 2, 1), -1) == date(1, 1, 1)


@pytest.mark.parametrize(("start", "months", "end"), [
    (date(2026, 12, 1), 12, date(2027, 11, 30)),   # from the first: to the end of the month before
    (date(2026, 12, 15), 12, date(2027, 12, 14)),  # mid-month: the day before the anniversary, not month's start
    (date(2027, 1, 31), 1, date(2027, 2, 28)),     # no 31 February: that month's last day
    (date(2028, 1, 30), 1, date(2028, 2, 29)),     # leap year
    (date(2027, 1, 29), 1, date(2027, 2, 28)),
    (date(2027, 1, 28), 1, date(2027, 2, 27)),
    (date(2027, 3, 31), 6, date(2027, 9, 30)),
])
def test_term_end_is_the_day_before_the_anniversary(start, months, end):
    assert term_end(start, months) == end


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2900, 12, 31)), st.integers(1, 120))
def test_a_term_lasts_its_months(start, months):
    end = term_end(start, months)
    after = end + timedelta(days=1)  # the next term starts here
    months_later = (after.year - start.year) * 12 + after.month - start.month
    assert months_later == months or (months_later == months + 1 and after.day == 1 and start.day > 28)
    assert end >= start and (after.day == start.day or after.day == 1)
