"""Who a source can hold: a feed's declared age range as matching evidence.

An electoral roll or council tax list holds adults; a school census holds children. A feed says so
with ``population: {min_age: 18}`` in feeds.yaml (:class:`engine.integrate.feeds.PopulationSpec`).
Registers like these rarely carry a date of birth, and without one nothing in the compared fields
tells a parent from a child who shares the name and the home. The age range does: a council tax
record first seen on 2027-01-01 belongs to someone born on or before 2009-01-01.

Each record gets the range of birth dates its feed allows, ``(born_after, born_by]``: ``min_age``
applies on the first extract that held the record (people only get older, so later extracts add
nothing), ``max_age`` on the last. The ``age range`` comparison then asks whether the two records of
a pair can be one person: each side's interval (its date of birth, or its feed's range, or both)
must overlap the other's. "Outside" gets a large negative weight (its m is capped like other
disagreements that real data almost never shows), so the chain guard keeps such pairs apart too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.matching.comparisons import Comparison
from engine.matching.levels import ComparisonLevel, ElseLevel, PairBatch
from engine.matching.records import RecordTable

BORN_AFTER, BORN_BY = "born_after", "born_by"
#: Ceiling on m of "outside the source's age range": a record in the wrong register, or a date of
#: birth keyed a generation wrong; about 1 in 1,000 in administrative data. EM cannot see so rare a
#: level in a small extract, where one pseudo-match per level (em.py) alone would give m ~ 0.01.
OUTSIDE_AGE_RANGE_MAX_M = 0.001
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


def add_birth_ranges(
    rows: list[dict], populations: Mapping[str, AgeBand], seen: Mapping[str, tuple[date, date]]
) -> None:
    """Set ``born_after`` / ``born_by`` on each row (a ``source_records`` row with ``feed`` and
    ``record_key``) whose feed declares a population; ``seen`` maps record keys to the first and
    last extract dates that held them."""
    for row in rows:
        band = populations.get(row["feed"])
        dates = seen.get(row["record_key"])
        if band is None or dates is None:
            continue
        row[BORN_AFTER], row[BORN_BY] = band.birth_range(*dates)


def _ordinals(table: RecordTable, column: str, missing: int) -> np.ndarray:
    codes, vocabulary = table.codes(column)
    lookup = np.array([date.fromisoformat(v).toordinal() for v in vocabulary] + [missing], dtype=np.int64)
    return lookup[codes]


def _intervals(table: RecordTable) -> np.ndarray:
    """Per record ``[lo, hi, has_band, informative]``: birth date ordinal d is possible iff lo < d <= hi."""
    dob_lo = _ordinals(table, "date_of_birth", _NO_LOWER + 1) - 1
    dob_hi = _ordinals(table, "date_of_birth", _NO_UPPER)
    lo = np.maximum(dob_lo, _ordinals(table, BORN_AFTER, _NO_LOWER))
    hi = np.minimum(dob_hi, _ordinals(table, BORN_BY, _NO_UPPER))
    has_band = (table.codes(BORN_AFTER)[0] >= 0) | (table.codes(BORN_BY)[0] >= 0)
    informative = (lo > _NO_LOWER) | (hi < _NO_UPPER)
    return np.stack([lo, hi, has_band.astype(np.int64), informative.astype(np.int64)], axis=1)


def _pair_intervals(pairs: PairBatch):
    intervals = pairs.table.cached("age range#intervals", _intervals)
    return intervals[pairs.left], intervals[pairs.right]


class AgeRangeNullLevel(ComparisonLevel):
    """No age range on either side, or nothing on the other side to hold it against."""

    label = "null"

    def __init__(self) -> None:
        super().__init__(BORN_BY)
        self.columns = (BORN_AFTER, BORN_BY)

    def matches(self, pairs: PairBatch) -> np.ndarray:
        left, right = _pair_intervals(pairs)
        checkable = ((left[:, 2] == 1) | (right[:, 2] == 1)) & (left[:, 3] == 1) & (right[:, 3] == 1)
        return ~checkable

    @property
    def is_null(self) -> bool:
        return True


class AgeRangeOverlapLevel(ComparisonLevel):
    """Both records' possible birth dates overlap: they can be one person."""

    label = "within the source's age range"

    def __init__(self) -> None:
        super().__init__(BORN_BY)

    def matches(self, pairs: PairBatch) -> np.ndarray:
        left, right = _pair_intervals(pairs)
        return np.maximum(left[:, 0], right[:, 0]) < np.minimum(left[:, 1], right[:, 1])


def age_range_comparison() -> Comparison:
    return Comparison(
        "age range", BORN_BY,
        [AgeRangeNullLevel(), AgeRangeOverlapLevel(), ElseLevel(BORN_BY, "outside the source's age range")],
        OUTSIDE_AGE_RANGE_MAX_M,
    )
