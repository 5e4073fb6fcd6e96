"""Column-wise results (engine.columns.person and .family) leave every stored record byte for byte as the
per-family evaluator writes it.

Bulk evaluation (``_evaluate_loaded``) seeds each batch's evaluations with their members' roles, person
rules, needs and outcome parts, and their family-level needs, helper rules, family definition and
eligibility, computed over the whole batch at once; evaluating the same families one by one
(``_evaluated``) computes them in each family. The records - values, cited facts, parameter uses and
their order, unknown reasons - must be identical: on benchmark families under Phase 3, Phase 2 and the
local plan, on the frameworks' own scenario families, and on crafted families that take the rarer paths
(duplicate records, missing dates of birth and fields, coverage that ends early, records in the future)."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest

from dsl.api import load_framework
from dsl.scenarios import load_scenarios, scenario_files
from engine.columns.family import FamilyColumns
from engine.columns.person import PersonColumns
from engine.decisions.evaluate import _evaluate_loaded, _evaluated
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import CaseDates, Coverage, Fact, FamilyInput, Member

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("evaluator_bench", ROOT / "benchmarks" / "evaluator_bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

FRAMEWORKS = {"phase3": ROOT / "frameworks" / "phase3", "phase2": ROOT / "frameworks" / "phase2",
              "local_plan": ROOT / "examples" / "local_plan"}


@pytest.fixture(scope="module", params=sorted(FRAMEWORKS))
def compiled(request):
    return compile_framework(load_framework(FRAMEWORKS[request.param]))


def _one_by_one(compiled, families, as_of):
    return [_evaluated(compiled, f, as_of, (), False).result_zlib for f in sorted(families, key=lambda f: f.family_id)]


def _batched(compiled, families, as_of):
    return [e.result_zlib for e in _evaluate_loaded(compiled, families, as_of, {}, False)]


def _assert_same(compiled, families, as_of):
    alone, together = _one_by_one(compiled, families, as_of), _batched(compiled, families, as_of)
    ordered = sorted(families, key=lambda f: f.family_id)
    differ = [f.family_id for f, a, b in zip(ordered, alone, together) if a != b]
    assert len(alone) == len(together) and not differ, f"records differ for {differ[:5]}"


@pytest.mark.parametrize("as_of", [date(2023, 9, 1), date(2023, 3, 15), date(2024, 2, 1)])
def test_benchmark_families_record_the_same_bytes(compiled, as_of):
    families = bench.synthetic_families(60, seed=3)
    # some families with case dates, so outcomes are judged on their identification date too
    families += [FamilyInput(f.family_id + "-case", f.members, f.facts,
                             CaseDates(identified=date(2022, 10, 3), attached=date(2022, 11, 1)), f.coverage)
                 for f in bench.synthetic_families(15, seed=4, start=100)]
    _assert_same(compiled, families, as_of)


def test_the_frameworks_person_rules_are_covered_column_wise():
    """So the comparisons above compare something: every person-level rule of the national frameworks
    is computed column-wise (none left to the evaluator)."""
    for name in ("phase3", "phase2"):
        compiled = compile_framework(load_framework(FRAMEWORKS[name]))
        evaluations = [compiled.evaluation(f, date(2023, 9, 1), (), False) for f in bench.synthetic_families(5)]
        columns = PersonColumns(compiled, evaluations, date(2023, 9, 1))
        left = [rule for rule in columns.defs if columns.rule(rule) is None]
        assert not left, f"{name}: person rules not covered: {left}"
        assert evaluations[0].seeds is not None


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_the_frameworks_family_rules_are_covered_column_wise(name):
    """Every family-level rule of the frameworks is computed column-wise (none left to the evaluator)."""
    compiled = compile_framework(load_framework(FRAMEWORKS[name]))
    evaluations = [compiled.evaluation(f, date(2023, 9, 1), (), False) for f in bench.synthetic_families(5)]
    families = FamilyColumns(PersonColumns(compiled, evaluations, date(2023, 9, 1)), evaluations)
    assert {"family_definition", "eligibility_condition", "eligible", "claimable"} <= set(families.defs)
    left = [rule for rule in families.defs if families.rule(rule) is None]
    assert not left, f"{name}: family rules not covered: {left}"


@pytest.mark.parametrize("folder", sorted(FRAMEWORKS))
def test_scenario_families_record_the_same_bytes(folder):
    compiled = compile_framework(load_framework(FRAMEWORKS[folder]))
    by_date: dict[date, list[FamilyInput]] = {}
    for path in scenario_files(FRAMEWORKS[folder]):
        for scenario in load_scenarios(path, compiled.framework):
            if not scenario.parameters:  # what-if values turn sharing, and so seeding, off
                by_date.setdefault(scenario.as_of, []).append(scenario.family)
    assert by_date, f"no scenarios found for {folder}"
    for as_of, families in by_date.items():
        _assert_same(compiled, families, as_of)


def _crafted() -> list[FamilyInput]:
    """Families taking the rarer paths of the column-wise code."""
    covered = {t: Coverage(t, date(2019, 9, 1), date(2023, 8, 31)) for t in bench.PHASE3_TYPES}
    short = {t: Coverage(t, date(2022, 1, 1), date(2023, 3, 31)) for t in bench.PHASE3_TYPES}
    status = "education_status"

    def state(fid, pid, day, value, end=None, source="school"):
        return Fact(fid, status, day, {"status": value}, person_id=pid, source=source, end_date=end)

    def attendance(fid, pid, start, attended, possible=100):
        return Fact(fid, "attendance", start, {"attended_sessions": attended, "possible_sessions": possible,
                                               "term_end": start}, person_id=pid, source="census")

    families = [
        # the same record delivered twice (same date and id, different source): the first is the one read
        FamilyInput("C1", (Member("C1-a", date(1980, 1, 1)), Member("C1-c", date(2011, 5, 5))), (
            state("S1", "C1-c", date(2022, 9, 1), "missing_education", source="a"),
            state("S1", "C1-c", date(2022, 9, 1), "alternative_provision", source="b"),
        ), coverage=covered),
        # ... given in the other order: still the same one is read (the full order decides, not arrival)
        FamilyInput("C7", (Member("C7-a", date(1980, 1, 1)), Member("C7-c", date(2011, 5, 5))), (
            state("S1", "C7-c", date(2022, 9, 1), "alternative_provision", source="b"),
            state("S1", "C7-c", date(2022, 9, 1), "missing_education", source="a"),
        ), coverage=covered),
        # two records of one day with different ids, given against the order of their ids: the id decides
        FamilyInput("C8", (Member("C8-a", date(1980, 1, 1)), Member("C8-c", date(2011, 5, 5))), (
            state("S2", "C8-c", date(2022, 9, 1), "alternative_provision"),
            state("S1", "C8-c", date(2022, 9, 1), "missing_education"),
        ), coverage=covered),
        # a state whose end is given only in its end field (no end date on the record): it ended, so the
        # earlier state is the latest one on the day, as the evaluator's state_end reads it
        FamilyInput("C9", (Member("C9-a", date(1980, 1, 1)), Member("C9-c", date(2011, 5, 5))), (
            state("S1", "C9-c", date(2021, 9, 1), "missing_education"),
            Fact("S2", status, date(2022, 9, 1), {"status": "alternative_provision", "end_date": date(2023, 1, 31)},
                 person_id="C9-c", source="school"),
        ), coverage=covered),
        # no date of birth: ages unknown, so roles and most needs are unknown
        FamilyInput("C2", (Member("C2-x"), Member("C2-c", date(2012, 2, 2))), (
            attendance("A1", "C2-x", date(2022, 9, 1), 40),
            attendance("A2", "C2-c", date(2023, 1, 4), 80),
        ), coverage=covered),
        # coverage ending before the evaluation date, and a term with no attendance
        FamilyInput("C3", (Member("C3-a", date(1979, 3, 3)), Member("C3-c", date(2010, 7, 7))), (
            attendance("A3", "C3-c", date(2022, 9, 1), 85),
            attendance("A4", "C3-c", date(2023, 4, 17), 60),
            state("S2", "C3-c", date(2021, 1, 1), "full_time_education", end=date(2022, 12, 31)),
        ), coverage=short),
        # a missing field and a zero denominator in the attendance rate; a record after the evaluation date
        FamilyInput("C4", (Member("C4-c", date(2009, 9, 9)),), (
            Fact("A5", "attendance", date(2022, 9, 1), {"possible_sessions": 100}, person_id="C4-c"),
            attendance("A6", "C4-c", date(2023, 1, 4), 0, possible=0),
            attendance("A7", "C4-c", date(2023, 4, 17), 90),
            state("S3", "C4-c", date(2023, 12, 1), "not_in_education"),
        ), coverage=covered),
        # nobody at all
        FamilyInput("C5", (), (), coverage=covered),
        # family-scope records: a member's incident, the family's own rent account, and an incident of a
        # member who has left (not the family's any more); a member of unknown age may be the only child
        FamilyInput("C6", (Member("C6-a", date(1985, 4, 4)), Member("C6-u"),
                           Member("C6-l", date(1990, 6, 6), left=date(2023, 1, 1))), (
            Fact("D1", "domestic_abuse_incident", date(2023, 2, 2), {"incident_date": date(2023, 2, 2),
                 "involvement": "victim", "risk": "high"}, person_id="C6-a", source="police"),
            Fact("D2", "domestic_abuse_incident", date(2022, 11, 5), {"incident_date": date(2022, 11, 5),
                 "involvement": "perpetrator", "risk": "medium"}, person_id="C6-l", source="police"),
            Fact("R1", "rent_account", date(2023, 3, 31), {"statement_date": date(2023, 3, 31), "arrears": 1250.0,
                 "notice_served": True}, family_id="C6", source="landlord"),
        ), coverage=covered),
    ]
    return families


@pytest.mark.parametrize("as_of", [date(2023, 9, 1), date(2023, 5, 1)])
def test_crafted_families_record_the_same_bytes(as_of):
    compiled = compile_framework(load_framework(FRAMEWORKS["phase3"]))
    results = {f.family_id: compiled.evaluate(f, as_of, trace=False) for f in _crafted()}
    # the paths are taken: the first of two equal records is read; an unknown age makes roles unknown
    assert results["C1"].needs["EDU_MISSING_EDUCATION"].members["C1-c"].value == "met"
    assert results["C1"].needs["EDU_ALTERNATIVE_PROVISION"].members["C1-c"].value != "met"
    assert results["C7"].needs["EDU_MISSING_EDUCATION"].members["C7-c"].value == "met"
    assert results["C8"].needs["EDU_ALTERNATIVE_PROVISION"].members["C8-c"].value == "met"
    if as_of > date(2023, 1, 31):  # the state ended by its end field: not in alternative provision any more
        assert results["C9"].needs["EDU_ALTERNATIVE_PROVISION"].members["C9-c"].value != "met"
    assert results["C2"].roles["C2-x"]["dependent_child"] == "unknown"
    assert results["C4"].needs["EDU_PERSISTENT_ABSENCE"].members["C4-c"].value == "unknown"
    assert results["C6"].needs["DA_INCIDENT"].value == "met" and results["C6"].needs["HOUSING_NOTICE"].value == "met"
    assert results["C6"].family_definition.value == "unknown"  # only the member of unknown age may be a child
    _assert_same(compiled, _crafted() + bench.synthetic_families(10, seed=9), as_of)


def test_a_rule_the_columns_cannot_evaluate_is_left_to_the_evaluator(monkeypatch):
    """Data the column-wise code did not foresee never changes an answer: that rule is computed by the
    per-family evaluator instead (here every need raises inside the columns)."""
    compiled = compile_framework(load_framework(FRAMEWORKS["phase3"]))
    evaluate = PersonColumns._evaluate
    left: list[str] = []

    def failing(self, name):
        if self.defs[name][0] == "need":
            left.append(name)
            raise TypeError("unforeseen data")
        return evaluate(self, name)

    monkeypatch.setattr(PersonColumns, "_evaluate", failing)
    _assert_same(compiled, bench.synthetic_families(20, seed=2), date(2023, 9, 1))
    assert left, "the failing rules were asked for"


_RECORD_TESTS = """
framework column_tests "Record tests for the column-wise code"
  extends sf_phase3 from "{phase3}"
  phase "3"
  version "t1"
  source "synthetic test framework" local
end

need LOCAL_EVERY_SERVED "Every served statement shows arrears" under HOUSING
  "Every statement with a notice served shows arrears at or above the threshold."
  for family
  met when every rent_account of family where notice_served = true in last arrears_window has arrears >= arrears_threshold
  source "synthetic" local
end

need LOCAL_FIRST_PARAMETER "Arrears, or a notice" under HOUSING
  "Every statement shows arrears at or above the threshold, or a notice."
  for family
  met when every rent_account of family in last arrears_window has arrears >= arrears_threshold or notice_served = true
  source "synthetic" local
end

need LOCAL_LATER_PARAMETER "A notice, or arrears" under HOUSING
  "Every statement shows a notice, or arrears at or above the threshold."
  for family
  met when every rent_account of family in last arrears_window has notice_served = true or arrears >= arrears_threshold
  source "synthetic" local
end
"""


def test_every_record_and_parameters_in_record_tests_record_the_same_bytes(tmp_path):
    """``every ... has`` over events reads its test's parameters when it tried the test on a record, even one
    only possibly selected; a parameter after the first argument of and/or in a record test may go unread,
    so such a rule is left to the evaluator."""
    (tmp_path / "framework.hearth").write_text(_RECORD_TESTS.format(phase3=ROOT / "frameworks" / "phase3"))
    compiled = compile_framework(load_framework(tmp_path))
    covered = {t: Coverage(t, date(2019, 9, 1), date(2023, 9, 30)) for t in bench.PHASE3_TYPES}

    def statement(fid, day, arrears, served):
        values = {"statement_date": day, "arrears": arrears}
        if served is not None:
            values["notice_served"] = served
        return Fact(fid, "rent_account", day, values, family_id=fid[:2], source="landlord")

    adult = date(1980, 1, 1)
    families = [
        FamilyInput("R1", (Member("R1-a", adult),), (statement("R1x", date(2023, 7, 1), 5000.0, None),), coverage=covered),
        FamilyInput("R2", (Member("R2-a", adult),), (statement("R2x", date(2023, 7, 1), 10.0, True),), coverage=covered),
        FamilyInput("R3", (Member("R3-a", adult),), (statement("R3x", date(2023, 7, 1), 5000.0, False),
                                                    statement("R3y", date(2023, 8, 1), 0.0, True)), coverage=covered),
        FamilyInput("R4", (Member("R4-a", adult),), (), coverage=covered),
    ]
    evaluations = [compiled.evaluation(f, date(2023, 9, 1), (), False) for f in families]
    columns = FamilyColumns(PersonColumns(compiled, evaluations, date(2023, 9, 1)), evaluations)
    assert columns.rule("LOCAL_EVERY_SERVED") is not None and columns.rule("LOCAL_FIRST_PARAMETER") is not None
    assert columns.rule("LOCAL_LATER_PARAMETER") is None
    results = {f.family_id: compiled.evaluate(f, date(2023, 9, 1), trace=False) for f in families}
    # R1's only statement may or may not have a notice: the test is tried on it, and passes
    assert results["R1"].needs["LOCAL_EVERY_SERVED"].value == "met"
    assert [p.name for p in results["R1"].needs["LOCAL_EVERY_SERVED"].result.parameters] == [
        "arrears_window", "arrears_threshold"]
    assert results["R2"].needs["LOCAL_LATER_PARAMETER"].result.parameters[-1].name != "arrears_threshold"
    _assert_same(compiled, families, date(2023, 9, 1))
