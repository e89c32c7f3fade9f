from datetime import date

import pytest

from marketplace.domain.errors import BadPeriod
from marketplace.domain.period import Period, add_months, full_years_between


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
