"""Unknown results the columns word themselves (engine.columns.reasons) are the evaluator's, reasons included.

A member's unknown whose only doubt is a term of attendance missing from the window, or a missing date
of birth, is worded by the columns; any other doubt (a record a test could not decide, a missing field
read on the way, a missing parameter) leaves the row to the evaluator. Each explained row's result is
compared with what an unseeded evaluation of the same family computes for the same rule and member:
value, cited facts, parameter uses in order, and the reasons."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest

from dsl.api import load_framework
from engine.columns.person import PersonColumns
from engine.decisions.evaluate import _evaluate_loaded, _evaluated, seeded_evaluations
from engine.rules import evaluator as evaluator_module
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import Coverage, Fact, FamilyInput, Member

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("evaluator_bench", ROOT / "benchmarks" / "evaluator_bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.fixture(scope="module")
def phase3():
    return compile_framework(load_framework(ROOT / "frameworks" / "phase3"))


def _attendance(fid, pid, start, attended, possible=100, **fields):
    values = {"attended_sessions": attended, "possible_sessions": possible, "term_end": start, **fields}
    if attended is None:
        del values["attended_sessions"]
    return Fact(fid, "attendance", start, values, person_id=pid, source="census")


def _families(coverage_end: date) -> list[FamilyInput]:
    """Children whose attendance lacks a term (or not), one without a date of birth, and children whose
    unknowns have other causes besides."""
    covered = {t: Coverage(t, date(2019, 9, 1), coverage_end) for t in bench.PHASE3_TYPES}
    autumn, spring, summer = date(2022, 9, 5), date(2023, 1, 4), date(2023, 4, 17)
    return [
        # summer term missing: unknown, worded by the columns
        FamilyInput("G1", (Member("G1-a", date(1980, 1, 1)), Member("G1-c", date(2011, 5, 5))), (
            _attendance("T1", "G1-c", autumn, 80), _attendance("T2", "G1-c", spring, 85),
        ), coverage=covered),
        # every term there: known; a sibling with no attendance at all: every term missing
        FamilyInput("G2", (Member("G2-c", date(2012, 2, 2)), Member("G2-d", date(2013, 3, 3))), (
            _attendance("T3", "G2-c", autumn, 95), _attendance("T4", "G2-c", spring, 40),
            _attendance("T5", "G2-c", summer, 92),
        ), coverage=covered),
        # no date of birth: roles unknown, and so are the needs they hold
        FamilyInput("G3", (Member("G3-x"), Member("G3-c", date(2010, 7, 7))), (
            _attendance("T6", "G3-x", autumn, 50), _attendance("T7", "G3-c", spring, 70),
        ), coverage=covered),
        # a term missing and a record missing a field: the outcome's test meets the gap in the record, so
        # the evaluator words that row (the rate reads no value when a term is missing: the columns do)
        FamilyInput("G4", (Member("G4-c", date(2009, 9, 9)),), (
            _attendance("T8", "G4-c", autumn, None), _attendance("T9", "G4-c", spring, 0, possible=0),
        ), coverage=covered),
    ]


def _explained(compiled, families, as_of):
    """(family, rule, member, the columns' result, the evaluator's own) for every row the columns word."""
    found = []
    for ev in seeded_evaluations(compiled, families, as_of):
        persons: PersonColumns = ev.seeds[0]  # (families of different coverage are seeded in groups)
        alone = compiled.evaluation(ev.family, as_of, (), False)
        for name, rule in compiled.rules.items():
            columns = persons.rule(name) if name in persons.defs else None
            if columns is None or columns.explained is None:
                continue
            for member in ev.members:
                row = ev.seeds[1][member.person_id]
                if columns.explained[row]:
                    mine = PersonColumns.seed(ev, rule, columns, row, member.person_id)
                    found.append((ev.family.family_id, name, member.person_id, mine,
                                  alone.rule_result(name, member.person_id)))
    return found


@pytest.mark.parametrize("as_of,coverage_end", [
    (date(2023, 9, 1), date(2023, 8, 31)),   # every term ended and delivered: "missing"
    (date(2023, 9, 1), date(2023, 5, 31)),   # the summer term not delivered yet: "not in the feeds yet"
    (date(2023, 11, 20), date(2023, 11, 1)),  # a later date: last year's terms
])
def test_the_unknowns_the_columns_word_are_the_evaluators(phase3, as_of, coverage_end):
    families = _families(coverage_end) + bench.synthetic_families(30, seed=13)
    rows = _explained(phase3, families, as_of)
    assert len(rows) > 10
    for family, name, pid, mine, theirs in rows:
        where = f"{family} {name} {pid}"
        assert mine.value == theirs.value == "unknown", where
        assert set(mine.unknowns) == set(theirs.unknowns) and len(mine.unknowns) == len(theirs.unknowns), where
        assert [e.fact_id for e in mine.evidence] == [e.fact_id for e in theirs.evidence], where
        assert [(p.name, p.effective_from) for p in mine.parameters] == \
            [(p.name, p.effective_from) for p in theirs.parameters], where
    reasons = {reason for *_, mine, _ in rows for reason in mine.unknowns}
    assert any(r.startswith("date of birth missing for person G3-x") for r in reasons), reasons
    assert any(r.startswith("attendance for summer term 2023") for r in reasons) or as_of.month == 11, reasons
    # the records are the one-by-one evaluator's, byte for byte
    alone = [_evaluated(phase3, f, as_of, (), False).result_zlib for f in sorted(families, key=lambda f: f.family_id)]
    assert [e.result_zlib for e in _evaluate_loaded(phase3, families, as_of, {}, False)] == alone


def test_both_wordings_of_a_missing_term_phase3_meets_are_covered(phase3):
    """A term missing though its records are delivered, and a term not in the feeds yet (the third wording,
    a term ending after the evaluation date, needs a window reaching past it, which Phase 3 has none of)."""
    seen = set()
    for as_of, end in ((date(2023, 9, 1), date(2023, 8, 31)), (date(2023, 9, 1), date(2023, 5, 31))):
        for *_, mine, _ in _explained(phase3, _families(end), as_of):
            seen |= {("not in the feeds yet" in r, "missing for person" in r and "fact type" in r)
                     for r in mine.unknowns}
    assert (True, False) in seen and (False, True) in seen


def test_other_doubts_are_left_to_the_evaluator(phase3, monkeypatch):
    """A row whose evaluation met an unknown the columns do not word is the evaluator's, and only such rows:
    G4's outcome test meets a record with no attended sessions, and a zero denominator."""
    as_of = date(2023, 9, 1)
    asked: list[tuple[str, str | None]] = []
    evaluate = evaluator_module.Evaluation.evaluate_rule

    def counting(self, rule, person, person_id):
        if person_id is not None:
            asked.append((rule.name, person_id))
        return evaluate(self, rule, person, person_id)

    monkeypatch.setattr(evaluator_module.Evaluation, "evaluate_rule", counting)
    families = _families(as_of)  # (every feed delivered to the date: no event type has a gap)
    records = [e.result_zlib for e in _evaluate_loaded(phase3, families, as_of, {}, False)]
    assert asked and {pid for _, pid in asked} == {"G4-c"}, asked
    assert all(name.startswith("EDU_") and name.endswith((".achieved", ".sustained")) for name, _ in asked), asked
    monkeypatch.setattr(evaluator_module.Evaluation, "evaluate_rule", evaluate)
    assert records == [_evaluated(phase3, f, as_of, (), False).result_zlib for f in families]


_DOUBTS = """
framework reason_tests "Unknowns the columns word, and those they leave to the evaluator"
  extends sf_phase3 from "{phase3}"
  phase "3"
  version "t1"
  source "synthetic test framework" local
end

parameter later_threshold: percent
  "A threshold not in force yet."
  50% from 2030-01-01 source "synthetic" local
end

need LOCAL_RATE_WHERE "Low attendance over counted terms" under EDUCATION
  "A record the where cannot decide: the evaluator words that, not the missing term."
  for each dependent_child
  met when rate of attendance.attended_sessions per attendance.possible_sessions where possible_sessions >= 10 over last attendance_window < persistent_absence_threshold
  source "synthetic" local
end

need LOCAL_TEST_OR "Every term attended or counted" under EDUCATION
  "A test decided on a record after meeting an unknown on it: the evaluator keeps that reason."
  for each dependent_child
  met when every attendance in last attendance_window has attended_sessions >= 50 or possible_sessions >= 0
  source "synthetic" local
end

need LOCAL_LATER "Attendance below a threshold not in force" under EDUCATION
  "A parameter with no value on the date."
  for each dependent_child
  met when rate of attendance.attended_sessions per attendance.possible_sessions over last attendance_window < later_threshold
  source "synthetic" local
end

need LOCAL_DIVIDE "A division by zero, or low attendance" under EDUCATION
  "A division by zero on the way."
  for each dependent_child
  met when age / (age - age) > 1 or rate of attendance.attended_sessions per attendance.possible_sessions over last attendance_window < persistent_absence_threshold
  source "synthetic" local
end

need LOCAL_TWO_RATES "Low attendance last term and over the year" under EDUCATION
  "The last term's rate has no value (a missing field), the year's a missing term."
  for each dependent_child
  met when rate of attendance.attended_sessions per attendance.possible_sessions over last 1 term < persistent_absence_threshold
       and rate of attendance.attended_sessions per attendance.possible_sessions over last attendance_window < persistent_absence_threshold
  source "synthetic" local
end
"""


def test_rules_meeting_other_doubts_on_the_way_are_left_to_the_evaluator(tmp_path, monkeypatch):
    """Each local need meets, beside a missing term, a doubt the columns do not word (a record its where
    cannot decide, a test that met a missing field before deciding, a parameter not in force, a division
    by zero, a rate with no value): the row is the evaluator's, and the records are the same bytes."""
    (tmp_path / "framework.hearth").write_text(_DOUBTS.format(phase3=ROOT / "frameworks" / "phase3"))
    compiled = compile_framework(load_framework(tmp_path))
    as_of = date(2023, 9, 1)
    covered = {t: Coverage(t, date(2019, 9, 1), as_of) for t in bench.PHASE3_TYPES}
    spring, summer = date(2023, 1, 4), date(2023, 4, 17)
    families = [
        # summer present but without attended sessions; autumn missing; spring's possible sessions missing
        FamilyInput("H1", (Member("H1-c", date(2011, 5, 5)),), (
            Fact("U1", "attendance", spring, {"attended_sessions": 70, "term_end": spring}, person_id="H1-c"),
            _attendance("U2", "H1-c", summer, None),
        ), coverage=covered),
        *_families(as_of),
    ]
    local = [name for name in compiled.rules if name.startswith("LOCAL_")]
    persons = seeded_evaluations(compiled, families[:1], as_of)[0].seeds[0]
    for name in local:
        columns = persons.rule(name)
        assert columns is not None, f"{name} is not covered column-wise"
        assert columns.value[0] == 1 and (columns.explained is None or not columns.explained[0]), name
    asked: list[str] = []
    evaluate = evaluator_module.Evaluation.evaluate_rule

    def counting(self, rule, person, person_id):
        asked.append(rule.name)
        return evaluate(self, rule, person, person_id)

    monkeypatch.setattr(evaluator_module.Evaluation, "evaluate_rule", counting)
    records = [e.result_zlib for e in _evaluate_loaded(compiled, families, as_of, {}, False)]
    assert set(local) <= set(asked)
    monkeypatch.setattr(evaluator_module.Evaluation, "evaluate_rule", evaluate)
    ordered = sorted(families, key=lambda f: f.family_id)
    assert records == [_evaluated(compiled, f, as_of, (), False).result_zlib for f in ordered]
    # and a missing term alone is still worded by the columns, in the same framework
    assert any(name.startswith("EDU_") for _, name, *_ in _explained(compiled, families, as_of))
