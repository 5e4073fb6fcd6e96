"""Comparison levels as record-pair tables (splink's test_comparison_level_lib style)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.matching.comparisons import comparison_for
from engine.matching.levels import PairBatch
from engine.matching.records import RecordTable

# (description, field, left value, right value, expected level label)
CASES = [
    ("missing on one side is no evidence", "family_name", "SMITH", None, "null"),
    ("identical names", "family_name", "SMITH", "SMITH", "exact match"),
    ("one typo", "family_name", "SMITH", "SMYTH", "Damerau-Levenshtein <= 1"),
    ("adjacent letters swapped", "given_name", "MARIA", "MAIRA", "Damerau-Levenshtein <= 1"),
    ("shared start, two edits", "given_name", "CHRISTOPHER", "CHRISTOPH", "Jaro-Winkler >= 0.9"),
    ("spelling variant, three edits", "given_name", "JONATHAN", "JOHNATHON", "Jaro-Winkler >= 0.8"),
    ("loosely similar", "family_name", "MARTINEZ", "MARTENS", "Jaro-Winkler >= 0.8"),
    ("unrelated names", "family_name", "SMITH", "OKONKWO", "different"),
    ("transliteration variant", "given_name", "MOHAMMED", "MUHAMMAD", "same spelling skeleton"),
    ("transliteration variant, letters dropped", "given_name", "YOUSSEF", "YUSUF", "same spelling skeleton"),
    ("double-barrelled against one half", "family_name", "TAYLOR JOHNSON", "JOHNSON", "one name part of the other"),
    ("second given name dropped", "given_name", "ANNE MARIE", "ANNE", "one name part of the other"),
    ("similar but not a spelling of one name", "given_name", "AMIR", "AMIRA", "Damerau-Levenshtein <= 1"),
    ("same date", "date_of_birth", "2012-11-03", "2012-11-03", "exact match"),
    ("day and month swapped", "date_of_birth", "2012-11-03", "2012-03-11", "day and month transposed"),
    ("one digit keyed wrong", "date_of_birth", "2012-11-03", "2012-11-08", "Damerau-Levenshtein <= 1"),
    ("year digits transposed", "date_of_birth", "1981-07-01", "1918-07-01", "Damerau-Levenshtein <= 1"),
    ("same year only", "date_of_birth", "2012-11-03", "2012-05-21", "same year"),
    ("a badly keyed date, same decade", "date_of_birth", "2012-11-03", "2009-05-21", "birth years <= 10 apart"),
    ("a generation apart", "date_of_birth", "2012-11-03", "1990-05-21", "more than 10 years apart"),
    ("same NHS number", "nhs_number", "9434765919", "9434765919", "exact match"),
    ("different NHS numbers are evidence against", "nhs_number", "9434765919", "4010232137", "different"),
    ("NI number typo", "ni_number", "AB123456C", "AB123457C", "Damerau-Levenshtein <= 1"),
    ("middle initial only", "middle_names", "JAMES", "J", "same initial"),
    ("extra identifier exact", "extra:case_ref", "CR-1", "CR-1", "exact match"),
]


# location reads address, postcode and UPRN together: (description, left fields, right fields, level)
LOCATION_CASES = [
    ("no location field on both sides", {"address": "12 HIGH STREET"}, {"postcode": "SW1A 1AA"}, "null"),
    ("same UPRN, address keyed differently", {"uprn": "100091", "address": "12 HIGH ST"},
     {"uprn": "100091", "address": "12 HIGH STREET"}, "same dwelling"),
    ("same address, postcode missing on one side", {"address": "12 HIGH STREET", "postcode": "SW1A 1AA"},
     {"address": "12 HIGH STREET"}, "same dwelling"),
    ("same postcode and numbers, one feed drops the town", {"address": "FLAT 11 BIRCH LODGE", "postcode": "HW1 0BQ"},
     {"address": "FLAT 11 BIRCH LODGE BIRCH ROAD", "postcode": "HW1 0BQ"}, "same dwelling"),
    ("same postcode and number on another street", {"address": "11 ELM ROAD", "postcode": "HW1 4AX"},
     {"address": "11 MILL ROAD", "postcode": "HW1 4AX"}, "same postcode, another home"),
    ("one feed keeps only the postcode", {"address": "12 HIGH STREET", "postcode": "SW1A 1AA"},
     {"postcode": "SW1A 1AA"}, "same postcode, home not on both"),
    ("address words reordered, postcode missing", {"address": "FLAT 2 12 HIGH STREET"},
     {"address": "12 HIGH STREET FLAT 2"}, "similar address (token-sort >= 90, same numbers)"),
    ("next door is not a typo", {"address": "12 HIGH STREET"}, {"address": "13 HIGH STREET"}, "different"),
    ("next door: same postcode only", {"address": "12 HIGH STREET", "postcode": "SW1A 1AA"},
     {"address": "3 CHURCH LANE", "postcode": "SW1A 1AA"}, "same postcode, another home"),
    ("same sector", {"postcode": "SW1A 1AA"}, {"postcode": "SW1A 1XY"}, "same postcode sector"),
    ("other district", {"postcode": "SW1A 1AA", "uprn": "1"}, {"postcode": "LS6 2XY", "uprn": "2"}, "different"),
]


@pytest.mark.parametrize(("description", "left", "right", "expected"), LOCATION_CASES,
                         ids=[c[0] for c in LOCATION_CASES])
def test_location_level(description: str, left: dict, right: dict, expected: str) -> None:
    """Address, postcode and UPRN are one comparison: the strongest shared evidence decides the level."""
    table = RecordTable.from_rows([{"record_key": "t:1", **left}, {"record_key": "t:2", **right}],
                                  standardise=False)
    comparison = comparison_for("location")
    level = comparison.assign(PairBatch(table, np.array([0]), np.array([1])))[0]
    assert comparison.levels[level].label == expected


def test_names_entered_the_wrong_way_round() -> None:
    """Given and family name swapped (with a typo) is its own level, not 'different'."""
    table = RecordTable.from_rows([
        {"record_key": "t:1", "given_name": "BARNABY", "family_name": "SIGGINS"},
        {"record_key": "t:2", "given_name": "SIGGINS", "family_name": "BARNABH"},
        {"record_key": "t:3", "given_name": "SIGGINS", "family_name": None},
    ], standardise=False)
    comparison = comparison_for("given_name")
    levels = comparison.assign(PairBatch(table, np.array([0, 0]), np.array([1, 2])))
    assert [comparison.levels[i].label for i in levels] == ["swapped with family_name", "different"]


@pytest.mark.parametrize(("description", "field", "left", "right", "expected"), CASES, ids=[c[0] for c in CASES])
def test_comparison_level(description: str, field: str, left, right, expected: str) -> None:
    """Each pair falls in the first level that matches, named by its label."""
    table = RecordTable.from_rows(
        [{"record_key": "t:1", field: left}, {"record_key": "t:2", field: right}], standardise=False
    )
    comparison = comparison_for(field)
    level = comparison.assign(PairBatch(table, np.array([0]), np.array([1])))[0]
    assert comparison.levels[level].label == expected


def test_levels_are_vectorised_over_many_pairs() -> None:
    """Scoring a batch gives the same levels as scoring each pair alone."""
    values = ["SMITH", "SMYTH", "SMITHE", None, "JONES", "SMITH"]
    table = RecordTable.from_rows([{"record_key": f"t:{i}", "family_name": v} for i, v in enumerate(values)],
                                  standardise=False)
    comparison = comparison_for("family_name")
    left, right = np.triu_indices(len(values), k=1)
    together = comparison.assign(PairBatch(table, left, right))
    alone = [comparison.assign(PairBatch(table, np.array([i]), np.array([j])))[0] for i, j in zip(left, right)]
    assert together.tolist() == alone
