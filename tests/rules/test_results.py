"""The result model serialises deterministically and gathers unknown reasons."""

from __future__ import annotations

import json
from datetime import date, datetime

from engine.rules import ir
from engine.rules.results import (
    Evidence, FamilyResult, NeedResult, Override, ParamUse, ScoreResult, TriResult,
)


def _evidence(fact_id: str, day: int) -> Evidence:
    return Evidence(fact_id, "offence", "P1", date(2023, 1, day), "police", f"POL-{fact_id}", "b1",
                    {"offence_date": date(2023, 1, day), "outcome": "proven"})


def _family(evidence_order: list[Evidence]) -> FamilyResult:
    need = TriResult("met", "CRIME", "need", span=ir.Span(file="n.hearth", line=3, column=1),
                     person_id="P1", evidence=list(evidence_order),
                     parameters=[ParamUse("window", ir.Duration(amount=12, unit="months"), date(2022, 1, 1))])
    unknown = TriResult("unknown", "EDU", "need", unknowns=["attendance for spring term 2023 missing for person P2"])
    plain = TriResult("not_met", "x", "rule")
    return FamilyResult(
        family_id="F1", as_of=date(2023, 9, 1), framework_id="fw", framework_version="1", framework_hash="h",
        family_definition=plain,
        needs={"EDU": NeedResult("EDU", "Education", "EDUCATION", "person", unknown),
               "CRIME": NeedResult("CRIME", "Crime", "CRIME", "person", need, members={"P1": need})},
        headlines={"CRIME": need, "EDUCATION": unknown}, eligible=unknown, outcomes={}, claimable=plain,
        scores={"v": ScoreResult("v", 3.0, 5.0, False, "amber", False)},
        overrides=[Override("EDU", "F1", None, "met", "school confirmed", "kw1", datetime(2023, 9, 1, 10))],
    )


def test_to_json_is_identical_whatever_the_evidence_order():
    """Evidence order does not change the canonical JSON."""
    a, b, c = _evidence("1", 5), _evidence("2", 3), _evidence("3", 9)
    first = _family([a, b, c]).to_json()
    assert first == _family([c, a, b]).to_json()
    data = json.loads(first)
    assert [e["fact_id"] for e in data["needs"]["CRIME"]["result"]["evidence"]] == ["2", "1", "3"]
    assert data["needs"]["CRIME"]["result"]["evidence"][0]["values"]["offence_date"] == "2023-01-03"
    assert data["needs"]["CRIME"]["result"]["parameters"][0]["value"] == "12 months"
    assert data["overrides"][0]["at"] == "2023-09-01T10:00:00"


def test_unknowns_collects_reasons_from_unknown_results_only():
    """The family's unknowns list the reasons of unknown criteria, once each."""
    result = _family([_evidence("1", 5)])
    assert result.unknowns == ["attendance for spring term 2023 missing for person P2"]
    assert result.summary()["needs"] == {"CRIME": "met", "EDU": "unknown"}
    assert result.rag == {"v": "amber"}
