"""Calendar arithmetic for rule windows: English school terms, calendar months, weeks, days, years.

Terms follow the English school year by default - autumn 1 Sep to 31 Dec, spring 1 Jan to 31 Mar,
summer 1 Apr to 31 Aug - and the boundaries are configurable (:class:`TermCalendar`), because councils
and census returns draw them differently.

Window conventions (what ``last N unit`` and ``N unit after closure`` mean):
- ``last N days|weeks|months|years`` before an anchor: from the day after ``anchor - N unit`` up to and
  including the anchor. Months are calendar months with the day clamped (31 Mar - 1 month = 28/29 Feb).
- ``last N terms`` before an anchor: the last N *complete* terms ending on or before the anchor.
- ``N unit after`` an anchor: from the day after the anchor to ``anchor + N unit``; ``N terms after``
  is the N whole terms starting after the anchor.

Examples:
    >>> window_before(date(2023, 9, 1), 3, "terms")
    (datetime.date(2022, 9, 1), datetime.date(2023, 8, 31))
    >>> window_before(date(2023, 3, 31), 1, "months")
    (datetime.date(2023, 3, 1), datetime.date(2023, 3, 31))
    >>> shift(date(2023, 3, 31), -1, "months")
    datetime.date(2023, 2, 28)
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Hashable, NamedTuple

ONE_DAY = timedelta(days=1)


class Term(NamedTuple):
    name: str
    start: date
    end: date

    @property
    def label(self) -> str:
        """e.g. "spring term 2023"."""
        return f"{self.name} term {self.start.year}"


@dataclass(frozen=True)
class TermCalendar:
    """Term start days within a calendar year as (month, day, name); each term ends the day before the
    next one starts."""

    starts: tuple[tuple[int, int, str], ...] = ((1, 1, "spring"), (4, 1, "summer"), (9, 1, "autumn"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", tuple(sorted(self.starts)))
        if not self.starts:
            raise ValueError("a term calendar needs at least one term start")
        # day -> term: every attendance record asks, and a borough's records share a few hundred dates
        object.__setattr__(self, "_terms_by_day", {})

    def term_of(self, day: date) -> Term:
        """The term containing ``day``."""
        found = self._terms_by_day.get(day)  # type: ignore[attr-defined]
        if found is None:
            if len(self._terms_by_day) > 100_000:  # type: ignore[attr-defined]
                self._terms_by_day.clear()  # type: ignore[attr-defined]
            found = self._terms_by_day[day] = self._find_term(day)  # type: ignore[attr-defined]
        return found

    def _find_term(self, day: date) -> Term:
        year = day.year
        index = -1
        for i, (month, dom, _name) in enumerate(self.starts):
            if (month, dom) <= (day.month, day.day):
                index = i
        if index == -1:  # before the first start of the year: the last term of the previous year
            year -= 1
            index = len(self.starts) - 1
        month, dom, name = self.starts[index]
        start = date(year, month, dom)
        if index + 1 < len(self.starts):
            n_month, n_dom, _ = self.starts[index + 1]
            end = date(year, n_month, n_dom) - ONE_DAY
        else:
            n_month, n_dom, _ = self.starts[0]
            end = date(year + 1, n_month, n_dom) - ONE_DAY
        return Term(name, start, end)

    def previous(self, term: Term) -> Term:
        return self.term_of(term.start - ONE_DAY)

    def next(self, term: Term) -> Term:
        return self.term_of(term.end + ONE_DAY)

    def complete_terms_before(self, anchor: date, count: int) -> list[Term]:
        """The last ``count`` complete terms ending on or before ``anchor``, oldest first."""
        term = self.term_of(anchor)
        if term.end > anchor:
            term = self.previous(term)
        terms = [term]
        while len(terms) < count:
            terms.append(self.previous(terms[-1]))
        return list(reversed(terms[:count])) if count > 0 else []

    def whole_terms_after(self, anchor: date, count: int) -> list[Term]:
        """The ``count`` whole terms starting after ``anchor``, oldest first."""
        term = self.next(self.term_of(anchor))
        terms: list[Term] = []
        while len(terms) < count:
            terms.append(term)
            term = self.next(term)
        return terms


ENGLISH_TERMS = TermCalendar()


def add_months(day: date, months: int) -> date:
    """Calendar-month arithmetic, clamping the day to the target month's length."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def shift(day: date, amount: int, unit: str, terms: TermCalendar = ENGLISH_TERMS) -> date:
    """``day`` moved by ``amount`` units (negative = earlier). Terms move to the same offset into the
    term ``amount`` terms away, clamped to that term's end."""
    if unit == "days":
        return day + timedelta(days=amount)
    if unit == "weeks":
        return day + timedelta(weeks=amount)
    if unit == "months":
        return add_months(day, amount)
    if unit == "years":
        return add_months(day, 12 * amount)
    if unit == "terms":
        term = terms.term_of(day)
        offset = day - term.start
        for _ in range(abs(amount)):
            term = terms.next(term) if amount > 0 else terms.previous(term)
        return min(term.start + offset, term.end)
    raise ValueError(f"unknown duration unit {unit!r}; expected days, weeks, months, years or terms")


def window_before(anchor: date, amount: int, unit: str, terms: TermCalendar = ENGLISH_TERMS) -> tuple[date, date]:
    """Inclusive (start, end) of ``last amount unit`` ending at ``anchor``."""
    if unit == "terms":
        if amount <= 0:
            return anchor + ONE_DAY, anchor
        chosen = terms.complete_terms_before(anchor, amount)
        return chosen[0].start, chosen[-1].end
    return shift(anchor, -amount, unit, terms) + ONE_DAY, anchor


def window_after(anchor: date, amount: int, unit: str, terms: TermCalendar = ENGLISH_TERMS) -> tuple[date, date]:
    """Inclusive (start, end) of ``amount unit after`` ``anchor``."""
    if unit == "terms":
        if amount <= 0:
            return anchor + ONE_DAY, anchor
        chosen = terms.whole_terms_after(anchor, amount)
        return chosen[0].start, chosen[-1].end
    return anchor + ONE_DAY, shift(anchor, amount, unit, terms)


# Periods (for periodic facts: one record per term / month / week / day) --------------------------


def period_of(day: date, unit: str, terms: TermCalendar = ENGLISH_TERMS) -> Hashable:
    """A hashable key for the period containing ``day``."""
    if unit == "terms":
        return terms.term_of(day)
    if unit == "months":
        return (day.year, day.month)
    if unit == "weeks":
        return day - timedelta(days=day.weekday())
    if unit == "days":
        return day
    raise ValueError(f"unknown period {unit!r}; expected terms, months, weeks or days")


def period_start(key: Hashable, unit: str) -> date:
    if unit == "terms":
        return key.start  # type: ignore[attr-defined]
    if unit == "months":
        year, month = key  # type: ignore[misc]
        return date(year, month, 1)
    return key  # type: ignore[return-value]


def period_end(key: Hashable, unit: str) -> date:
    if unit == "terms":
        return key.end  # type: ignore[attr-defined]
    if unit == "months":
        year, month = key  # type: ignore[misc]
        return date(year, month, _stdlib_calendar.monthrange(year, month)[1])
    if unit == "weeks":
        return key + timedelta(days=6)  # type: ignore[operator]
    return key  # type: ignore[return-value]


def period_label(key: Hashable, unit: str) -> str:
    """Plain English name of a period: "spring term 2023", "March 2023", "week of 2023-03-06"."""
    if unit == "terms":
        return key.label  # type: ignore[attr-defined]
    if unit == "months":
        year, month = key  # type: ignore[misc]
        return f"{_stdlib_calendar.month_name[month]} {year}"
    if unit == "weeks":
        return f"week of {key.isoformat()}"  # type: ignore[attr-defined]
    return key.isoformat()  # type: ignore[attr-defined]


def periods_ending_within(start: date, end: date, unit: str, terms: TermCalendar = ENGLISH_TERMS) -> list[Hashable]:
    """Every period whose last day lies in ``[start, end]``, oldest first: the periods a window expects
    a record for."""
    found: list[Hashable] = []
    key = period_of(start, unit, terms)
    while True:
        last = period_end(key, unit)
        if last > end:
            return found
        if last >= start:
            found.append(key)
        key = period_of(last + ONE_DAY, unit, terms)


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years from ``date_of_birth`` to ``day`` (a 29 February birthday turns over on 1 March).

    >>> age_on(date(2010, 6, 15), date(2023, 6, 14))
    12
    >>> age_on(date(2010, 6, 15), date(2023, 6, 15))
    13
    """
    years = day.year - date_of_birth.year
    if (day.month, day.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years
