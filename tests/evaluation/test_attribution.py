"""Each disagreement with the truth is put down to the first step that changes the truth's answer,
using the Phase 3 framework's offending need (an offence proven in the last 12 months)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dsl import load_framework
from engine.evaluation.attribution import (
    COVERAGE, FACTS, GROUPING, MERGED, SOURCE_DEFECTS, SPLIT, Compared, PipelineSide, attribute,
)
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import Coverage, Fact, FamilyInput, Member

AS_OF = date(2024, 6, 1)
NEED = "CRIME_OFFENDING"
FULL = {"offence": Coverage("offence", date(2019, 9, 1), AS_OF, ("police",))}
ADULT, CHILD = date(1985, 1, 1), date(2012, 1, 1)


@pytest.fixture(scope="module")
def compiled():
    return compile_framework(load_framework(Path(__file__).resolve().parents[2] / "frameworks" / "phase3"))


def _offence(record: str, person: str) -> Fact:
    return Fact(fact_id=f"f-{record}", fact_type="offence", date=date(2024, 3, 1), person_id=person,
                fields={"offence_date": date(2024, 3, 1), "outcome": "proven", "offence_type": "theft"},
                source="police", source_record_id=record)


def _truth(offence: bool) -> FamilyInput:
    members = (Member("TP1", ADULT, "F"), Member("TP2", CHILD, "M"))
    facts = (_offence("r1", "TP1"),) if offence else ()
    return FamilyInput("TH1", members, facts, coverage=FULL)


def _pipeline_family(compiled, members: list[tuple[str, date]], facts: list[Fact], coverage=FULL) -> dict:
    family = FamilyInput("F1", tuple(Member(p, dob) for p, dob in members), tuple(facts), coverage=coverage)
    return compiled.evaluate(family, AS_OF, trace=False).to_dict()


def _compared(compiled, truth: FamilyInput, decided: dict, readable: FamilyInput | None = None) -> list[Compared]:
    return [Compared(truth, readable or truth, "F1", decided, compiled.evaluate(truth, AS_OF))]


def _cause(compiled, truth: FamilyInput, decided: dict, side: PipelineSide,
           readable: FamilyInput | None = None) -> list[tuple[str, str, str, str]]:
    result = attribute(compiled, AS_OF, _compared(compiled, truth, decided, readable), side)
    assert sum(result.needs.values()) == len([d for d in result.disagreements if d.subject != "eligibility"])
    return [(d.subject, d.truth, d.pipeline, d.cause) for d in result.disagreements if d.subject == NEED]


def test_a_fact_the_pipeline_lacks_is_a_fact_difference(compiled) -> None:
    side = PipelineSide({"r1": [], "r2": []}, FULL, {"r1": "p1", "r2": "p2"}, {"p1": "F1", "p2": "F1"},
                        {"r1": "TP1", "r2": "TP2"})
    decided = _pipeline_family(compiled, [("p1", ADULT), ("p2", CHILD)], [])
    assert _cause(compiled, _truth(offence=True), decided, side) == [(NEED, "met", "not_met", FACTS)]


def test_a_fact_only_sent_in_a_broken_row_is_a_source_defect(compiled) -> None:
    """The truth knows the offence, but the police system only sent it in a row ingest had to quarantine."""
    side = PipelineSide({"r1": [], "r2": []}, FULL, {"r1": "p1", "r2": "p2"}, {"p1": "F1", "p2": "F1"},
                        {"r1": "TP1", "r2": "TP2"})
    decided = _pipeline_family(compiled, [("p1", ADULT), ("p2", CHILD)], [])
    assert _cause(compiled, _truth(offence=True), decided, side, readable=_truth(offence=False)) == [
        (NEED, "met", "not_met", SOURCE_DEFECTS)]


def test_narrower_coverage_is_a_coverage_difference(compiled) -> None:
    late = {"offence": Coverage("offence", date(2024, 5, 1), AS_OF, ("police",))}
    side = PipelineSide({"r1": [], "r2": []}, late, {"r1": "p1", "r2": "p2"}, {"p1": "F1", "p2": "F1"},
                        {"r1": "TP1", "r2": "TP2"})
    decided = _pipeline_family(compiled, [("p1", ADULT), ("p2", CHILD)], [], coverage=late)
    assert _cause(compiled, _truth(offence=False), decided, side) == [(NEED, "not_met", "unknown", COVERAGE)]


def test_a_person_split_in_two_is_a_matching_error(compiled) -> None:
    """TP1's police record became a separate person in another family: the facts are right, the people not."""
    side = PipelineSide({"r1": [], "r1b": [_offence("r1b", "r1b")], "r2": []}, FULL,
                        {"r1": "p1", "r1b": "p9", "r2": "p2"}, {"p1": "F1", "p2": "F1", "p9": "F9"},
                        {"r1": "TP1", "r1b": "TP1", "r2": "TP2"})
    decided = _pipeline_family(compiled, [("p1", ADULT), ("p2", CHILD)], [])
    assert _cause(compiled, _truth(offence=True), decided, side) == [(NEED, "met", "not_met", SPLIT)]


def test_two_people_made_one_is_a_merge(compiled) -> None:
    """The child's school record was matched to the parent: one member is two true people."""
    side = PipelineSide({"r1": [_offence("r1", "r1")], "r2": []}, FULL, {"r1": "p1", "r2": "p1"}, {"p1": "F1"},
                        {"r1": "TP1", "r2": "TP2"})
    decided = _pipeline_family(compiled, [("p1", ADULT)], [])
    assert _cause(compiled, _truth(offence=True), decided, side) == [(NEED, "met", "not_met", MERGED)]


def test_a_member_merged_with_someone_in_another_family_is_a_merge(compiled) -> None:
    """The parent's records were matched to a neighbour (TP9) grouped elsewhere: the family lost a member
    because of a merge, not because of the grouping rules."""
    side = PipelineSide({"r1": [_offence("r1", "r1")], "r2": [], "r9": []}, FULL,
                        {"r1": "p1", "r2": "p2", "r9": "p1"}, {"p1": "F7", "p2": "F1"},
                        {"r1": "TP1", "r2": "TP2", "r9": "TP9"})
    decided = _pipeline_family(compiled, [("p2", CHILD)], [])
    assert _cause(compiled, _truth(offence=True), decided, side) == [(NEED, "met", "not_met", MERGED)]


def test_a_member_in_the_wrong_family_is_a_grouping_error(compiled) -> None:
    side = PipelineSide({"r1": [_offence("r1", "r1")], "r2": []}, FULL, {"r1": "p1", "r2": "p2"},
                        {"p1": "F7", "p2": "F1"}, {"r1": "TP1", "r2": "TP2"})
    decided = _pipeline_family(compiled, [("p2", CHILD)], [])
    assert _cause(compiled, _truth(offence=True), decided, side) == [(NEED, "met", "not_met", GROUPING)]


def test_agreement_is_not_attributed(compiled) -> None:
    side = PipelineSide({"r1": [_offence("r1", "r1")], "r2": []}, FULL, {"r1": "p1", "r2": "p2"},
                        {"p1": "F1", "p2": "F1"}, {"r1": "TP1", "r2": "TP2"})
    decided = _pipeline_family(compiled, [("p1", ADULT), ("p2", CHILD)], [_offence("r1", "p1")])
    result = attribute(compiled, AS_OF, _compared(compiled, _truth(True), decided), side)
    assert result.disagreements == [] and not result.eligibility and not result.needs


def test_disagreements_are_written_one_row_each(compiled, tmp_path) -> None:
    from engine.evaluation.attribution import write_disagreements

    side = PipelineSide({"r1": [], "r2": []}, FULL, {"r1": "p1", "r2": "p2"}, {"p1": "F1", "p2": "F1"},
                        {"r1": "TP1", "r2": "TP2"})
    decided = _pipeline_family(compiled, [("p1", ADULT), ("p2", CHILD)], [])
    result = attribute(compiled, AS_OF, _compared(compiled, _truth(True), decided), side)
    lines = write_disagreements(tmp_path / "out" / "d.csv", result).read_text().splitlines()
    assert lines[0] == "true_household,pipeline_family,subject,truth,pipeline,cause"
    assert "TH1,F1,CRIME_OFFENDING,met,not_met,facts" in lines and len(lines) == 1 + len(result.disagreements)
