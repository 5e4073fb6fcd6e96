"""Comparisons: an ordered list of levels per field; the first level that matches wins.

:func:`default_comparisons` is the standard setup for the canonical identity fields. Identifiers
(NHS number, UPN, NI number, UPRN, extra ids) are compared like any other field: agreement is strong
evidence with a large estimated weight, and disagreement is evidence against, but neither decides a
match on its own (no blind keys).

Address, postcode and UPRN all say one thing, where the person lives, so they form ONE ``location``
comparison: counted as three independent comparisons, a shared home would add its evidence three
times and outweigh a different given name (a household would merge into one person).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.matching import levels as lv
from engine.matching.records import RecordTable
from engine.matching.standardise import name_skeleton


@dataclass
class Comparison:
    """A field's comparison: ``levels[0]`` is always the null level."""

    name: str
    column: str
    levels: list[lv.ComparisonLevel]
    #: the most that the last ("different") level's m may be, whatever EM estimates (see em.py)
    max_disagreement_m: float | None = None

    def __post_init__(self) -> None:
        if not self.levels or not self.levels[0].is_null:
            raise ValueError(f"comparison {self.name!r} must start with a NullLevel")

    @property
    def columns(self) -> frozenset[str]:
        """Every record field the levels read (a blocking rule on any of them forces agreement)."""
        found = {self.column}
        for level in self.levels:
            found.add(level.column)
            found.update(getattr(level, "columns", ()))
        return frozenset(found)

    @property
    def labels(self) -> list[str]:
        return [level.label for level in self.levels]

    @property
    def term_frequency_level(self) -> int | None:
        """Index of the exact level whose weight is adjusted for how common the value is."""
        for index, level in enumerate(self.levels):
            if isinstance(level, lv.ExactLevel) and level.term_frequency:
                return index
        return None

    def assign(self, pairs: lv.PairBatch) -> np.ndarray:
        """The level index (0 = null) of every pair: levels are tried in order, first match wins."""
        result = np.full(len(pairs), len(self.levels) - 1, dtype=np.int8)
        remaining = np.arange(len(pairs))
        for index, level in enumerate(self.levels[:-1]):
            if remaining.size == 0:
                break
            hit = level.matches(pairs.take(remaining))
            result[remaining[hit]] = index
            remaining = remaining[~hit]
        return result


_OTHER_NAME = {"given_name": "family_name", "family_name": "given_name"}


#: Ceiling on m of the given name's "different" level: the share of true matches whose given names
#: share nothing (no typo, no near spelling, no swap; a nickname such as BILL for WILLIAM). EM cannot
#: measure it where households blur "same person" and "same home" (see em.py), so it is fixed from
#: what administrative data shows: about 1 in 100 at most. Family names are not capped: a surname
#: changed at marriage is common and EM measures it well.
DIFFERENT_GIVEN_NAME_MAX_M = 0.01


def _name(column: str, tf: bool = True) -> Comparison:
    return Comparison(
        column,
        column,
        [
            lv.NullLevel(column),
            lv.ExactLevel(column, term_frequency=tf),
            lv.DamerauLevenshteinLevel(column, 1),
            lv.DerivedExactLevel(column, "same spelling skeleton", f"{column}#skeleton", name_skeleton),
            lv.JaroWinklerLevel(column, 0.9),
            lv.SwappedColumnsLevel(column, _OTHER_NAME[column]),
            lv.NamePartsLevel(column),
            lv.JaroWinklerLevel(column, 0.8),
            lv.ElseLevel(column),
        ],
        DIFFERENT_GIVEN_NAME_MAX_M if column == "given_name" else None,
    )


def _initial(value: str) -> str:
    return value[:1]


def _middle(column: str) -> Comparison:
    return Comparison(
        column,
        column,
        [
            lv.NullLevel(column),
            lv.ExactLevel(column),
            lv.JaroWinklerLevel(column, 0.88),
            lv.DerivedExactLevel(column, "same initial", f"{column}#initial", _initial),
            lv.ElseLevel(column),
        ],
    )


def _date(column: str) -> Comparison:
    return Comparison(
        column,
        column,
        [
            lv.NullLevel(column),
            lv.ExactLevel(column),
            lv.DateTransposedLevel(column),
            lv.DamerauLevenshteinLevel(column, 1),
            lv.DateYearLevel(column),
            lv.DateYearsApartLevel(column, 10),
            lv.ElseLevel(column, "more than 10 years apart"),
        ],
    )


def postcode_sector(postcode: str) -> str | None:
    """``SW1A 1AA`` -> ``SW1A 1``; ``None`` when the code is not in UK form."""
    outward, _, inward = postcode.partition(" ")
    return f"{outward} {inward[0]}" if inward else None


LOCATION_COLUMNS = ("address", "postcode", "uprn")


def _location(_: str = "location") -> Comparison:
    """Where the person lives, strongest shared evidence first (see module docstring)."""
    return Comparison(
        "location",
        "address",
        [
            lv.AllNullLevel(LOCATION_COLUMNS),
            lv.DwellingLevel(),
            lv.DwellingUnknownLevel(),
            lv.SimilarAddressLevel("address", 90),
            lv.ExactLevel("postcode", "same postcode, another home"),
            lv.DerivedExactLevel("postcode", "same postcode sector", "postcode#sector", postcode_sector),
            lv.ElseLevel("address"),
        ],
    )


def _identifier(column: str, *, typo_level: bool) -> Comparison:
    levels: list[lv.ComparisonLevel] = [lv.NullLevel(column), lv.ExactLevel(column)]
    if typo_level:
        # unvalidated identifiers carry keying errors; validated ones (NHS) cannot differ by one digit
        levels.append(lv.DamerauLevenshteinLevel(column, 1))
    levels.append(lv.ElseLevel(column))
    return Comparison(column, column, levels)


def _exact_only(column: str) -> Comparison:
    return Comparison(column, column, [lv.NullLevel(column), lv.ExactLevel(column), lv.ElseLevel(column)])


_BUILDERS = {
    "given_name": _name,
    "middle_names": _middle,
    "family_name": _name,
    "date_of_birth": _date,
    "sex": _exact_only,
    "location": _location,
    "nhs_number": lambda c: _identifier(c, typo_level=False),
    "upn": lambda c: _identifier(c, typo_level=True),
    "ni_number": lambda c: _identifier(c, typo_level=True),
}


def comparison_for(column: str) -> Comparison:
    """The standard comparison of a canonical field, or an identifier comparison for ``extra:*``."""
    builder = _BUILDERS.get(column)
    if column == "age range":
        from engine.matching.population import age_range_comparison  # imports this module

        return age_range_comparison()
    if builder is None:
        return _identifier(column, typo_level=True)
    return builder(column)


def default_comparisons(table: RecordTable) -> list[Comparison]:
    """Comparisons for every column of ``table`` that has at least one value."""
    names = [c for c in _BUILDERS if table.has(c) or (c == "location" and any(map(table.has, LOCATION_COLUMNS)))]
    names += sorted(c for c in table.columns if c.startswith("extra:") and table.has(c))
    found = [comparison_for(c) for c in names]
    from engine.matching import population  # imports this module

    if table.has(population.BORN_AFTER) or table.has(population.BORN_BY):
        found.append(population.age_range_comparison())
    return found
