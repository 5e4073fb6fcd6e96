"""Person-level results shared between members of one shape (engine.rules.sharing) must be exactly the
results each member would get evaluated in full: what a rule can read decides whether it is shared, and
every input it reads is part of the key."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime
from pathlib import Path

import pytest

from dsl.api import load_framework
from engine.rules import ir
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import CaseDates, Member
from engine.rules.results import Override
from engine.rules.sharing import footprints
from tests.rules.frameworks import AGE, AS_OF, CHILD, MUM, NEEDS, FactMaker, cmp, family, framework, last, lit

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("evaluator_bench", ROOT / "benchmarks" / "evaluator_bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _person_rule(name: str, condition: ir.Expr) -> ir.DerivedRule:
    return ir.DerivedRule(name=name, subject="person", condition=condition)


FAMILY_RULE = ir.DerivedRule(name="large_family", subject="family",
                             condition=cmp(">=", ir.FamilyAttr(name="size"), lit(5)))
EXTRA_RULES = (
    FAMILY_RULE,
    _person_rule("in_large_family", ir.RuleRef(name="large_family")),
    _person_rule("has_many_needs", cmp(">=", ir.NeedCount(), lit(2))),
    _person_rule("family_offended", ir.Aggregate(fn="any", fact="offence", scope="family", window=last(1, "years"))),
    _person_rule("any_adult_here", ir.Members(quant="any", role="adult")),
    _person_rule("born_in_spring", cmp("<", ir.Call(fn="age_on", args=(lit(date(2023, 4, 1)),)), AGE)),
    _person_rule("female_adult", ir.And(args=(ir.HasRole(role="adult"),
                                              cmp("=", ir.PersonAttr(name="sex"), lit("F", "code"))))),
    _person_rule("offended_since_attached", ir.Aggregate(
        fn="any", fact="offence", window=last(2, "years", anchor="attached", direction="after"))),
    _person_rule("custom_attribute", cmp("=", ir.PersonAttr(name="ethnicity"), lit("x", "code"))),
    _person_rule("attached_this_year", cmp(">=", ir.AsOf(anchor="attached"), lit(date(2023, 1, 1)))),
    # met for under-tens without reading a parameter, for older members up to the threshold reading one
    _person_rule("young", ir.Or(args=(cmp("<", AGE, lit(10)), cmp("<", AGE, ir.ParamRef(name="arrears_threshold"))))),
    _person_rule("refers_to_young", ir.RuleRef(name="young")),
)
#: a need's per-member results are recorded in full (a person rule's only by value): its parameters come
#: from the rule it refers to, whose parameters differ between members with the same value
YOUNG_NEED = ir.Need(name="YOUNG", headline="CRIME", condition=ir.RuleRef(name="refers_to_young"))
#: a states register read over a window: a state that ended before the window starts is not read
RECENT_EDUCATION = ir.Need(name="RECENT_EDUCATION", headline="EDUCATION", condition=ir.Aggregate(
    fn="any", fact="education_status", window=last(6, "months")))


@pytest.fixture(scope="module")
def extended() -> ir.Framework:
    return framework(rules=EXTRA_RULES, needs=NEEDS + (YOUNG_NEED, RECENT_EDUCATION))


def test_rules_that_read_beyond_the_member_are_never_shared(extended):
    shared = footprints(extended)
    for name in ("in_large_family", "has_many_needs", "family_offended", "any_adult_here", "custom_attribute"):
        assert name not in shared, name
    assert "large_family" not in shared  # family-level rules are evaluated once per family anyway


def test_footprints_list_fact_types_referenced_rules_and_member_attributes(extended):
    shared = footprints(extended)
    child = shared["dependent_child"]
    assert child.fact_types == {"education_status"} and child.age and not child.dob and child.refs == ()
    absence = shared["EDU_PERSISTENT_ABSENCE"]
    assert absence.fact_types == {"attendance"} and absence.refs == ("dependent_child",) and not absence.age
    assert shared["born_in_spring"].dob and shared["born_in_spring"].age
    female = shared["female_adult"]
    assert female.sex and female.refs == ("adult",) and not female.fact_types
    assert shared["offended_since_attached"].case and not shared["CRIME_OFFENDING"].case
    assert shared["refers_to_young"].refs == ("young",) and not shared["refers_to_young"].age
    assert shared["YOUNG"].refs == ("refers_to_young",)


def _members(index: int) -> list[Member]:
    # ages spread around every threshold (16, 18), birthdays on and around the evaluation date
    born = [date(2016, 1, 1), date(2007, 9, 1), date(2007, 9, 2), date(2005, 9, 1), date(2005, 9, 2),
            date(2012, 5, 1 + index % 20), date(1980 + index % 7, 3, 3)]
    return [Member(f"P{index}-{k}", date_of_birth=day, sex="FM"[k % 2]) for k, day in enumerate(born)] + [
        Member(f"P{index}-nodob")]


def _families() -> list:
    make = FactMaker()
    families = []
    for index in range(12):
        members = _members(index)
        facts = []
        if index % 3 == 0:  # some members with facts of the types the rules read, most without
            facts.append(make("offence", members[6].person_id, date(2023, 3, 1), offence_date=date(2023, 3, 1),
                              outcome="proven"))
        if index % 4 == 1:
            facts.append(make("education_status", members[3].person_id, date(2020, 9, 1), status="training",
                              start_date=date(2020, 9, 1)))
        # facts just outside and just inside what the rules read (12 months of offences as of 2023-09-01
        # start 2022-09-02; six months of states start 2023-03-02), and facts dated after the evaluation
        for k, day in enumerate((date(2022, 9, 1), date(2022, 9, 2), date(2023, 9, 2), date(2021, 1, 1))):
            if index % 4 == k:
                facts.append(make("offence", members[(index + k) % 7].person_id, day, offence_date=day,
                                  outcome="proven"))
        for k, (start, end) in enumerate(((date(2022, 1, 1), date(2023, 3, 1)), (date(2022, 1, 1), date(2023, 3, 2)),
                                          (date(2023, 9, 5), None), (date(2020, 1, 1), None))):
            if index % 4 == k:
                facts.append(make("education_status", members[(index + k + 1) % 7].person_id, start, end,
                                  status="full_time_education", start_date=start))
        if index % 3 == 2:  # a state long over: still read by aggregates without a window
            facts.append(make("education_status", members[index % 7].person_id, date(1998, 9, 1), date(1999, 7, 1),
                              status="training", start_date=date(1998, 9, 1)))
        attached = (None, date(2022, 2, 1), date(2023, 2, 1))[index % 3]
        case = CaseDates(date(2022, 1, 1), attached, None)
        families.append(family(members, facts, case=case, family_id=f"F{index}"))
    return families


@pytest.mark.parametrize("as_of", [AS_OF, date(2023, 9, 2), date(2022, 6, 30)])
def test_shared_results_equal_full_evaluation_on_small_families(extended, as_of):
    families = _families()
    full = compile_framework(extended, share=False)
    shared = compile_framework(extended)
    expected = [full.evaluate(f, as_of, trace=False).to_json() for f in families]
    assert [shared.evaluate(f, as_of, trace=False).to_json() for f in families] == expected
    assert shared.shared.entries  # members were shared
    # whatever order families come in (and so whichever member computes a shape first)
    again = compile_framework(extended)
    assert [again.evaluate(f, as_of, trace=False).to_json() for f in reversed(families)] == expected[::-1]


def test_facts_outside_every_window_a_rule_reads_are_read_as_no_facts(extended):
    compiled = compile_framework(extended)
    make = FactMaker()
    old = make("offence", "mum", date(2022, 9, 1), offence_date=date(2022, 9, 1), outcome="proven")
    first_day = make("offence", "mum", date(2022, 9, 2), offence_date=date(2022, 9, 2), outcome="proven")
    compiled.evaluate(family([MUM, CHILD], [], family_id="F0"), AS_OF, trace=False)
    entries = len(compiled.shared.entries)
    outside = compiled.evaluate(family([MUM, CHILD], [old], family_id="F1"), AS_OF, trace=False)
    assert len(compiled.shared.entries) == entries  # served from the shared results, nothing new
    assert outside.needs["CRIME_OFFENDING"].members["mum"].value == "not_met"
    inside = compiled.evaluate(family([MUM, CHILD], [first_day], family_id="F2"), AS_OF, trace=False)
    mum = inside.needs["CRIME_OFFENDING"].members["mum"]
    assert mum.value == "met" and [e.fact_id for e in mum.evidence] == [first_day.fact_id]


def test_a_member_with_facts_of_the_rule_is_not_given_a_shared_result(extended):
    compiled = compile_framework(extended)
    make = FactMaker()
    quiet = compiled.evaluate(family([MUM, CHILD], [], family_id="F1"), AS_OF, trace=False)
    offence = make("offence", "mum", date(2023, 5, 1), offence_date=date(2023, 5, 1), outcome="proven")
    busy = compiled.evaluate(family([MUM, CHILD], [offence], family_id="F2"), AS_OF, trace=False)
    assert quiet.needs["CRIME_OFFENDING"].members["mum"].value == "not_met"
    mum = busy.needs["CRIME_OFFENDING"].members["mum"]
    assert mum.value == "met" and [e.fact_id for e in mum.evidence] == [offence.fact_id]


def test_overrides_apply_only_to_their_family_and_never_reach_the_shared_results(extended):
    compiled = compile_framework(extended)
    override = Override("CRIME_OFFENDING", "F2", "mum", "met", "keyworker knows of a caution", "kw1",
                        datetime(2023, 8, 1, 9, 0))
    first = compiled.evaluate(family([MUM, CHILD], [], family_id="F1"), AS_OF, trace=False)
    overridden = compiled.evaluate(family([MUM, CHILD], [], family_id="F2"), AS_OF, [override], trace=False)
    after = compiled.evaluate(family([MUM, CHILD], [], family_id="F3"), AS_OF, trace=False)
    assert overridden.needs["CRIME_OFFENDING"].members["mum"].value == "met"
    for result in (first, after):
        tri = result.needs["CRIME_OFFENDING"].members["mum"]
        assert tri.value == "not_met" and tri.override is None and tri.overridden_from is None


def test_what_if_parameters_are_not_shared_with_ordinary_runs(extended):
    compiled = compile_framework(extended)
    make = FactMaker()
    rows = [make("attendance", "child1", end, term_start=start, term_end=end, possible_sessions=100,
                 attended_sessions=88) for start, end in ((date(2022, 9, 1), date(2022, 12, 20)),
                                                          (date(2023, 1, 4), date(2023, 3, 31)),
                                                          (date(2023, 4, 17), date(2023, 7, 21)))]
    plain = family([MUM, CHILD], rows)
    assert compiled.evaluate(plain, AS_OF, trace=False).needs["EDU_PERSISTENT_ABSENCE"].value == "met"
    what_if = compiled.evaluate(plain, AS_OF, trace=False, parameters={"attendance_threshold": 80})
    assert what_if.needs["EDU_PERSISTENT_ABSENCE"].value == "not_met"
    assert compiled.evaluate(plain, AS_OF, trace=False).needs["EDU_PERSISTENT_ABSENCE"].value == "met"


def test_phase3_benchmark_families_are_identical_with_and_without_sharing():
    phase3 = load_framework(ROOT / "frameworks" / "phase3")
    full, shared = compile_framework(phase3, share=False), compile_framework(phase3)
    families = bench.synthetic_families(60, seed=21)
    for as_of in (date(2023, 9, 1), date(2022, 11, 30)):
        expected = [full.evaluate(f, as_of, trace=False).to_json() for f in families]
        assert [shared.evaluate(f, as_of, trace=False).to_json() for f in families] == expected
