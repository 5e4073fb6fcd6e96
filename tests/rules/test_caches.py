"""Caches that outlive one family - window bounds per evaluation date, the fact order - must give what a
fresh evaluation gives: on window boundary days, across evaluation dates and what-if parameters, and
whatever order duplicate facts arrive in."""

from __future__ import annotations

from datetime import date

import pytest

from engine.rules import ir
from engine.rules.aggregates import fact_order, facts_in_order
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import Fact
from tests.rules.frameworks import AS_OF, CHILD, MUM, FactMaker, family, framework

# ``last offending_window`` (12 months) as of 2023-09-01 runs from 2022-09-02 to 2023-09-01
BEFORE_START, START, END = date(2022, 9, 1), date(2022, 9, 2), date(2023, 9, 1)


def _offence_on(day: date, family_id: str):
    make = FactMaker()
    offence = make("offence", "mum", day, offence_date=day, outcome="proven")
    return family([MUM, CHILD], [offence], family_id=family_id)


def _offending(result) -> str:
    return result.needs["CRIME_OFFENDING"].members["mum"].value


@pytest.mark.parametrize("day, expected", [(BEFORE_START, "not_met"), (START, "met"), (END, "met")])
def test_window_boundaries_hold_when_the_bounds_come_from_an_earlier_family(day, expected):
    compiled = compile_framework(framework())
    compiled.evaluate(_offence_on(date(2023, 1, 1), "F0"), AS_OF, trace=False)  # caches the window for AS_OF
    result = compiled.evaluate(_offence_on(day, "F1"), AS_OF, trace=False)
    assert _offending(result) == expected
    fresh = compile_framework(framework(), share=False).evaluate(_offence_on(day, "F1"), AS_OF, trace=False)
    assert result.to_json() == fresh.to_json()


def test_a_window_cached_for_one_date_is_not_used_on_the_next():
    compiled = compile_framework(framework())
    assert _offending(compiled.evaluate(_offence_on(BEFORE_START, "F1"), AS_OF, trace=False)) == "not_met"
    # as of the day before, the window runs from 2022-09-01: the same offence is inside it
    assert _offending(compiled.evaluate(_offence_on(BEFORE_START, "F2"), date(2023, 8, 31), trace=False)) == "met"
    assert _offending(compiled.evaluate(_offence_on(BEFORE_START, "F3"), AS_OF, trace=False)) == "not_met"


def test_what_if_window_lengths_neither_use_nor_replace_the_cached_bounds():
    compiled = compile_framework(framework())
    longer = {"offending_window": ir.Duration(amount=24, unit="months")}
    assert _offending(compiled.evaluate(_offence_on(BEFORE_START, "F1"), AS_OF, trace=False)) == "not_met"
    what_if = compiled.evaluate(_offence_on(BEFORE_START, "F2"), AS_OF, trace=False, parameters=longer)
    assert _offending(what_if) == "met"
    assert _offending(compiled.evaluate(_offence_on(BEFORE_START, "F3"), AS_OF, trace=False)) == "not_met"
    # and a what-if first, then the plain run
    other = compile_framework(framework())
    assert _offending(other.evaluate(_offence_on(BEFORE_START, "F4"), AS_OF, trace=False, parameters=longer)) == "met"
    assert _offending(other.evaluate(_offence_on(BEFORE_START, "F5"), AS_OF, trace=False)) == "not_met"


def _copy(fact: Fact, **changes) -> Fact:
    fields = {name: getattr(fact, name) for name in Fact.__slots__}
    fields.update(changes)
    return Fact(**fields)


def test_facts_come_in_one_order_whatever_order_duplicates_arrive_in():
    make = FactMaker()
    first = make("offence", "mum", date(2023, 1, 5), offence_date=date(2023, 1, 5), outcome="proven")
    resent = _copy(first, batch_id="b2", source_record_id="R99")  # the same fact id, delivered again
    other_type = _copy(first, fact_type="exclusion")
    later = make("offence", "mum", date(2023, 2, 1), offence_date=date(2023, 2, 1), outcome="caution")
    earlier = make("exclusion", "child1", date(2022, 12, 1), exclusion_date=date(2022, 12, 1), kind="fixed_term")
    expected = sorted([first, resent, other_type, later, earlier], key=fact_order)
    for arrival in ([first, resent, other_type, later, earlier], [later, other_type, resent, earlier, first],
                    [resent, first, earlier, other_type, later]):
        assert facts_in_order(arrival) == expected
    distinct = [later, earlier, first]
    assert facts_in_order(distinct) == sorted(distinct, key=fact_order)
