"""Whole results from the columns (engine.columns.assemble) record exactly what the evaluator records.

``tests/rules/test_columns.py`` compares the bytes of bulk records (which take a family's whole result
from :func:`column_result`) with one-by-one evaluation; these tests make sure those comparisons exercise
the whole-result path - every family it may take, and each of its branches, unknowns included - and that
a family with an override or a case identified earlier is left to the evaluator."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime
from pathlib import Path

import pytest

from dsl.api import load_framework
from engine.columns.assemble import ColumnResult, Member, column_result
from engine.decisions.evaluate import _evaluate_loaded, _evaluated, bulk_results, seeded_evaluations
from engine.decisions.overrides import OverrideRecord
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import CaseDates, Fact, FamilyInput
from engine.rules.results import BareValues, FamilyResult

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("evaluator_bench", ROOT / "benchmarks" / "evaluator_bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

AS_OF = date(2023, 9, 1)
FRAMEWORKS = {"phase3": ROOT / "frameworks" / "phase3", "phase2": ROOT / "frameworks" / "phase2",
              "local_plan": ROOT / "examples" / "local_plan"}


@pytest.fixture(scope="module")
def phase3():
    return compile_framework(load_framework(FRAMEWORKS["phase3"]))


def _kinds(compiled, families, as_of=AS_OF, overrides=None):
    return {f.family_id: r for f, r in bulk_results(compiled, families, as_of, overrides)}


def _records(compiled, families, overrides=None):
    """Each family's stored record: in bulk (whole results from the columns where they decide) and one by one."""
    overrides = overrides or {}
    together = {e.family_id: e.result_zlib for e in _evaluate_loaded(compiled, families, AS_OF, overrides, False)}
    alone = {f.family_id: _evaluated(compiled, f, AS_OF, overrides.get(f.family_id, ()), False).result_zlib
             for f in families}
    return together, alone


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_most_benchmark_families_take_their_whole_result_from_the_columns(name):
    compiled = compile_framework(load_framework(FRAMEWORKS[name]))
    families = bench.synthetic_families(80, seed=5)
    results = _kinds(compiled, families)
    earlier = {f.family_id for f in families if f.case.identified is not None and f.case.identified < AS_OF}
    assert 10 < len(earlier) < 40
    whole = {fid for fid, r in results.items() if isinstance(r, ColumnResult)}
    # outcomes of a case identified earlier are judged for the needs of that date: the evaluator's
    assert whole == set(results) - earlier
    # families with unknowns too: the evaluator words those criteria, asked for them alone
    assert any(results[fid].unknowns for fid in whole)


def test_the_whole_result_path_takes_each_of_its_branches(phase3):
    """So the byte comparisons compare each way a need or outcome is assembled: members written as bare
    values and members citing facts, needs no member holds the role of, combined results of members citing
    facts, unknown members with the evaluator's reasons, outcomes of needs identified or possibly
    identified, judged for members, and family-level parts of a member need."""
    families = bench.synthetic_families(80, seed=5)
    # adults only: the children's needs have no holder
    adults = []
    for f in families[:5]:
        kept = tuple(m for m in f.members if m.date_of_birth.year < 2000)
        ids = {m.person_id for m in kept}
        adults.append(FamilyInput(f"{f.family_id}-adults", kept, tuple(x for x in f.facts if x.person_id in ids),
                                  coverage=f.coverage))
    # one child missing education, a sibling in school: the need's facts are the met child's alone
    first = families[0]
    children = [m.person_id for m in first.members if m.date_of_birth.year >= 2005][:2]
    school = tuple(Fact(f"S{i}", "education_status", day, {"status": status}, person_id=pid, source="school")
                   for i, (pid, day, status) in enumerate([(children[0], date(2023, 6, 1), "missing_education"),
                                                           (children[1], date(2019, 9, 1), "full_time_education")]))
    adults.append(FamilyInput(f"{first.family_id}-siblings", first.members, first.facts + school,
                              coverage=first.coverage))
    taken = _kinds(phase3, families + adults)
    results = [r for r in taken.values() if isinstance(r, ColumnResult)]
    assert any(r.family_id.endswith("-adults") for r in results)
    siblings = taken[f"{first.family_id}-siblings"]
    assert isinstance(siblings, ColumnResult)
    need = siblings.needs["EDU_MISSING_EDUCATION"]
    assert need.value == "met" and {e.person_id for e in need.result.evidence} == {children[0]}
    assert need.members[children[1]].value == "not_met" and need.members[children[1]].evidence
    needs = [n for r in results for n in r.needs.values()]
    members = [m for n in needs for m in n.members.values()]
    assert any(isinstance(m, str) for m in members) and any(not isinstance(m, str) and m.evidence for m in members)
    assert any(n.result.detail and n.result.detail.startswith("no member is") for n in needs)
    assert any(n.subject == "person" and n.result.evidence for n in needs)
    outcomes = [o for r in results for o in r.outcomes.values() if o.applicable == "met"]
    assert any(o.members for o in outcomes)
    assert any(o.need == "EY_EXPECTANT_OR_NEW_PARENT" for o in outcomes) or any(
        r.needs["EY_EXPECTANT_OR_NEW_PARENT"].value == "not_met" for r in results)
    unknown = [m for m in members if not isinstance(m, str) and m.value == "unknown"]
    assert unknown and all(m.unknowns for m in unknown)
    assert any(n.value == "unknown" and n.result.unknowns for n in needs)
    assert any(o.applicable == "unknown" for r in results for o in r.outcomes.values())
    together, alone = _records(phase3, families[:20] + adults)
    assert together == alone


def test_records_of_whole_results_are_the_evaluators_bytes(phase3):
    """The direct comparison, family by family, with the path each took."""
    families = bench.synthetic_families(40, seed=11)
    taken = _kinds(phase3, families)
    together, alone = _records(phase3, families)
    whole = [fid for fid, r in taken.items() if isinstance(r, ColumnResult)]
    assert whole and all(together[fid] == alone[fid] for fid in whole)
    assert together == alone


def test_an_override_or_an_earlier_case_leaves_the_family_to_the_evaluator(phase3):
    families = bench.synthetic_families(6, seed=5)
    first = families[0]
    override = OverrideRecord(1, first.family_id, None, "eligible", "met", "keyworker evidence", "a.user",
                              datetime(2023, 8, 1, 12, 0))
    earlier = FamilyInput(families[1].family_id, families[1].members, families[1].facts,
                          CaseDates(identified=date(2022, 10, 3)), families[1].coverage)
    batch = [first, earlier, *families[2:]]
    results = _kinds(phase3, batch, overrides={first.family_id: [override]})
    assert not isinstance(results[first.family_id], ColumnResult)
    assert results[first.family_id].eligible.value == "met" and results[first.family_id].overrides
    assert not isinstance(results[earlier.family_id], ColumnResult)
    assert results[earlier.family_id].identified_as_of == date(2022, 10, 3)
    assert any(isinstance(r, ColumnResult) for r in results.values())
    together, alone = _records(phase3, batch, {first.family_id: [override]})
    assert together == alone


def test_only_a_seeded_evaluation_has_a_whole_result(phase3):
    family = next(f for f in bench.synthetic_families(10, seed=5) if f.case.identified is None)
    assert column_result(phase3.evaluation(family, AS_OF, (), False)) is None
    seeded = seeded_evaluations(phase3, [family], AS_OF)[0]
    whole = column_result(seeded)
    assert isinstance(whole, ColumnResult) and whole.family_id == family.family_id


def test_a_whole_result_looks_for_unknowns_only_where_one_may_be(phase3):
    """A result whose every criterion the columns decided cannot be unknown, even when its evaluator was
    asked for what a member's result cites: its unknowns are not looked for. Either way they are what a
    walk over every criterion finds, and what the evaluator's own result lists."""
    families = [f for f in bench.synthetic_families(60, seed=5) if f.case.identified is None]
    evaluations = seeded_evaluations(phase3, families, AS_OF)
    results = [(ev, column_result(ev)) for ev in evaluations]
    assert all(isinstance(r, ColumnResult) for _, r in results)
    for ev, r in results:
        walked = FamilyResult.unknowns.fget(r)
        assert r.unknowns == walked
        assert walked == phase3.evaluation(ev.family, AS_OF, (), False).family_result().unknowns
        assert r.unsure or not walked
    assert any(ev.memo and not r.unsure for ev, r in results)  # asked, yet sure
    assert any(r.unsure and r.unknowns for _, r in results)


def test_members_of_a_need_the_columns_decide_are_bare_values_or_their_citations(phase3):
    """Where the columns decide every holder of a need, with one list of parameter uses, each member is its
    bare value unless it cites records; a need no member of which cites is given as ``BareValues``, which
    the record writes as it is."""
    families = [f for f in bench.synthetic_families(60, seed=5) if f.case.identified is None]
    needs = [n for ev in seeded_evaluations(phase3, families, AS_OF) for n in column_result(ev).needs.values()
             if n.subject == "person" and n.members]
    bare = [n for n in needs if isinstance(n.members, BareValues)]
    assert bare and all(isinstance(v, str) for n in bare for v in n.members.values())
    mixed = [n for n in needs if not isinstance(n.members, BareValues)
             and all(isinstance(m, (str, Member)) for m in n.members.values())]
    assert any(any(isinstance(m, str) for m in n.members.values()) and any(
        isinstance(m, Member) and m.evidence for m in n.members.values()) for n in mixed)
    assert any(n.value == "met" and n.result.evidence for n in mixed)
