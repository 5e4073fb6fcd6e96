"""Compact decision records (formats 2, 3 and 4) lose nothing: they expand to exactly the full ``to_dict()``
form (formats 3 and 4 with their framework's table), and records written in the older formats
(1 full, 2 self-contained) still read, verify, replay and explain the same."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib
from collections import Counter
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.decisions.compact import (
    CITING_FORMATS, FORMAT, NOT_IDENTIFIED, SELF_CONTAINED_FORMAT, canonical_bytes, compact, encode, expand,
)
from engine.decisions.framework_text import build_framework_text, framework_text
from engine.decisions.lookup import explain_recorded
from engine.decisions.profile import profile
from engine.decisions.records import (
    canonical_json, pack_result, record_hash, stored_bytes, stored_result, verify_chain,
)
from engine.decisions.rehydrate import full_form, result_from_dict
from engine.decisions.replay import replay_decision
from engine.errors import IntegrityError
from engine.rules import ir
from engine.rules.results import Evidence, FamilyResult, NeedResult, OutcomeResult, Override, ParamUse, ScoreResult, TriResult
from engine.storage.tables_decisions import GENESIS_HASH, decisions

from tests.decisions.pipeline import AS_OF, DECIDED_AT, FEB, JAN, DemoFeeds, phase3
from tests.rules.test_bulk_identical import ROOT, bench  # the seeded benchmark families the golden digests use

#: sha256 of the stored bytes of 40 seeded benchmark families, framework hash masked, by (format, trace,
#: as_of). Pins the record formats: if this changes, records written before the change must still expand
#: exactly (bump FORMAT and keep a reader for the old one rather than changing a format in place).
GOLDEN_COMPACT = {
    (2, False, date(2023, 9, 1)): "125e44e569a9f4c34d1b3eca53b77c9749c2a7819d634d6e5c50d72ec080be89",
    (2, True, date(2023, 9, 1)): "6854ca94485f3c9c976782776dbdbbaf23c5dd2429bd17226ef1c663af0fdf6c",
    (3, False, date(2023, 9, 1)): "7ab50ad549736f2ebeba28572b8ac1f97c88e59144e8636e444fa544046b822c",
    (3, True, date(2023, 9, 1)): "d4cbec0ee3c6594d67807b73ae86f10d46b2c4201da15409a9fcc9f06253d67e",
    (4, False, date(2023, 9, 1)): "eb06aded04220d97ae2db54e811c00f9e41b83de279db9500109a5c527a6e096",
    (4, True, date(2023, 9, 1)): "e2f7b36be1012fb2ba9be2925e3546e0f649f7ea63c4a8d5c3de3f07816dccea",
}


@pytest.fixture(scope="module")
def compiled():
    from dsl.api import load_framework
    from engine.rules.evaluator import compile_framework

    return compile_framework(load_framework(ROOT / "frameworks" / "phase3"))


def full(result: FamilyResult) -> dict:
    return json.loads(canonical_json(result.to_dict()))


def stored_framework_text(framework: ir.Framework):
    """The table a reader builds from the framework as stored (its canonical JSON read back)."""
    return build_framework_text(ir.Framework.model_validate_json(framework.canonical_json()))


@pytest.mark.parametrize("trace", [False, True])
def test_phase3_records_expand_to_the_full_form_exactly(compiled, trace: bool) -> None:
    """Every benchmark family, with and without the sub-criteria tree: every compact format expands to
    exactly to_dict (formats 3 and 4 with the table a reader builds from the stored framework); format 2
    is much smaller than the full form, format 3 much smaller again, and format 4 smaller still."""
    shared = framework_text(compiled.framework)
    stored = stored_framework_text(compiled.framework)
    assert stored == shared, "the stored framework gives the same table"
    sizes = {1: 0, SELF_CONTAINED_FORMAT: 0, 3: 0, 4: 0}
    shorthands = Counter()
    for family in bench.synthetic_families(40, seed=5):
        result = compiled.evaluate(family, date(2023, 9, 1), trace=trace)
        self_contained = encode(result)
        assert json.loads(self_contained)["format"] == SELF_CONTAINED_FORMAT
        assert expand(json.loads(self_contained)) == full(result)
        sizes[1] += len(canonical_json(result.to_dict()).encode())
        sizes[SELF_CONTAINED_FORMAT] += len(self_contained)
        for version in CITING_FORMATS:
            citing = encode(result, shared, version)
            assert json.loads(citing)["format"] == version
            assert expand(json.loads(citing), stored) == full(result)
            sizes[version] += len(citing)
        latest = json.loads(citing)
        shorthands["outcome"] += sum(o == NOT_IDENTIFIED for o in latest["outcomes"].values())
        shorthands["member"] += sum(isinstance(m, str) for n in latest["needs"].values() for m in n["members"].values())
    # format 4 spells an outcome whose need was not identified, and a member's bare value (one without a
    # tree of sub-criteria), in a word
    assert shorthands["outcome"] > 40 * 10 and (shorthands["member"] > 40 * 10) != trace, shorthands
    assert json.loads(encode(result, shared))["format"] == FORMAT == 4
    assert sizes[SELF_CONTAINED_FORMAT] * 2.5 < sizes[1], sizes
    # the framework's text is ~25 KB of a record, less of one carrying its sub-criteria tree
    assert sizes[3] * (1.2 if trace else 1.5) < sizes[SELF_CONTAINED_FORMAT], sizes
    # format 3 spelled out each parameter value a record's criteria used in the record's own table, and
    # each outcome of a need not identified in full
    assert sizes[4] * (1.1 if trace else 1.5) < sizes[3], sizes


@pytest.mark.parametrize("version, trace, as_of", list(GOLDEN_COMPACT))
def test_compact_bytes_match_the_recorded_digest(compiled, version: int, trace: bool, as_of: date) -> None:
    shared = framework_text(compiled.framework) if version in CITING_FORMATS else None
    sha = hashlib.sha256()
    for family in bench.synthetic_families(40, seed=5):
        result = compiled.evaluate(family, as_of, trace=trace)
        text = encode(result, shared, version) if shared is not None else encode(result)
        sha.update(text.replace(compiled.hash.encode(), b"<framework hash>"))
        sha.update(b"\n")
    assert sha.hexdigest() == GOLDEN_COMPACT[(version, trace, as_of)]


def _evidence(fact_id: str, day: int, outcome: str = "proven") -> Evidence:
    return Evidence(fact_id, "offence", "P1", date(2023, 1, day), "police", f"POL-{fact_id}", "b1",
                    {"offence_date": date(2023, 1, day), "outcome": outcome})


def _awkward_result() -> FamilyResult:
    """The cases a table-and-reference encoding could get wrong: a member whose person, rule, kind and
    parameters differ from its family result, a criterion whose span differs from its rule's, a fact
    listed twice in one criterion, two objects for one fact id with different content, two parameter
    uses of one name, overrides, and a sub-criteria tree."""
    cite = ir.Citation(text="Guidance ch.4", url="https://example.org/g", confidence="verified")
    other = ir.Citation(text="Local plan", url=None, confidence="local")
    span = ir.Span(file="needs.hearth", line=3, column=1)
    window = ParamUse("window", ir.Duration(amount=12, unit="months"), date(2022, 1, 1), cite, "months")
    window_later = ParamUse("window", ir.Duration(amount=6, unit="months"), date(2023, 4, 1), other, "months",
                            override_label="local")
    a, b = _evidence("1", 5), _evidence("2", 3)
    b_corrected = _evidence("2", 3, outcome="caution")  # same fact id, different content
    override = Override("CRIME", "F1", "P2", "met", "police confirmed", "kw1", datetime(2023, 9, 1, 10))
    child = TriResult("met", "any offence in last window", "agg", person_id="P1", evidence=[a], detail="count 1")
    family_need = TriResult("met", "CRIME", "need", span=span, citations=(cite, other), evidence=[b, a, a],
                            parameters=[window_later, window], children=[child])
    members = {
        "P1": TriResult("met", "CRIME", "need", span=span, citations=(cite, other), person_id="P1",
                        evidence=[a], parameters=[window, window_later]),
        "P2": TriResult("met", "CRIME", "need", span=ir.Span(file="local.hearth", line=9, column=2),
                        citations=(other,), person_id="P2", evidence=[b_corrected], parameters=[],
                        override=override, overridden_from="not_met"),
        "P3": TriResult("unknown", "CRIME_LOCAL", "local_need", person_id=None,
                        unknowns=["police feed missing for 2023", "police feed missing for 2023"]),
    }
    achieved = TriResult("not_met", "CRIME.achieved", "outcome_achieved", span=span, parameters=[window])
    outcome = OutcomeResult("CRIME", "met", achieved, None, "not_met",
                            members={"P1": {"achieved": TriResult("met", "CRIME.achieved", "outcome_achieved",
                                                                  span=span, person_id="P1")}})
    plain = TriResult("not_met", "x", "rule")
    return FamilyResult(
        family_id="F1", as_of=date(2023, 9, 1), framework_id="fw", framework_version="1", framework_hash="h",
        family_definition=plain,
        needs={"CRIME": NeedResult("CRIME", "Crime", "CRIME", "person", family_need, members=members)},
        headlines={"CRIME": TriResult("met", "CRIME", "headline", detail="needs met: CRIME")},
        eligible=TriResult("unknown", "eligible", "eligible", unknowns=["police feed missing for 2023"]),
        outcomes={"CRIME": outcome}, claimable=plain,
        scores={"v": ScoreResult("v", 3.0, 5.0, False, "amber", False)},
        roles={"P1": {"adult": "met"}}, person_rules={"P1": {"is_offender": "met"}},
        overrides=[override], identified_as_of=date(2023, 2, 1),
    )


def test_awkward_results_expand_exactly() -> None:
    result = _awkward_result()
    stored = json.loads(encode(result))
    assert expand(stored) == full(result)
    assert result_from_dict(expand(stored)).to_dict() == result.to_dict()
    # each fact and citation once, in order of first reference; the corrected fact is a separate entry
    assert [(f["fact_id"], f["values"]["outcome"]) for f in stored["facts"]] == [
        ("2", "proven"), ("1", "proven"), ("2", "caution")]
    assert len(stored["citations"]) == 2 and len(stored["params"]) == 2
    # a member sharing rule, kind, person and parameters with its family result stores its value and facts;
    # one that differs says how
    members = stored["needs"]["CRIME"]["members"]
    assert set(members["P1"]) == {"value", "facts"}
    assert members["P2"]["params"] == [] and members["P2"]["span"] == "local.hearth:9:2"
    assert members["P3"]["person_id"] is None and members["P3"]["rule"] == "CRIME_LOCAL"


def test_encoding_ignores_the_order_results_were_built_in() -> None:
    """Tables are built in the record's sorted order, not the evaluator's insertion order."""
    result = _awkward_result()
    shuffled = _awkward_result()
    shuffled.needs["CRIME"].members = dict(reversed(list(shuffled.needs["CRIME"].members.items())))
    shuffled.needs["CRIME"].result.evidence.reverse()
    assert encode(shuffled) == encode(result)


def test_a_shared_result_remembered_by_identity_still_yields_to_a_record_s_own_source(compiled) -> None:
    """The encoder remembers a family-level criterion it has met in two records by the object itself (a
    shared result: the same object in many records). A later record whose first criterion of that rule
    has another source must still spell the shared result's own source, as the full walk would."""
    shared = framework_text(compiled.framework)
    family = next(f for f in bench.synthetic_families(10, seed=5) if f.case.identified is None)
    result = compiled.evaluate(family, date(2023, 9, 1), trace=False)
    name, common = next((n, r) for n, r in sorted(result.rules.items()) if not r.evidence)
    for _ in range(3):  # met again and again: remembered by identity
        assert expand(json.loads(encode(result, shared)), shared) == full(result)
    assert shared.by_identity[id(common)][0] is common
    moved = ir.Span(file="local.hearth", line=99, column=1)
    # the record's first criterion of the rule (family_definition is encoded first) has another source
    result.family_definition = dataclasses.replace(common, span=moved)
    assert result.rules[name] is common
    stored = json.loads(encode(result, shared))
    assert stored["rules"][name]["span"] == str(common.span)
    assert expand(stored, shared) == full(result)


def test_a_record_format_this_engine_does_not_know_is_refused() -> None:
    stored = compact(_awkward_result())
    stored["format"] = 99
    with pytest.raises(IntegrityError, match="record format 99"):
        full_form(stored)
    stored["format"] = FORMAT
    with pytest.raises(IntegrityError, match=r"format 4, which refers to its stored framework.*stored_result\(row, conn\)"):
        full_form(stored)
    legacy = full(_awkward_result())
    assert full_form(legacy) is legacy, "format 1 (no format key) is already the full form"
    assert canonical_bytes({"b": [1, 2.5], "a": "é"}) == b'{"a":"\xc3\xa9","b":[1,2.5]}'


def _rewrite_in_format(engine: sa.Engine, version: int) -> None:
    """Turn every stored decision into what an older engine wrote: the full JSON (format 1, before compact
    records) or the self-contained compact record (format 2), zlib-compressed, its digest, and the hash
    chain recomputed."""
    with engine.begin() as conn:
        rows = conn.execute(sa.select(decisions).order_by(decisions.c.seq)).all()
        prev = GENESIS_HASH
        for row in rows:
            data = stored_result(row, conn)
            text = canonical_json(data) if version == 1 else encode(result_from_dict(data))
            data_bytes = text.encode() if isinstance(text, str) else text
            # (older engines compressed with zlib; runs now write zstd: readers take either)
            packed, digest = zlib.compress(data_bytes, 1), pack_result(text)[1]
            data = dict(row._mapping, result_zlib=packed, result_sha256=digest, prev_hash=prev)
            data["record_hash"] = prev = record_hash(prev, data)
            conn.execute(decisions.update().where(decisions.c.seq == row.seq).values(
                result_zlib=packed, result_sha256=digest, prev_hash=data["prev_hash"], record_hash=data["record_hash"]))


@pytest.mark.parametrize("version", [1, SELF_CONTAINED_FORMAT])
def test_older_records_still_verify_replay_and_explain_the_same(db: sa.Engine, tmp_path, version: int) -> None:
    """A database written by an older engine: the chain verifies, every record reads without a framework
    and expands to what the format 3 record did, every decision replays identically after later loads,
    and explain prints exactly what it prints for the format 3 record."""
    feeds = DemoFeeds(db, tmp_path / "feeds")
    feeds.load(JAN)
    run = profile(db, phase3(), AS_OF, DECIDED_AT)
    family = run.evaluated[0].family_id
    compact_text = explain_recorded(db, family).text
    with db.connect() as conn:
        compact_results = [stored_result(r, conn) for r in conn.execute(sa.select(decisions).order_by(decisions.c.seq))]
    _rewrite_in_format(db, version)
    with db.connect() as conn:
        rows = conn.execute(sa.select(decisions).order_by(decisions.c.seq)).all()
        assert verify_chain(conn).intact
    assert all(json.loads(stored_bytes(r)).get("format", 1) == version for r in rows)
    assert [stored_result(r) for r in rows] == compact_results
    feeds.load(FEB)
    assert all(replay_decision(db, d).identical for d in run.decision_ids)
    explained = explain_recorded(db, family)
    assert "matches the record exactly" in explained.heading()
    assert explained.text == compact_text


# Any result, not just the ones Phase 3 happens to produce ------------------------------------------------

_CITES = [ir.Citation(text="Guidance ch.4", url="https://example.org/g", confidence="verified"),
          ir.Citation(text="Local plan", url=None, confidence="local")]
_SPANS = [None, ir.Span(file="a.hearth", line=1, column=1), ir.Span(file="b.hearth", line=7, column=3)]
_FACTS = [_evidence("1", 5), _evidence("2", 3), _evidence("2", 3, outcome="caution"), _evidence("3", 9)]
_PARAMS = [ParamUse("window", ir.Duration(amount=12, unit="months"), date(2022, 1, 1), _CITES[0], "months"),
           ParamUse("window", ir.Duration(amount=6, unit="months"), date(2023, 4, 1), None, "months", "local"),
           ParamUse("threshold", 90.5, date(2022, 1, 1), _CITES[1], "percent")]
_VALUES = st.sampled_from(["met", "not_met", "unknown"])
_TRUE = ir.Lit(value=True)
#: a framework holding some of the spans and citations the results draw (one citation is only in results)
_FRAMEWORK = ir.Framework(
    header=ir.FrameworkHeader(id="fw", title="Property test", phase="3", version="1"),
    needs=(ir.Need(name="A", headline="H", condition=_TRUE, span=_SPANS[1], citations=(_CITES[0],)),),
    outcomes=(ir.Outcome(name="A_outcome", need="A", achieved=_TRUE, span=_SPANS[2]),),
    rules=(ir.DerivedRule(name="r1", condition=_TRUE, span=_SPANS[2], citations=(_CITES[0],)),),
    headlines=(ir.Headline(code="H", name="Headline", span=_SPANS[1]),),
    # holds the first parameter use the results draw (format 4 refers to it), not the others
    parameters=(ir.Parameter(name="window", unit="months", values=(
        ir.DatedValue(effective_from=date(2022, 1, 1), value=12, citation=_CITES[0]),)),),
)
_SHARED = framework_text(_FRAMEWORK)


def _tris(depth: int = 0) -> st.SearchStrategy[TriResult]:
    children = st.lists(st.deferred(lambda: _tris(depth + 1)), max_size=2) if depth < 1 else st.just([])
    return st.builds(
        TriResult, value=_VALUES, rule=st.sampled_from(["A", "B", "A.achieved"]),
        kind=st.sampled_from(["need", "rule", "agg"]), span=st.sampled_from(_SPANS),
        citations=st.sampled_from([(), (_CITES[0],), tuple(_CITES)]),
        person_id=st.sampled_from([None, "P1", "P2"]),
        evidence=st.lists(st.sampled_from(_FACTS), max_size=3), parameters=st.lists(st.sampled_from(_PARAMS), max_size=3),
        unknowns=st.lists(st.sampled_from(["feed missing", "term missing"]), max_size=2), children=children,
        detail=st.sampled_from([None, "count 2"]), overridden_from=st.sampled_from([None, "not_met"]),
        override=st.sampled_from([None, Override("A", "F1", "P1", "met", "confirmed", "kw1", datetime(2023, 9, 1))]),
    )


@st.composite
def _results(draw) -> FamilyResult:
    people = st.dictionaries(st.sampled_from(["P1", "P2", "P3"]), _tris(1), max_size=3)
    needs = {code: NeedResult(code, f"need {code}", "H", "person", draw(_tris()), members=draw(people))
             for code in draw(st.sets(st.sampled_from(["A", "B"])))}
    outcomes = {code: OutcomeResult(code, draw(_VALUES), draw(_tris()), draw(st.one_of(st.none(), _tris())), draw(_VALUES),
                                    members={pid: draw(st.dictionaries(st.sampled_from(["achieved", "sustained"]), _tris(1)))
                                             for pid in draw(st.sets(st.sampled_from(["P1", "P2"])))})
                for code in draw(st.sets(st.sampled_from(["A", "B"])))}
    return FamilyResult(
        family_id="F1", as_of=date(2023, 9, 1), framework_id="fw", framework_version="1",
        framework_hash=_SHARED.framework_hash, family_definition=draw(_tris()), needs=needs, headlines={"H": draw(_tris())}, eligible=draw(_tris()),
        outcomes=outcomes, claimable=draw(_tris()), scores={}, rules=draw(st.dictionaries(st.sampled_from(["r1", "r2"]), _tris())),
    )


@settings(max_examples=50, deadline=None)
@given(_results())
def test_any_result_expands_exactly(result: FamilyResult) -> None:
    """Whatever mix of shared and differing facts, parameters, spans, citations, people and overrides a
    result has, its compact record expands to exactly its full form, in every format; and format 4's
    criteria reused from earlier records (the framework's memo) encode exactly as a fresh encoder does."""
    assert expand(json.loads(encode(result))) == full(result)
    for version in CITING_FORMATS:
        assert expand(json.loads(encode(result, _SHARED, version)), _SHARED) == full(result)
    assert encode(result, _SHARED) == encode(result, build_framework_text(_FRAMEWORK))
