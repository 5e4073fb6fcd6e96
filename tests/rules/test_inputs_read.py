"""``Evaluation.inputs_read``: whether evaluating a family read its records, a member's details or its case's
dates. A family whose run read none of them is stored as its batch's columns (``engine.columns.stored``),
so every way of reading them must be noted."""

from __future__ import annotations

from datetime import date

import pytest

from dsl.api import load_framework
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import CaseDates, FamilyInput
from engine.rules.outcomes import identified_need
from tests.rules.test_columns import FRAMEWORKS, bench

AS_OF = date(2023, 9, 1)


@pytest.fixture(scope="module")
def compiled():
    return compile_framework(load_framework(FRAMEWORKS["phase3"]))


@pytest.fixture(scope="module")
def family() -> FamilyInput:
    found = bench.synthetic_families(1, seed=3)[0]
    return FamilyInput(found.family_id, found.members, found.facts, CaseDates(identified=date(2023, 1, 9)),
                       found.coverage)


@pytest.mark.parametrize("trace", [False, True])
def test_a_members_role_reads_their_details(compiled, family, trace):
    ev = compiled.evaluation(family, AS_OF, (), trace)
    assert not ev.inputs_read  # (making the evaluation reads nothing)
    ev.rule_result(compiled.role_names[0], ev.members[0].person_id)
    assert ev.inputs_read


def test_records_a_need_reads_are_noted(compiled, family):
    ev = compiled.evaluation(family, AS_OF, (), True)
    ev.facts_for("attendance", family_scope=True)
    assert ev.inputs_read


def test_the_case_dates_are_noted_but_not_the_evaluation_date(compiled, family):
    ev = compiled.evaluation(family, AS_OF, (), False)
    assert ev.anchor_date("as_of") == AS_OF and not ev.inputs_read
    assert ev.anchor_date("identified") == date(2023, 1, 9) and ev.inputs_read
    ev = compiled.evaluation(family, AS_OF, (), False)
    identified_need(ev, compiled.needs[0].name)  # (reads the identification date first)
    assert ev.inputs_read


def test_what_the_columns_hold_is_not_an_input(compiled, family):
    """Parameters and the members' ids are what a stored batch holds: reading them is not noted."""
    ev = compiled.evaluation(family, AS_OF, (), False)
    ev.param(next(iter(ev.params)))
    ev.family_attr("size")
    assert not ev.inputs_read
