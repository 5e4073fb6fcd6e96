"""Comparison levels, in the style of Splink's ``ComparisonLevelCreator``.

A level has a human-readable ``label`` and one method, :meth:`ComparisonLevel.matches`, which says for
a batch of record pairs whether each pair falls in this level. A comparison is an ordered list of
levels and the first level that matches wins, so a level may assume that earlier levels did not
match (``DamerauLevenshteinLevel`` never sees an exact match or a null).

Levels work on whole batches of pairs at once (rapidfuzz's ``process.cpdist`` computes the scores
pair by pair in C++), so the same code explains one pair and scores millions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from engine.matching.records import RecordTable
from engine.matching.standardise import address_numbers


@dataclass(frozen=True)
class PairBatch:
    """Record pairs ``(left[k], right[k])`` over one :class:`RecordTable`."""

    table: RecordTable
    left: np.ndarray
    right: np.ndarray

    def __len__(self) -> int:
        return len(self.left)

    def take(self, positions: np.ndarray) -> PairBatch:
        return PairBatch(self.table, self.left[positions], self.right[positions])

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        codes = self.table.codes(column)[0]
        return codes[self.left], codes[self.right]

    def values(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        values = self.table.values(column)
        return values[self.left], values[self.right]


class ComparisonLevel(ABC):
    """One labelled level of a comparison; ``column`` is the record field it reads."""

    label: str = ""

    def __init__(self, column: str) -> None:
        self.column = column

    @abstractmethod
    def matches(self, pairs: PairBatch) -> np.ndarray:
        """A boolean array: does each pair fall in this level (given earlier levels did not)?"""

    @property
    def is_null(self) -> bool:
        return False


class NullLevel(ComparisonLevel):
    """Either side missing: no evidence either way (weight 0)."""

    label = "null"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        left, right = pairs.codes(self.column)
        return (left < 0) | (right < 0)

    @property
    def is_null(self) -> bool:
        return True


class AllNullLevel(ComparisonLevel):
    """Null for a comparison over several fields: no field is present on both sides.

    ``column`` is the field shown when explaining a pair; ``columns`` are all the fields it reads.
    """

    label = "null"

    def __init__(self, columns: tuple[str, ...]) -> None:
        super().__init__(columns[0])
        self.columns = columns

    def matches(self, pairs: PairBatch) -> np.ndarray:
        both = np.zeros(len(pairs), dtype=bool)
        for column in self.columns:
            left, right = pairs.codes(column)
            both |= (left >= 0) & (right >= 0)
        return ~both

    @property
    def is_null(self) -> bool:
        return True


class ExactLevel(ComparisonLevel):
    """Identical standardised values (optionally of a derived column, e.g. postcode sector)."""

    def __init__(self, column: str, label: str = "exact match", *, term_frequency: bool = False) -> None:
        super().__init__(column)
        self.label = label
        self.term_frequency = term_frequency

    def matches(self, pairs: PairBatch) -> np.ndarray:
        left, right = pairs.codes(self.column)
        return (left == right) & (left >= 0)


class DerivedExactLevel(ComparisonLevel):
    """Equal after a transform of each value (postcode sector, birth year, initial)."""

    def __init__(self, column: str, label: str, name: str, transform: Callable[[str], str | None]) -> None:
        super().__init__(column)
        self.label = label
        self.derived_name = name
        self.transform = transform

    def matches(self, pairs: PairBatch) -> np.ndarray:
        pairs.table.derived(self.derived_name, self.column, self.transform)
        left, right = pairs.codes(self.derived_name)
        return (left == right) & (left >= 0)


class _ScoreLevel(ComparisonLevel):
    """A level decided by a rapidfuzz pairwise score over non-null pairs."""

    scorer: Callable
    #: passed to rapidfuzz as ``score_cutoff``: a level only needs to know whether the threshold is
    #: met, and rapidfuzz stops early on pairs that cannot reach it
    cutoff: float | None = None

    def _scores(self, pairs: PairBatch, values_column: str | None = None) -> np.ndarray:
        """Scores per pair (nan where null); ``values_column`` reads a derived column's values.

        Each distinct pair of values is scored once: names repeat (JOHN vs JAMES occurs thousands of
        times in a large extract), so this is far less string work than one score per pair.
        """
        column = values_column or self.column
        left_codes, right_codes = pairs.codes(column)
        present = (left_codes >= 0) & (right_codes >= 0)
        scores = np.full(len(pairs), np.nan)
        if present.any():
            vocabulary = pairs.table.codes(column)[1]
            combined = left_codes[present] * len(vocabulary) + right_codes[present]
            distinct, inverse = np.unique(combined, return_inverse=True)
            words = np.asarray(vocabulary, dtype=object)
            distinct_scores = process.cpdist(
                list(words[distinct // len(vocabulary)]),
                list(words[distinct % len(vocabulary)]),
                scorer=self.scorer,
                score_cutoff=self.cutoff,
                workers=-1,
            )
            scores[present] = np.asarray(distinct_scores, dtype=float)[inverse]
        return scores


class SwappedColumnsLevel(ComparisonLevel):
    """Given and family name entered the wrong way round: each side's value is Jaro-Winkler >=
    ``threshold`` to the other record's value of the ``other`` column."""

    def __init__(self, column: str, other: str, threshold: float = 0.9) -> None:
        super().__init__(column)
        self.other = other
        self.threshold = threshold
        self.label = f"swapped with {other}"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        table = pairs.table
        mine, theirs = table.first_letters(self.column), table.first_letters(self.other)
        # Jaro-Winkler >= 0.9 between real names almost always keeps the first letter, so only
        # pairs whose initials cross over are scored
        present = (mine[pairs.left] > 0) & (mine[pairs.left] == theirs[pairs.right]) & (
            theirs[pairs.left] > 0) & (theirs[pairs.left] == mine[pairs.right])
        result = np.zeros(len(pairs), dtype=bool)
        if present.any():
            kept = pairs.take(np.flatnonzero(present))
            mine_values, their_values = table.values(self.column), table.values(self.other)
            crossed = process.cpdist(list(mine_values[kept.left]), list(their_values[kept.right]),
                                     scorer=JaroWinkler.normalized_similarity, score_cutoff=self.threshold,
                                     workers=-1)
            back = process.cpdist(list(their_values[kept.left]), list(mine_values[kept.right]),
                                  scorer=JaroWinkler.normalized_similarity, score_cutoff=self.threshold,
                                  workers=-1)
            result[present] = (np.asarray(crossed) >= self.threshold) & (np.asarray(back) >= self.threshold)
        return result


class JaroWinklerLevel(_ScoreLevel):
    """Jaro-Winkler similarity at or above a threshold (names: rewards a shared beginning)."""

    scorer = staticmethod(JaroWinkler.normalized_similarity)

    def __init__(self, column: str, threshold: float) -> None:
        super().__init__(column)
        self.threshold = threshold
        self.cutoff = threshold
        self.label = f"Jaro-Winkler >= {threshold:g}"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        return self._scores(pairs) >= self.threshold


class DamerauLevenshteinLevel(_ScoreLevel):
    """At most ``k`` insertions, deletions, substitutions or adjacent transpositions apart."""

    scorer = staticmethod(DamerauLevenshtein.distance)

    def __init__(self, column: str, k: int) -> None:
        super().__init__(column)
        self.k = k
        self.cutoff = k
        self.label = f"Damerau-Levenshtein <= {k}"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        return self._scores(pairs) <= self.k


def _sorted_tokens(value: str) -> str:
    return " ".join(sorted(value.split(" ")))


class TokenSortLevel(_ScoreLevel):
    """Addresses: the same words in any order, similarity (0-100) at or above a threshold.

    Equal to rapidfuzz's ``token_sort_ratio``, with each address's words sorted once per distinct
    value instead of once per pair.
    """

    scorer = staticmethod(fuzz.ratio)

    def __init__(self, column: str, threshold: float) -> None:
        super().__init__(column)
        self.threshold = threshold
        self.cutoff = threshold
        self.label = f"token-sort similarity >= {threshold:g}"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        sorted_column = f"{self.column}#sorted"
        pairs.table.derived(sorted_column, self.column, _sorted_tokens)
        return self._scores(pairs, sorted_column) >= self.threshold


class _DateLevel(ComparisonLevel):
    def _chars(self, pairs: PairBatch) -> tuple[np.ndarray, np.ndarray]:
        chars = pairs.table.date_chars(self.column)
        return chars[pairs.left], chars[pairs.right]


class DateTransposedLevel(_DateLevel):
    """Day and month swapped (03/11 keyed as 11/03), same year."""

    label = "day and month transposed"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        left, right = self._chars(pairs)
        return (
            (left[:, 0:4] == right[:, 0:4]).all(axis=1)
            & (left[:, 5:7] == right[:, 8:10]).all(axis=1)
            & (left[:, 8:10] == right[:, 5:7]).all(axis=1)
        )


class DateYearLevel(_DateLevel):
    """Same year of birth only."""

    label = "same year"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        left, right = self._chars(pairs)
        return (left[:, 0:4] == right[:, 0:4]).all(axis=1)


class DateYearsApartLevel(_DateLevel):
    """Birth years at most ``years`` apart: a date keyed badly in several places, not a generation gap.

    Splitting the "different" dates this way keeps two sharply different kinds of pair apart: the
    same person's badly keyed date (near) and a parent and child who share a name and a home (a
    generation apart), which is the commonest false match in household data.
    """

    def __init__(self, column: str, years: int) -> None:
        super().__init__(column)
        self.years = years
        self.label = f"birth years <= {years} apart"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        left, right = self._chars(pairs)
        digits = np.array([1000, 100, 10, 1])
        years_left = ((left[:, 0:4].astype(int) - ord("0")) * digits).sum(axis=1)
        years_right = ((right[:, 0:4].astype(int) - ord("0")) * digits).sum(axis=1)
        return np.abs(years_left - years_right) <= self.years


def _agree(pairs: PairBatch, column: str) -> np.ndarray:
    left, right = pairs.codes(column)
    return (left == right) & (left >= 0)


def _both(pairs: PairBatch, column: str) -> np.ndarray:
    left, right = pairs.codes(column)
    return (left >= 0) & (right >= 0)


def _derived_agree(pairs: PairBatch, column: str, name: str, transform) -> np.ndarray:
    pairs.table.derived(name, column, transform)
    return _agree(pairs, name)


def _words_contained(pairs: PairBatch, column: str) -> np.ndarray:
    """Per pair: every word of one value is a word of the other (scored once per distinct pair)."""
    left_codes, right_codes = pairs.codes(column)
    result = np.zeros(len(pairs), dtype=bool)
    present = np.flatnonzero((left_codes >= 0) & (right_codes >= 0))
    if present.size:
        vocabulary = pairs.table.codes(column)[1]
        size = len(vocabulary)
        distinct, inverse = np.unique(left_codes[present] * size + right_codes[present], return_inverse=True)
        contained = np.array([_one_within_other(vocabulary[c // size], vocabulary[c % size])
                              for c in distinct.tolist()], dtype=bool)
        result[present] = contained[inverse]
    return result


def _one_within_other(a: str, b: str) -> bool:
    words_a, words_b = set(a.split(" ")), set(b.split(" "))
    return words_a <= words_b or words_b <= words_a


class _HomeLevel(ComparisonLevel):
    """A location level reading address, postcode and UPRN together."""

    def __init__(self, address: str = "address", postcode: str = "postcode", uprn: str = "uprn") -> None:
        super().__init__(address)
        self.address, self.postcode, self.uprn = address, postcode, uprn


class DwellingLevel(_HomeLevel):
    """The same home, however each feed wrote it: the same UPRN, the same address, or the same
    postcode, the same house and flat numbers and one address's words within the other's (a
    postcode holds ~15 homes and the numbers pick one, as in UK addressing, so "FLAT 11 BIRCH
    LODGE" and "FLAT 11 BIRCH LODGE BIRCH ROAD" agree, but "11 ELM ROAD" and "11 MILL ROAD" do not).

    One level rather than one per field: UPRNs and full addresses are present in different feeds,
    and a level per field would weigh "same home" by which feeds happened to carry a UPRN.
    """

    label = "same dwelling"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        result = _agree(pairs, self.uprn) | _agree(pairs, self.address)
        numbers = _derived_agree(pairs, self.address, f"{self.address}#numbers", address_numbers)
        maybe = np.flatnonzero(~result & numbers & _agree(pairs, self.postcode))
        if maybe.size:
            # the numbers alone are not enough: a postcode can span streets (11 ELM ROAD, 11 MILL ROAD)
            result[maybe] = _words_contained(pairs.take(maybe), self.address)
        return result


class DwellingUnknownLevel(_HomeLevel):
    """A shared postcode where one side names no home (a feed keeping only postcodes): the same
    ~15 homes, which is evidence for a match, unlike a shared postcode between two named homes."""

    label = "same postcode, home not on both"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        comparable = _both(pairs, self.address) | _both(pairs, self.uprn)
        return _agree(pairs, self.postcode) & ~comparable


class SimilarAddressLevel(TokenSortLevel):
    """Address words nearly the same (typos, words reordered) and no house number contradicting:
    a neighbour at number 13 is not a typo of number 12."""

    def __init__(self, column: str, threshold: float) -> None:
        super().__init__(column, threshold)
        self.label = f"similar address (token-sort >= {threshold:g}, same numbers)"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        name = f"{self.column}#numbers"
        numbers_agree = _derived_agree(pairs, self.column, name, address_numbers)
        numbers_missing = ~_both(pairs, name)
        return super().matches(pairs) & (numbers_agree | numbers_missing)


class NamePartsLevel(ComparisonLevel):
    """Every word of one name is a word of the other: a double-barrelled surname against one of
    its halves (TAYLOR JOHNSON / JOHNSON), or a second given name dropped (ANNE MARIE / ANNE)."""

    label = "one name part of the other"

    def matches(self, pairs: PairBatch) -> np.ndarray:
        spaced = pairs.table.derived(f"{self.column}#words", self.column, lambda v: v if " " in v else None)
        candidates = np.flatnonzero((spaced[pairs.left] != None) | (spaced[pairs.right] != None))  # noqa: E711
        result = np.zeros(len(pairs), dtype=bool)
        if candidates.size:
            result[candidates] = _words_contained(pairs.take(candidates), self.column)
        return result


class ElseLevel(ComparisonLevel):
    """Both present and no earlier level matched: evidence against."""

    def __init__(self, column: str, label: str = "different") -> None:
        super().__init__(column)
        self.label = label

    def matches(self, pairs: PairBatch) -> np.ndarray:
        return np.ones(len(pairs), dtype=bool)
