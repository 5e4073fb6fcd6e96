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
    joins = join_namesakes(table, left, right, prob, {"namesake": full_name}, labels, rejected)
    return labels.tolist(), joins


def test_the_only_namesake_is_joined() -> None:
    labels, joins = _join([EMPLOYMENT, REGISTER], [(0, 1, 0.3)], [0, 1])
    assert labels == [0, 0]
    assert joins == [{"kind": "namesake", "records": ("employment:E1", "electoral_roll:ER2"), "probability": 0.3,
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


def test_a_surname_changed_at_home_is_proposed_only_at_one_home() -> None:
    """Given name exact and family name different propose a join at a shared home, not elsewhere."""
    from engine.matching.comparisons import default_comparisons
    from engine.matching.em import comparison_levels
    from engine.matching.linker import _join_proposals

    old_name = {"record_key": "council_tax:C1", "given_name": "JULIE", "family_name": "WILLIAMS",
                "address": "29 CANAL ROAD", "postcode": "HW1 0DQ", "uprn": "100091000721"}
    new_name = {"record_key": "employment:E1", "given_name": "JULIE", "family_name": "EDWARDS",
                "date_of_birth": "1977-01-26", "postcode": "HW1 0DQ"}
    elsewhere = dict(new_name, record_key="employment:E2", postcode="HW1 0AA")
    namesake = dict(old_name, record_key="electoral_roll:R1", postcode="HW1 0AA", uprn=None, address="1 ASH ROAD")
    table = RecordTable.from_rows([old_name, new_name, elsewhere, namesake])
    comparisons = default_comparisons(table)
    gamma = comparison_levels(table, comparisons, np.array([0, 0, 0]), np.array([1, 2, 3]))
    proposals = _join_proposals(comparisons, gamma)
    assert proposals["surname changed at home"].tolist() == [True, False, False]
    assert proposals["namesake"].tolist() == [False, False, True]
    # and the join itself follows rules 1-4 like a namesake's
    dated = RecordTable.from_rows([old_name | {FIRST_EXTRACT: "council_tax 2026-08-01"},
                                   new_name | {FIRST_EXTRACT: "employment 2026-08-01"}])
    labels = np.array([0, 1])
    joins = join_namesakes(dated, np.array([0]), np.array([1]), np.array([0.4]),
                           {"namesake": np.array([False]), "surname changed at home": np.array([True])}, labels)
    assert labels.tolist() == [0, 0] and joins[0]["kind"] == "surname changed at home"


def _join_kinds(rows: list[dict], proposals: dict[str, list[tuple[int, int, float]]], labels: list[int]):
    """Every pair proposed by one kind; ``proposals`` maps a kind to its (i, j, probability) pairs."""
    scored = [(i, j, p, kind) for kind, pairs in proposals.items() for i, j, p in pairs]
    masks = {kind: np.array([k == kind for *_, k in scored]) for kind in proposals}
    labels = np.array(labels)
    joins = join_namesakes(RecordTable.from_rows(rows), np.array([i for i, *_ in scored]),
                           np.array([j for _, j, *_ in scored]), np.array([p for _, _, p, _ in scored]),
                           masks, labels)
    return labels.tolist(), joins


def test_candidates_that_could_all_be_one_person_are_joined() -> None:
    """ALEXANDRU HORVATH's register record has two candidates, his employment record (a namesake) and
    the council tax's ALEXANDER at his home; nothing keeps those two apart, so all three are one."""
    register = {"record_key": "electoral_roll:ER1", "given_name": "ALEXANDRU", "family_name": "HORVATH",
                "address": "112 ALDER ROAD", "postcode": "HW1 0AJ", FIRST_EXTRACT: "electoral_roll 2026-08-01"}
    employment = {"record_key": "employment:E1", "given_name": "ALEXANDRU", "family_name": "HORVATH",
                  "date_of_birth": "1995-11-23", "postcode": "HW1 0DZ", FIRST_EXTRACT: "employment 2026-08-01"}
    council_tax = dict(register, record_key="council_tax:C1", given_name="ALEXANDER",
                       **{FIRST_EXTRACT: "council_tax 2026-08-01"})
    labels, joins = _join_kinds([register, employment, council_tax],
                                {"namesake": [(0, 1, 0.85)], "given name spelt another way at home": [(0, 2, 0.88)]},
                                [0, 1, 2])
    assert labels == [0, 0, 0]
    assert sorted(j["kind"] for j in joins) == ["given name spelt another way at home", "namesake"]


def test_candidates_of_different_kinds_that_cannot_be_one_person_are_ambiguous() -> None:
    """SONIA CAMPBELL's employment record: a namesake's register record elsewhere, and at its postcode
    SONIA AZIZ (her married name). Council tax lists both women from one extract, so they are two
    people and which one the employment record belongs to is not decided by a join."""
    employment = {"record_key": "employment:E1", "given_name": "SONIA", "family_name": "CAMPBELL",
                  "date_of_birth": "1967-07-05", "postcode": "HW1 0DP", FIRST_EXTRACT: "employment 2026-08-01"}
    namesake = {"record_key": "council_tax:C1", "given_name": "SONIA", "family_name": "CAMPBELL",
                "address": "2 BEECH ROAD", "postcode": "HW1 0AW", FIRST_EXTRACT: "council_tax 2026-08-01"}
    married = dict(namesake, record_key="council_tax:C2", family_name="AZIZ", address="14 CANAL ROAD",
                   postcode="HW1 0DP")
    labels, joins = _join_kinds([employment, namesake, married],
                                {"namesake": [(0, 1, 0.6)], "surname changed at home": [(0, 2, 0.4)]}, [0, 1, 2])
    assert labels == [0, 1, 2] and joins == []
