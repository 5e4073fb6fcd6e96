"""The record encoder's fast paths give exactly what its general path gives.

:func:`engine.decisions.compact._need_results` tests a member's usual criterion (the family's but for its
value and person id) inline rather than through :meth:`_Encoder.member`, and format 4 keeps parameter
positions, rule sources and need descriptions per framework rather than per record. These tests build
members that differ from their family criterion in each way the fast path looks at (and in ways it must
not be fooled by: equal but distinct spans, citations and parameter uses) and compare the encodings and
the tables they fill, byte for byte."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.decisions.compact import (
    CITING_FORMATS, _EVIDENCE_ORDER, _Encoder, _need_results, canonical_bytes, compact,
)
from engine.decisions.framework_text import build_framework_text
from engine.rules import ir
from engine.rules.results import Evidence, FamilyResult, NeedResult, Override, ParamUse, TriResult

_CITES = (ir.Citation(text="Guidance ch.4", url="https://example.org/g", confidence="verified"),
          ir.Citation(text="Only in results", url=None, confidence="local"))
_SPAN = ir.Span(file="needs.hearth", line=3, column=1)
_HELD = ParamUse("window", ir.Duration(amount=12, unit="months"), date(2022, 1, 1), _CITES[0], "months")
_OWN = ParamUse("threshold", 90.5, date(2022, 1, 1), _CITES[1], "percent")
_FACT = Evidence("1", "offence", "P1", date(2023, 1, 5), "police", "POL-1", "b1", {"outcome": "proven"})
_OVERRIDE = Override("A", "F1", "P1", "met", "confirmed", "kw1", datetime(2023, 9, 1))
_TRUE = ir.Lit(value=True)
_FRAMEWORK = ir.Framework(
    header=ir.FrameworkHeader(id="fw", title="Fast paths", phase="3", version="1"),
    needs=(ir.Need(name="A", headline="H", condition=_TRUE, span=_SPAN, citations=(_CITES[0],)),),
    headlines=(ir.Headline(code="H", name="Headline", span=_SPAN),),
    parameters=(ir.Parameter(name="window", unit="months", values=(
        ir.DatedValue(effective_from=date(2022, 1, 1), value=12, citation=_CITES[0]),)),),
)
_VALUES = st.sampled_from(["met", "not_met", "unknown"])

#: how a member's criterion may differ from the family's; the first keeps it the family's (the fast path)
_CHANGES = {
    "nothing": lambda tri, pid: {},
    "person": lambda tri, pid: {"person_id": None},
    "rule": lambda tri, pid: {"rule": "B"},
    "kind": lambda tri, pid: {"kind": "rule"},
    "equal span": lambda tri, pid: {"span": ir.Span(file="needs.hearth", line=3, column=1) if tri.span else None},
    "other span": lambda tri, pid: {"span": ir.Span(file="local.hearth", line=9, column=2)},
    "copied citations": lambda tri, pid: {"citations": tuple(list(tri.citations))},
    "no citations": lambda tri, pid: {"citations": ()},
    "equal parameters": lambda tri, pid: {"parameters": [dataclasses.replace(p) for p in tri.parameters]},
    "parameters reordered": lambda tri, pid: {"parameters": list(reversed(tri.parameters))},
    "one parameter fewer": lambda tri, pid: {"parameters": list(tri.parameters[1:])},
    "evidence": lambda tri, pid: {"evidence": [_FACT]},
    "unknowns": lambda tri, pid: {"unknowns": ["police feed missing"]},
    "children": lambda tri, pid: {"children": [TriResult("met", "sub", "agg", person_id=pid)]},
    "detail": lambda tri, pid: {"detail": "count 2"},
    "override": lambda tri, pid: {"override": _OVERRIDE, "overridden_from": "not_met"},
    "overridden from": lambda tri, pid: {"overridden_from": "met"},
}


@st.composite
def _needs(draw) -> NeedResult:
    parameters = draw(st.sampled_from([[], [_HELD], [_OWN], [_HELD, _OWN], [_OWN, _HELD]]))
    family = TriResult(draw(_VALUES), "A", "need", span=draw(st.sampled_from([_SPAN, None])),
                       citations=draw(st.sampled_from([(), (_CITES[0],), _CITES])),
                       evidence=draw(st.sampled_from([[], [_FACT]])), parameters=parameters)
    members = {}
    for pid in draw(st.lists(st.sampled_from(["P1", "P2", "P3", "P4"]), unique=True, max_size=4)):
        # the evaluator's shared results: the family's span, citations and parameter uses, a list of their own
        member = dataclasses.replace(family, value=draw(_VALUES), person_id=pid, evidence=[],
                                     parameters=list(parameters))
        for change in draw(st.lists(st.sampled_from(sorted(_CHANGES)), max_size=2)):
            member = dataclasses.replace(member, **_CHANGES[change](member, pid))
        members[pid] = member
    return NeedResult("A", "A", "H", "person", family, members=members)


def _general_path(encoder: _Encoder, need: NeedResult) -> dict:
    """What the encoder gave before the inline test: every member through ``member``."""
    result = encoder.tri(need.result)
    return {"result": result, "members": {pid: encoder.member(r, need.result, result, pid)
                                          for pid, r in sorted(need.members.items())}}


def _tables(encoder: _Encoder) -> tuple:
    return encoder.facts, encoder.params, encoder.citations, encoder.source_entries


@settings(max_examples=300, deadline=None)
@given(_needs(), st.sampled_from([None, *CITING_FORMATS]), st.booleans())
def test_members_usual_criterion_encodes_as_the_general_path_does(need: NeedResult, version, warm: bool) -> None:
    """Whatever a member's criterion shares with its family's, and in every format, the inline test
    gives the same entries and the same tables; with the framework's memo fresh or already holding the
    criteria of an earlier record."""
    shared = {version: build_framework_text(_FRAMEWORK) for version in ("inline", "general")} if version else {}
    if warm and version:
        for text in shared.values():
            _need_results(_Encoder(text, version), need)
    inline = _Encoder(shared.get("inline"), version or 4)
    general = _Encoder(shared.get("general"), version or 4)
    assert canonical_bytes(_need_results(inline, need)) == canonical_bytes(_general_path(general, need))
    assert _tables(inline) == _tables(general)


def test_the_usual_member_is_written_as_its_bare_value_in_format_4() -> None:
    """The case the fast path exists for does take it; a member whose parameter uses are equal copies,
    or the family's objects in another order (as the evaluator gives on the 100k benchmark borough), does
    not, and is written as the general path always wrote it."""
    family = TriResult("not_met", "A", "need", span=_SPAN, citations=(_CITES[0],), parameters=[_HELD, _OWN])
    usual = dataclasses.replace(family, value="met", person_id="P1", parameters=[_HELD, _OWN])
    lookalike = dataclasses.replace(usual, person_id="P2", parameters=[dataclasses.replace(_HELD), _OWN])
    reordered = dataclasses.replace(usual, person_id="P3", parameters=[_OWN, _HELD])
    need = NeedResult("A", "A", "H", "person", family, members={"P1": usual, "P2": lookalike, "P3": reordered})
    members = _need_results(_Encoder(build_framework_text(_FRAMEWORK)), need)["members"]
    assert members == {"P1": "met", "P2": {"value": "met"}, "P3": {"value": "met"}}


def test_evidence_order_is_the_evidence_sort_key() -> None:
    facts = [_FACT, dataclasses.replace(_FACT, fact_id="0"), dataclasses.replace(_FACT, fact_type="absence"),
             dataclasses.replace(_FACT, date=date(2022, 12, 31))]
    assert [_EVIDENCE_ORDER(e) for e in facts] == [e.sort_key() for e in facts]
    assert sorted(facts, key=_EVIDENCE_ORDER) == sorted(facts, key=Evidence.sort_key)


def test_a_need_described_unlike_its_framework_keeps_its_description() -> None:
    """Need descriptions are compared with the framework's as tuples; one that differs in any field is
    written out in full, one that is the same is left to the framework."""
    shared = build_framework_text(_FRAMEWORK)
    plain = TriResult("not_met", "x", "rule")

    def record(need: NeedResult) -> dict:
        result = FamilyResult("F1", date(2023, 9, 1), "fw", "1", shared.framework_hash, plain, {"A": need},
                              {}, plain, {}, plain, {})
        return compact(result, shared)["needs"]["A"]

    same = NeedResult("A", "A", "H", "person", TriResult("met", "A", "need", span=_SPAN, citations=(_CITES[0],)))
    assert set(record(same)) == {"result", "members"}
    for field, value in (("name", "Crime"), ("headline", "H2"), ("subject", "family"), ("local", True)):
        differs = dataclasses.replace(same, **{field: value})
        assert record(differs)[field] == value and record(differs)["code"] == "A"
