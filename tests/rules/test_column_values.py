"""Family values read from the columns (engine.columns.summary) are the evaluator's, and ``hearth diff``,
which reads its changes from them and evaluates in full only the families the columns leave undecided,
reports exactly what comparing every family in full reports."""

from __future__ import annotations

from datetime import date
from functools import cache

import pytest

import engine.columns.summary as summary
from dsl.api import load_framework
from engine.columns.summary import FamilyValues, family_values, run_figures
from engine.decisions.diff import diff_frameworks
from engine.decisions.evaluate import seeded_evaluations
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import CaseDates, FamilyInput
from tests.rules.test_columns import FRAMEWORKS, _crafted, bench

@cache
def _compiled(name: str):
    return compile_framework(load_framework(FRAMEWORKS[name]))


def _families() -> list[FamilyInput]:
    families = bench.synthetic_families(80, seed=5) + _crafted()
    # cases identified before the evaluation date: their outcomes are judged then, which the columns leave
    families += [FamilyInput(f.family_id + "-case", f.members, f.facts, CaseDates(identified=date(2022, 10, 3)),
                             f.coverage) for f in bench.synthetic_families(10, seed=6, start=200)]
    return sorted(families, key=lambda f: f.family_id)


@pytest.mark.parametrize("as_of", [date(2023, 9, 1), date(2023, 3, 15)])
@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
def test_the_values_the_columns_decide_are_the_evaluators(name, as_of):
    """Every family's values are decided but for those the columns leave to the evaluator: no members, or
    a case identified before the date (its outcomes are judged for the needs identified then)."""
    compiled = _compiled(name)
    families = _families()
    evaluations = seeded_evaluations(compiled, families, as_of)
    for family, ev, found in zip(families, evaluations, family_values(compiled, evaluations)):
        result = ev.family_result()
        left = not family.members or (family.case.identified is not None and family.case.identified < as_of)
        assert (found is None) == left, family.family_id
        if found is not None:
            assert found == FamilyValues.of_result(result), family.family_id
    # what a profile run counts, read without building the rest: the same figures, the same families left
    figures = [None if found is None else (found.eligible, tuple(sorted(found.headlines.items())))
               for found in family_values(compiled, evaluations)]
    assert run_figures(compiled, evaluations) == figures
    assert any(found is None for found in figures) and any(found is not None for found in figures)


def _every_family_in_full(compiled, evaluations):
    return [None] * len(evaluations)


@pytest.mark.parametrize("old, new", [("phase2", "phase3"), ("phase3", "local_plan"), ("local_plan", "phase2")])
def test_diff_reports_the_same_as_comparing_every_family_in_full(old, new, monkeypatch):
    families = _families()
    quick = diff_frameworks(_compiled(old), _compiled(new), families, date(2023, 9, 1))
    monkeypatch.setattr(summary, "family_values", _every_family_in_full)
    full = diff_frameworks(_compiled(old), _compiled(new), families, date(2023, 9, 1))
    assert quick.families == full.families == len(families)
    assert quick.to_dict() == full.to_dict()
    assert full.changes and len(full.changes) < len(families)  # (some families change, some do not)
