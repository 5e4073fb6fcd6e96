"""A record's ``unknowns`` are gathered as its criteria are encoded, and are exactly ``FamilyResult.unknowns``.

The encoder notes the reasons of the criteria ``FamilyResult.iter_results`` covers (the family definition,
each need for the family and its members, eligibility, each outcome's achieved and sustained parts, the
claim) as it encodes them, rather than walking the result again. These tests put unknown criteria
everywhere a result can hold them - including where they must not count (named rules, headlines,
sub-criteria, an outcome's members, a value that is not unknown) - and in the encoder's fast paths (a
member's usual criterion, an outcome whose need was not identified, memoised or not), and compare."""

from __future__ import annotations

import dataclasses
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.decisions.compact import compact, expand
from engine.decisions.framework_text import build_framework_text
from engine.rules import ir
from engine.rules.results import FamilyResult, NeedResult, OutcomeResult, TriResult

_SPAN = ir.Span(file="needs.hearth", line=3, column=1)
_FRAMEWORK = ir.Framework(
    header=ir.FrameworkHeader(id="fw", title="Unknowns", phase="3", version="1"),
    needs=(ir.Need(name="A", headline="H", condition=ir.Lit(value=True), span=_SPAN),),
    headlines=(ir.Headline(code="H", name="Headline", span=_SPAN),),
)
_REASONS = st.lists(st.sampled_from(["police feed missing", "no date of birth", "school feed late"]), max_size=2)
_VALUES = st.sampled_from(["met", "not_met", "unknown"])
#: an outcome whose need was not identified: the evaluator's shared parts, reused from record to record
_NOT_IDENTIFIED = (TriResult("not_met", "A.achieved", "outcome"), TriResult("not_met", "A.sustained", "outcome"))


@st.composite
def _criteria(draw, rule: str, kind: str = "rule", person: str | None = None, depth: int = 1) -> TriResult:
    children = [draw(_criteria(f"{rule}.part", depth=depth - 1))] if depth and draw(st.booleans()) else []
    return TriResult(draw(_VALUES), rule, kind, person_id=person, unknowns=draw(_REASONS), children=children)


@st.composite
def _needs(draw, code: str) -> NeedResult:
    family = draw(_criteria(code, "need"))
    members = {}
    for pid in draw(st.lists(st.sampled_from(["P1", "P2", "P3"]), unique=True, max_size=3)):
        if draw(st.booleans()):  # the usual member: the family's criterion but for its value (the fast path)
            members[pid] = dataclasses.replace(family, value=draw(_VALUES), person_id=pid, unknowns=[], children=[])
        else:
            members[pid] = draw(_criteria(code, "need", pid))
    return NeedResult(code, code, "H", "person", family, members=members)


@st.composite
def _outcomes(draw, code: str) -> OutcomeResult:
    if draw(st.booleans()):
        return OutcomeResult(code, "not_met", *_NOT_IDENTIFIED, "not_met")
    achieved, sustained = draw(_criteria(f"{code}.achieved", "outcome")), draw(_criteria(f"{code}.sustained", "outcome"))
    members = {pid: {"achieved": draw(_criteria(f"{code}.achieved", "outcome", pid))}
               for pid in draw(st.lists(st.sampled_from(["P1", "P2"]), unique=True, max_size=2))}
    return OutcomeResult(code, draw(_VALUES), achieved, draw(st.sampled_from([sustained, None])), "unknown", members)


@st.composite
def _results(draw) -> FamilyResult:
    codes = draw(st.lists(st.sampled_from(["A", "B", "C"]), unique=True, max_size=3))
    return FamilyResult(
        "F1", date(2023, 9, 1), "fw", "1", build_framework_text(_FRAMEWORK).framework_hash,
        family_definition=draw(_criteria("family_definition")),
        needs={code: draw(_needs(code)) for code in codes},
        headlines={"H": draw(_criteria("H", "headline"))},
        eligible=draw(_criteria("eligible")),
        outcomes={code: draw(_outcomes(code)) for code in codes},
        claimable=draw(_criteria("claimable")),
        scores={},
        rules={"helper": draw(_criteria("helper"))},
    )


@settings(max_examples=300, deadline=None)
@given(_results(), st.sampled_from([None, 3, 4]))
def test_a_records_unknowns_are_the_results(result: FamilyResult, version) -> None:
    shared = build_framework_text(_FRAMEWORK) if version else None
    for _ in range(2):  # the second time with the framework's memo holding the first record's criteria
        record = compact(result, shared, version or 4) if shared else compact(result)
        assert record["unknowns"] == result.unknowns
    assert expand(record, shared)["unknowns"] == result.to_dict()["unknowns"]


def test_reasons_count_only_where_the_result_counts_them() -> None:
    """A reason under a criterion that is not unknown, a named rule, a headline, a sub-criterion or an
    outcome's member is not one of the family's; under a need's member or an outcome's part it is."""
    shared = build_framework_text(_FRAMEWORK)

    def unknown(rule: str, reason: str, person: str | None = None, value: str = "unknown") -> TriResult:
        return TriResult(value, rule, "rule", person_id=person, unknowns=[reason])

    plain = TriResult("met", "x", "rule")
    family = TriResult("not_met", "A", "need", children=[unknown("A.part", "in a sub-criterion")])
    need = NeedResult("A", "A", "H", "person", family, members={
        "P1": unknown("A", "a member's", "P1"), "P2": dataclasses.replace(family, value="met", person_id="P2",
                                                                          children=[])})
    outcome = OutcomeResult("A", "met", unknown("A.achieved", "achieved"), unknown("A.sustained", "met anyway", value="met"),
                            "unknown", members={"P1": {"achieved": unknown("A.achieved", "an outcome member's", "P1")}})
    result = FamilyResult("F1", date(2023, 9, 1), "fw", "1", shared.framework_hash, plain, {"A": need},
                          {"H": unknown("H", "a headline's")}, unknown("eligible", "eligibility"), {"A": outcome},
                          plain, {}, rules={"helper": unknown("helper", "a named rule's")})
    assert compact(result, shared)["unknowns"] == ["a member's", "achieved", "eligibility"] == result.unknowns
