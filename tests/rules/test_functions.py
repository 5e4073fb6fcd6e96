"""Built-in functions and bounded comparisons, through the evaluator."""

from __future__ import annotations

from datetime import date

import pytest

from engine.rules import ir
from engine.rules.evaluator import compile_framework
from engine.rules.expressions import compare_ranges
from engine.rules.functions import FUNCTIONS
from engine.rules.inputs import CaseDates, Member
from engine.rules.values import Range
from tests.rules.frameworks import AS_OF, MUM, cmp, family, framework, lit


def _person_rule(condition: ir.Expr, member: Member = MUM, case: CaseDates | None = None) -> str:
    need = ir.Need(name="X", headline="H", condition=condition)
    result = compile_framework(framework(needs=(need,), outcomes=())).evaluate(family([member], [], case=case), AS_OF)
    return result.needs["X"].value


def call(fn: str, *args: ir.Expr) -> ir.Call:
    return ir.Call(fn=fn, args=args)


@pytest.mark.parametrize("condition, expected", [
    (cmp("=", call("days_between", lit(date(2023, 1, 1)), lit(date(2023, 3, 1))), lit(59)), "met"),
    (cmp("=", call("months_between", lit(date(2023, 1, 31)), lit(date(2023, 2, 28))), lit(1)), "met"),  # clamped
    (cmp("=", call("months_between", lit(date(2023, 1, 31)), lit(date(2023, 2, 27))), lit(0)), "met"),
    (cmp("=", call("years_between", lit(date(2010, 6, 15)), lit(date(2023, 6, 14))), lit(12)), "met"),
    (cmp("=", call("age_on", lit(date(2003, 2, 2))), lit(18)), "met"),
    (cmp("=", call("max", lit(3), lit(9), lit(4)), lit(9)), "met"),
    (cmp("=", call("abs", lit(-2)), lit(2)), "met"),
    (cmp(">", call("percent", lit(1), lit(0)), lit(1)), "unknown"),
    (cmp("=", call("percent", lit(45), lit(50)), lit(90)), "met"),
    (cmp(">", call("min", lit(None), lit(3)), lit(1)), "unknown"),
])
def test_built_in_functions(condition, expected):
    """Each built-in computes its documented value; an impossible or unknown input is unknown."""
    assert _person_rule(condition) == expected


def test_age_on_is_unknown_without_a_date_of_birth():
    """age_on needs the person's date of birth."""
    assert _person_rule(cmp(">=", call("age_on", lit(date(2023, 1, 1))), lit(18)), Member("x")) == "unknown"


def test_date_arithmetic_with_durations_and_case_dates():
    """'closure date + 6 months' is calendar arithmetic; an unset case date is unknown."""
    six_months_after = ir.Arith(op="+", left=ir.AsOf(anchor="closed"), right=lit(ir.Duration(amount=6, unit="months")))
    condition = cmp("<=", six_months_after, ir.AsOf())
    assert _person_rule(condition, case=CaseDates(closed=date(2023, 3, 1))) == "met"
    assert _person_rule(condition, case=CaseDates(closed=date(2023, 3, 2))) == "not_met"
    assert _person_rule(condition) == "unknown"


def test_every_registered_function_documents_itself():
    """The checker reads signatures and descriptions from the registry."""
    for name, function in FUNCTIONS.items():
        assert function.name == name and function.description and function.returns


@pytest.mark.parametrize("op, left, right, expected", [
    (">=", Range(3, 5), 3, "met"), (">=", Range(1, 2), 3, "not_met"), (">=", Range(2, 4), 3, "unknown"),
    (">=", Range(2, None), 3, "unknown"), (">=", Range(3, None), 3, "met"), ("<", Range(0, 2), 3, "met"),
    ("<", Range(3, None), 3, "not_met"), ("=", Range(1, 2), 5, "not_met"), ("!=", Range(1, 2), 5, "met"),
    ("=", Range(4, 6), 5, "unknown"), (">", 4, Range(1, 3), "met"), ("<=", Range(1, 3), Range(3, 9), "met"),
])
def test_bounded_comparisons(op, left, right, expected):
    """A comparison on a range is decided when every value in the range agrees."""
    assert compare_ranges(op, left, right) == expected
