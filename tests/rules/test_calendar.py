"""Term and window arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from engine.rules.calendar import (
    TermCalendar, add_months, age_on, period_label, period_of, periods_ending_within, shift, window_after,
    window_before,
)


@pytest.mark.parametrize("day, label, start, end", [
    (date(2023, 9, 1), "autumn term 2023", date(2023, 9, 1), date(2023, 12, 31)),
    (date(2023, 12, 31), "autumn term 2023", date(2023, 9, 1), date(2023, 12, 31)),
    (date(2024, 1, 1), "spring term 2024", date(2024, 1, 1), date(2024, 3, 31)),
    (date(2024, 8, 31), "summer term 2024", date(2024, 4, 1), date(2024, 8, 31)),
])
def test_term_of_follows_the_english_school_year(day, label, start, end):
    """Every day falls in exactly one term with the documented boundaries."""
    term = TermCalendar().term_of(day)
    assert (term.label, term.start, term.end) == (label, start, end)


def test_last_terms_are_complete_terms_ending_on_or_before_the_anchor():
    """Mid-term, the current term is not counted; on a term's last day it is."""
    assert window_before(date(2023, 10, 15), 3, "terms") == (date(2022, 9, 1), date(2023, 8, 31))
    assert window_before(date(2023, 8, 31), 1, "terms") == (date(2023, 4, 1), date(2023, 8, 31))
    assert window_before(date(2023, 1, 1), 2, "terms") == (date(2022, 4, 1), date(2022, 12, 31))


def test_custom_term_boundaries():
    """A council with a six-term year can declare its own starts."""
    six = TermCalendar(starts=((1, 1, "spring 1"), (2, 20, "spring 2"), (4, 15, "summer 1"),
                               (6, 1, "summer 2"), (9, 1, "autumn 1"), (11, 1, "autumn 2")))
    assert six.term_of(date(2023, 3, 1)).label == "spring 2 term 2023"
    assert window_before(date(2023, 5, 31), 2, "terms", six) == (date(2023, 2, 20), date(2023, 5, 31))
    assert window_before(date(2023, 5, 30), 2, "terms", six) == (date(2023, 1, 1), date(2023, 4, 14))


def test_calendar_months_clamp_the_day():
    """31 March minus one month is the end of February; leap years are respected."""
    assert add_months(date(2023, 3, 31), -1) == date(2023, 2, 28)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert shift(date(2023, 1, 31), 13, "months") == date(2024, 2, 29)
    assert window_before(date(2023, 9, 1), 12, "months") == (date(2022, 9, 2), date(2023, 9, 1))
    assert window_after(date(2023, 1, 15), 6, "months") == (date(2023, 1, 16), date(2023, 7, 15))
    assert window_before(date(2023, 9, 1), 2, "weeks") == (date(2023, 8, 19), date(2023, 9, 1))


def test_terms_after_an_anchor_are_whole_terms():
    """'2 terms after closure' starts at the next term."""
    assert window_after(date(2023, 2, 10), 2, "terms") == (date(2023, 4, 1), date(2023, 12, 31))


def test_periods_ending_within_a_window():
    """A window expects a record for every period whose last day is inside it."""
    months = periods_ending_within(date(2023, 1, 15), date(2023, 4, 30), "months")
    assert [period_label(m, "months") for m in months] == ["January 2023", "February 2023", "March 2023", "April 2023"]
    terms = periods_ending_within(date(2022, 9, 2), date(2023, 9, 1), "terms")
    assert [t.label for t in terms] == ["autumn term 2022", "spring term 2023", "summer term 2023"]
    assert period_of(date(2023, 3, 8), "weeks") == date(2023, 3, 6)


def test_age_in_whole_years():
    """Age turns over on the birthday; a leap-day birthday turns over on 1 March."""
    assert age_on(date(2008, 2, 29), date(2024, 2, 28)) == 15
    assert age_on(date(2008, 2, 29), date(2023, 3, 1)) == 15
    assert age_on(date(2008, 2, 29), date(2024, 2, 29)) == 16
