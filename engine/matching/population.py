"""Who a source can hold: a feed's declared age range as matching evidence.

An electoral roll or council tax list holds adults; a school census holds children. A feed says so
with ``population: {min_age: 18}`` in feeds.yaml (:class:`engine.integrate.feeds.PopulationSpec`).
Registers like these rarely carry a date of birth, and without one nothing in the compared fields
tells a parent from a child who shares the name and the home. The age range does: a council tax
record first seen on 2027-01-01 belongs to someone born on or before 2009-01-01.

Each record gets the range of birth dates its feed allows, ``(born_after, born_by]``: ``min_age``
applies on the first extract that held the record (people only get older, so later extracts add
nothing), ``max_age`` on the last. The ``age range`` comparison then asks whether the two records of
a pair can be one person: each side's date of birth (or, without one, its feed's range) must fit
the other side's feed's range. Two dates of birth against each other are left to the date
comparison. "Outside" is a block in effect (its m is capped near zero,
see ``OUTSIDE_AGE_RANGE_MAX_M``), so the chain guard keeps such pairs apart too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.matching.comparisons import Comparison
from engine.matching.levels import ComparisonLevel, ElseLevel, PairBatch
from engine.matching.records import RecordTable

BORN_AFTER, BORN_BY = "born_after", "born_by"
#: Ceiling on m of "outside the source's age range", making it a block in effect (about -18 bits):
#: the evidence it overrides, a shared name and home, is exactly what a parent and child have in
#: common, so counting it as independent evidence against a modest penalty (m ~ 0.001, about -9
#: bits) still merged them. The cost is the rare record in the wrong register, or a child's date of
#: birth keyed a generation wrong, which then stays a separate person.
OUTSIDE_AGE_RANGE_MAX_M = 1e-6
_NO_LOWER, _NO_UPPER = np.iinfo(np.int64).min // 2, np.iinfo(np.int64).max // 2


@dataclass(frozen=True)
class AgeBand:
    """Ages (whole years on the extract date) a feed's records can have; ``None`` = no limit."""

    min_age: int | None = None
    max_age: int | None = None

    def birth_range(self, first_seen: date, last_seen: date) -> tuple[str | None, str | None]:
        """``(born_after, born_by)`` as ISO dates: the birth dates this band allows for a record seen
        in extracts from ``first_seen`` to ``last_seen``.

        >>> AgeBand(min_age=18).birth_range(date(2027, 1, 1), date(2027, 6, 1))
        (None, '2009-01-01')
        >>> AgeBand(max_age=15).birth_range(date(2027, 1, 1), date(2027, 6, 1))
        ('2011-06-01', None)
        """
        born_by = _years_before(first_seen, self.min_age).isoformat() if self.min_age is not None else None
        born_after = _years_before(last_seen, self.max_age + 1).isoformat() if self.max_age is not None else None
        return born_after, born_by


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def feed_populations(feeds: Iterable) -> dict[str, AgeBand]:
    """``{feed name: AgeBand}`` for the feeds of a loaded feeds file that declare a population."""
    found = {}
    for feed in feeds:
        population = getattr(feed, "population", None)
        if population is not None:
            found[feed.name] = AgeBand(population.min_age, population.max_age)
    return found


def _ordinals(table: RecordTable, column: str, missing: int) -> np.ndarray:
    codes, vocabulary = table.codes(column)
    lookup = np.array([date.fromisoformat(v).toordinal() for v in vocabulary] + [missing], dtype=np.int64)
    return lookup[codes]


def _intervals(table: RecordTable) -> np.ndarray:
    """Per record ``[band_lo, band_hi, own_lo, own_hi]``: birth date ordinal d fits the feed's band iff
    band_lo < d <= band_hi; the record's own birth date is in (own_lo, own_hi]: its date of birth
    where it has one, else its band (unbounded sides are sentinels)."""
    band_lo = _ordinals(table, BORN_AFTER, _NO_LOWER)
    band_hi = _ordinals(table, BORN_BY, _NO_UPPER)
    has_dob = table.codes("date_of_birth")[0] >= 0
    dob = _ordinals(table, "date_of_birth", 0)
    own_lo = np.where(has_dob, dob - 1, band_lo)
    own_hi = np.where(has_dob, dob, band_hi)
    return np.stack([band_lo, band_hi, own_lo, own_hi], axis=1)


def _pair_intervals(pairs: PairBatch):
    intervals = pairs.table.cached("age range#intervals", _intervals)
    return intervals[pairs.left], intervals[pairs.right]


def _has_band(side: np.ndarray) -> np.ndarray:
    return (side[:, 0] > _NO_LOWER) | (side[:, 1] < _NO_UPPER)


def _informative(side: np.ndarray) -> np.ndarray:
    return (side[:, 2] > _NO_LOWER) | (side[:, 3] < _NO_UPPER)


def _fits(band_side: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The other record's own birth dates overlap this record's band (true where there is no band)."""
    return np.maximum(band_side[:, 0], other[:, 2]) < np.minimum(band_side[:, 1], other[:, 3])


class AgeRangeNullLevel(ComparisonLevel):
    """Neither side's feed declares an age range, or the other side says nothing about its age.
    Two dates of birth are the date comparison's business, not this one's."""

    label = "null"

    def __init__(self) -> None:
        super().__init__(BORN_BY)
        self.columns = (BORN_AFTER, BORN_BY)

    def matches(self, pairs: PairBatch) -> np.ndarray:
        left, right = _pair_intervals(pairs)
        checkable = (_has_band(left) & _informative(right)) | (_has_band(right) & _informative(left))
        return ~checkable

    @property
    def is_null(self) -> bool:
        return True


class AgeRangeOverlapLevel(ComparisonLevel):
    """Each record's date of birth (or, without one, its feed's range) fits the other's feed's range."""

    label = "within the source's age range"

    def __init__(self) -> None:
        super().__init__(BORN_BY)

    def matches(self, pairs: PairBatch) -> np.ndarray:
        left, right = _pair_intervals(pairs)
        return _fits(left, right) & _fits(right, left)


def age_range_comparison() -> Comparison:
    return Comparison(
        "age range", BORN_BY,
        [AgeRangeNullLevel(), AgeRangeOverlapLevel(), ElseLevel(BORN_BY, "outside the source's age range")],
        OUTSIDE_AGE_RANGE_MAX_M,
    )
