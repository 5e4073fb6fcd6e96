"""What a run needs of a family it stores as its batch's columns - eligibility, headline values, unknown
reasons, and whether deriving its result reads an input - taken without assembling the result
(``engine.columns.figures``), is what the assembled result gives, family by family."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from dsl.api import load_framework
from dsl.scenarios import load_scenarios, scenario_files
from engine.columns.assemble import ColumnResult, ColumnResults, column_result
from engine.columns.figures import family_figures, run_figures_of
from engine.columns.worded import family_reasons
from engine.decisions.evaluate import seeded_evaluations
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import Coverage, Fact, FamilyInput, Member
from tests.rules.test_columns import FRAMEWORKS, ROOT, _crafted, bench


def _compare(compiled, families, as_of) -> Counter:
    """Both ways for every family of a batch: the figures first (they must leave the evaluation as it was
    for the assembly after them), then the whole result."""
    seen: Counter = Counter()
    for ev in seeded_evaluations(compiled, sorted(families, key=lambda f: f.family_id), as_of):
        if ev.seeds is None or ev.seeds[0].families is None:
            continue
        families_columns = ev.seeds[0].families
        if families_columns.results is None:
            families_columns.results = ColumnResults(ev.seeds[0])
        figures = run_figures_of(families_columns.results, ev)
        alone = family_figures(families_columns.results, ev)  # (the family on its own: the same figures)
        assert alone is None or figures is None or alone == figures, ev.family.family_id
        seen["taken alone too"] += alone is not None
        result = column_result(ev)
        if figures is None:
            seen["left to the assembly"] += 1
            continue
        assert isinstance(result, ColumnResult), ev.family.family_id
        assert figures.eligible == result.eligible.value, ev.family.family_id
        assert figures.headlines == tuple((code, h.value) for code, h in sorted(result.headlines.items()))
        assert figures.reasons == tuple(result.unknowns), ev.family.family_id
        assert figures.inputs_read == ev.inputs_read, ev.family.family_id
        seen["same"] += 1
        seen["with unknowns"] += bool(figures.reasons)
        seen["family-level unknowns"] += any(r.startswith("need ") for r in figures.reasons)
        seen["reading an input"] += figures.inputs_read
    return seen


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_figures_are_the_assembled_results(name):
    compiled = compile_framework(load_framework(FRAMEWORKS[name]))
    seen: Counter = Counter()
    for as_of in (date(2023, 9, 1), date(2023, 3, 15), date(2022, 11, 20)):
        seen += _compare(compiled, bench.synthetic_families(120, seed=11) + _crafted(), as_of)
    # (among these, families whose helper rules are unknown while eligibility is decided: a helper's
    # reasons are no criterion's, so none of the family's)
    seen += _compare(compiled, bench.synthetic_families(200, seed=2), date(2023, 9, 1))
    # the comparisons compare something: unknowns the family-level rules word, members' unknowns, and
    # families the figures leave to the assembly (a member's result the evaluator words)
    assert seen["same"] > 350 and seen["with unknowns"] > 20 and seen["family-level unknowns"] > 5, seen
    assert seen["taken alone too"] > 350, seen  # (the per-family way, compared on the same families)
    assert seen["left to the assembly"] > 0, seen


@pytest.mark.parametrize("folder", sorted(FRAMEWORKS))
def test_figures_of_scenario_families(folder):
    compiled = compile_framework(load_framework(FRAMEWORKS[folder]))
    by_date: dict[date, list] = {}
    for path in scenario_files(FRAMEWORKS[folder]):
        for scenario in load_scenarios(path, compiled.framework):
            if not scenario.parameters:
                by_date.setdefault(scenario.as_of, []).append(scenario.family)
    seen: Counter = Counter()
    for as_of, families in by_date.items():
        seen += _compare(compiled, families, as_of)
    assert seen["same"] > 0, seen


@pytest.mark.parametrize("name", ["phase3", "phase2"])
def test_a_family_level_rule_the_evaluator_decides_may_read_records(name):
    """Domestic abuse records known only to the end of 2022: on 2023-09-01 the family's domestic abuse need
    is the evaluator's, which reads the family's records, so the family keeps a record of its own; the
    figures say so as the assembly does."""
    compiled = compile_framework(load_framework(FRAMEWORKS[name]))
    family = bench.synthetic_families(1, seed=11)[0]
    coverage = {**family.coverage, "domestic_abuse_incident": Coverage("domestic_abuse_incident", date(2019, 9, 1),
                                                                       date(2022, 12, 31))}
    seen = _compare(compiled, [replace(family, coverage=coverage)], date(2023, 9, 1))
    assert seen["same"] == 1 and seen["reading an input"] == 1, seen


def test_a_member_rule_the_evaluator_decides_leaves_the_figures_to_the_assembly():
    """An adult's education record without its status: the person-level helper rule reading it is the
    evaluator's for that member (no need or role reaches it for an adult), which reads the member's records.
    The figures leave such a family to the assembly, which finds it read an input."""
    compiled = compile_framework(load_framework(FRAMEWORKS["phase3"]))
    family = bench.synthetic_families(1, seed=11)[0]
    adult = next(m for m in family.members if m.date_of_birth is not None and m.date_of_birth.year < 1995)
    record = Fact("X1", "education_status", date(2021, 9, 1), {"start_date": date(2021, 9, 1)},
                  person_id=adult.person_id, source="school")
    assert _compare(compiled, [family], date(2023, 9, 1))["same"] == 1
    seen = _compare(compiled, [replace(family, facts=tuple(family.facts) + (record,))], date(2023, 9, 1))
    assert seen == Counter({"left to the assembly": 1}), seen


def test_a_batch_that_cannot_be_stored_records_each_family_in_full(monkeypatch):
    """When a batch's columns cannot be stored (``NotStorable``), every family gets a record of its own,
    including those whose figures were taken without assembling them: the same records as a run that
    never stores batches."""
    import engine.columns.stored as stored_module
    from engine.columns.stored import NotStorable
    from engine.decisions.evaluate import _evaluate_loaded

    compiled = compile_framework(load_framework(FRAMEWORKS["phase3"]))
    families = bench.synthetic_families(60, seed=2) + _crafted()

    def refuse(*_args, **_kwargs):
        raise NotStorable("a parameter use that is not the value in force")

    monkeypatch.setattr(stored_module, "pack_batch", refuse)
    ours = _evaluate_loaded(compiled, families, date(2023, 9, 1), {}, False, stored=True)
    theirs = _evaluate_loaded(compiled, families, date(2023, 9, 1), {}, False)
    assert any(e.reasons for e in ours) and all(e.batch is None for e in ours)
    assert [(e.family_id, e.eligible, e.headlines, e.reasons, e.result_zlib) for e in ours] == \
        [(e.family_id, e.eligible, e.headlines, e.reasons, e.result_zlib) for e in theirs]


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_family_level_unknowns_the_columns_word_are_the_evaluators(name):
    """Every unknown row of a family-level rule the columns word (``engine.columns.worded``) has the
    reasons, in order, that the family's own evaluator gives that rule, with nothing seeded."""
    compiled = compile_framework(load_framework(FRAMEWORKS[name]))
    seen: Counter = Counter()
    for as_of in (date(2023, 9, 1), date(2023, 3, 15), date(2022, 11, 20)):
        groups: dict[int, list] = {}
        corpus = bench.synthetic_families(120, seed=11) + _crafted()
        # (and each family with its members listed the other way round: an outcome's members go by id)
        corpus += [replace(f, family_id=f"{f.family_id}-R", members=f.members[::-1]) for f in corpus]
        for ev in seeded_evaluations(compiled, sorted(corpus, key=lambda f: f.family_id), as_of):
            if ev.seeds is not None and ev.seeds[0].families is not None:
                groups.setdefault(id(ev.seeds[0]), []).append(ev)  # (a group's rows are in this order)
        for group in groups.values():
            families = group[0].seeds[0].families
            ColumnResults(group[0].seeds[0])  # (which evaluates every family-level rule)
            for rule_name, found in families.rules.items():
                if found is None or found.worded is None:
                    continue
                for row in np.flatnonzero(found.worded).tolist():
                    family = group[row].family
                    own = compiled.evaluation(family, as_of, (), False).rule_result(rule_name, None)
                    assert own.value == "unknown", (rule_name, family.family_id)
                    assert family_reasons(families, found, row) == own.unknowns, (rule_name, family.family_id)
                    seen[rule_name] += 1
    # eligibility and the claim are worded for some family in every framework
    assert {"eligible", "claimable"} <= set(seen) and sum(seen.values()) > 20, seen


_FURTHER_BACK = """
framework figure_tests "An outcome part reading further back than its need"
  extends sf_phase3 from "{phase3}"
  phase "3"
  version "t1"
  source "synthetic test framework" local
end

fact tutoring about person
  "Tutoring offered and taken in one term (synthetic)."
  term_end: date
  offered: count
  taken: count
  dated by term_end
  recorded per term
end

need LOCAL_TUTORING "Little tutoring taken last term" under EDUCATION
  "Under half the tutoring offered last term was taken."
  for each dependent_child
  met when rate of tutoring.taken per tutoring.offered over last 1 term < persistent_absence_threshold
  source "synthetic" local
end

outcome for LOCAL_TUTORING
  "Tutoring offered in each of the last three terms."
  for each dependent_child
  achieved when every tutoring in each of last 3 terms has offered >= 10
  source "synthetic" local
end
"""


def test_an_outcome_part_reading_further_back_than_its_need(tmp_path):
    """In Hearth's frameworks an outcome part reads its need's records over a window inside the need's, so
    a part's reasons are among its members' need reasons; here the part reads two terms further back. A
    part unknown for one member and failed by another who surely had the need is not unknown for the
    family: its reasons are no figure's (X). A member who may have had the need and fails the part does
    not decide it: the family's part is unknown, with the other member's reasons (Y)."""
    (tmp_path / "framework.hearth").write_text(_FURTHER_BACK.format(phase3=ROOT / "frameworks" / "phase3"))
    compiled = compile_framework(load_framework(tmp_path))
    as_of = date(2023, 9, 1)
    covered = {t: Coverage(t, date(2019, 9, 1), as_of) for t in (*bench.PHASE3_TYPES, "tutoring")}
    autumn, spring, summer = date(2022, 12, 16), date(2023, 3, 31), date(2023, 7, 21)

    def tutoring(fid: str, pid: str, day: date, offered: int, taken: int) -> Fact:
        return Fact(fid, "tutoring", day, {"term_end": day, "offered": offered, "taken": taken}, person_id=pid)

    def family(fid: str, facts: list[Fact]) -> FamilyInput:
        """Two children, each attending 80% of every term: persistently absent, with that outcome not
        achieved, so the claim is surely not met and words no outcome's reasons."""
        members = (Member(f"{fid}1", date(2011, 5, 5)), Member(f"{fid}2", date(2012, 6, 6)))
        attendance = [Fact(f"{m.person_id}-{day}", "attendance", day,
                           {"attended_sessions": 80, "possible_sessions": 100, "term_end": day}, person_id=m.person_id)
                      for m in members for day in (autumn, spring, summer)]
        return FamilyInput(fid, members, tuple(facts + attendance), coverage=covered)

    families = [
        family("X", [tutoring("X1s", "X1", summer, 10, 2), tutoring("X1p", "X1", spring, 20, 20),
                     tutoring("X2s", "X2", summer, 10, 1), tutoring("X2p", "X2", spring, 5, 5),
                     tutoring("X2a", "X2", autumn, 20, 20)]),
        family("Y", [tutoring("Y1p", "Y1", spring, 5, 5), tutoring("Y1a", "Y1", autumn, 20, 20),
                     tutoring("Y2s", "Y2", summer, 10, 1), tutoring("Y2p", "Y2", spring, 20, 20)]),
    ]
    seen = _compare(compiled, families, as_of)
    assert seen["same"] == 2, seen
    figures = {}
    for ev in seeded_evaluations(compiled, families, as_of):
        columns = ev.seeds[0].families
        columns.results = columns.results or ColumnResults(ev.seeds[0])
        figures[ev.family.family_id] = run_figures_of(columns.results, ev)
    tutoring_reasons = {fid: [r for r in f.reasons if "tutoring for" in r] for fid, f in figures.items()}
    assert tutoring_reasons["X"] == [], tutoring_reasons
    assert any("person Y2" in r and "autumn term 2022" in r for r in tutoring_reasons["Y"]), tutoring_reasons
    # (Y1 may have had the need: their own unknown is a reason, whatever the family's need)
    assert any("person Y1" in r and "summer term 2023" in r for r in tutoring_reasons["Y"]), tutoring_reasons
