"""Namesakes with one candidate each are joined; ambiguous or contradicted ones are not."""

from __future__ import annotations

import numpy as np

from engine.matching.namesakes import FIRST_EXTRACT, join_namesakes
from engine.matching.records import RecordTable

# Two persons so far: a register record (no date of birth) at a new home and an employment record
# with the old postcode. The pair agrees on the full name only and scored 0.3.
REGISTER = {"record_key": "electoral_roll:ER2", "given_name": "JACK", "family_name": "COOK",
            "postcode": "HW1 0BX", FIRST_EXTRACT: "electoral_roll 2027-04-01"}
EMPLOYMENT = {"record_key": "employment:E1", "given_name": "JACK", "family_name": "COOK",
              "date_of_birth": "2001-07-18", "postcode": "HW1 0BS", FIRST_EXTRACT: "employment 2026-08-01"}
OLD_REGISTER = {"record_key": "electoral_roll:ER1", "given_name": "JACK", "family_name": "COOK",
                "postcode": "HW1 0BS", FIRST_EXTRACT: "electoral_roll 2026-08-01"}


def _join(rows: list[dict], scored: list[tuple[int, int, float]], labels: list[int], rejected=frozenset()):
    table = RecordTable.from_rows(rows)
    left = np.array([i for i, _, _ in scored])
    right = np.array([j for _, j, _ in scored])
    prob = np.array([p for _, _, p in scored])
    full_name = np.array([rows[i]["given_name"] == rows[j]["given_name"] and
                          rows[i]["family_name"] == rows[j]["family_name"] for i, j, _ in scored])
    labels = np.array(labels)
    joins = join_namesakes(table, left, right, prob, full_name, labels, rejected)
    return labels.tolist(), joins


def test_the_only_namesake_is_joined() -> None:
    labels, joins = _join([EMPLOYMENT, REGISTER], [(0, 1, 0.3)], [0, 1])
    assert labels == [0, 0]
    assert joins == [{"records": ("employment:E1", "electoral_roll:ER2"), "probability": 0.3,
                      "persons_joined": (1, 1)}]


def test_a_move_joins_a_later_register_record_but_not_one_held_since_the_same_extract() -> None:
    """The old register entry and the employment record are one person; the new entry appeared later."""
    rows = [EMPLOYMENT, OLD_REGISTER, REGISTER]
    labels, _ = _join(rows, [(0, 1, 0.99), (0, 2, 0.3), (1, 2, 0.4)], [0, 0, 2])
    assert labels == [0, 0, 0]
    same_first_extract = dict(REGISTER, **{FIRST_EXTRACT: "electoral_roll 2026-08-01"})
    labels, joins = _join([EMPLOYMENT, OLD_REGISTER, same_first_extract], [(0, 1, 0.99), (0, 2, 0.3), (1, 2, 0.4)],
                          [0, 0, 2])
    assert labels == [0, 0, 2] and joins == []


def test_two_candidates_are_ambiguous() -> None:
    other = dict(EMPLOYMENT, record_key="employment:E9", date_of_birth="1975-02-03", postcode="HW1 0AA",
                 **{FIRST_EXTRACT: "dwp 2026-08-01"})
    labels, _ = _join([EMPLOYMENT, REGISTER, other], [(0, 1, 0.3), (1, 2, 0.3)], [0, 1, 2])
    assert labels == [0, 1, 2]


def test_a_namesake_who_cannot_be_the_person_is_no_rival() -> None:
    """A second namesake whose date of birth differs from the employment record's is not a rival for
    it, and the register record cannot be them (a clear non-match): one possible candidate each."""
    rival = dict(EMPLOYMENT, record_key="dwp:D1", date_of_birth="1999-03-04", postcode="HW1 0AA",
                 **{FIRST_EXTRACT: "dwp 2026-08-01"})
    labels, joins = _join([EMPLOYMENT, REGISTER, rival], [(0, 1, 0.3), (0, 2, 0.3), (1, 2, 0.001)], [0, 1, 2])
    assert labels == [0, 0, 2] and len(joins) == 1


def test_contradictions_keep_namesakes_apart() -> None:
    child = dict(EMPLOYMENT, record_key="school:S1", date_of_birth="2016-01-01", **{FIRST_EXTRACT: "school 2026-08-01"})
    # a clear non-match between the two persons (e.g. the register's adults-only age range)
    labels, _ = _join([EMPLOYMENT, REGISTER, child], [(0, 1, 0.99), (0, 2, 0.3), (1, 2, 0.001)], [0, 0, 2])
    assert labels == [0, 0, 2]
    # different dates of birth on both sides
    labels, _ = _join([EMPLOYMENT, child], [(0, 1, 0.3)], [0, 1])
    assert labels == [0, 1]
    # a reviewer said no
    labels, _ = _join([EMPLOYMENT, REGISTER], [(0, 1, 0.3)], [0, 1], rejected={(0, 1)})
    assert labels == [0, 1]


def test_without_first_extracts_nothing_is_joined() -> None:
    rows = [{k: v for k, v in row.items() if k != FIRST_EXTRACT} for row in (EMPLOYMENT, REGISTER)]
    labels, joins = _join(rows, [(0, 1, 0.3)], [0, 1])
    assert labels == [0, 1] and joins == []
