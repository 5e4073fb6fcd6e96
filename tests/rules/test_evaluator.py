"""The evaluator: three-valued logic, windows, coverage, periodic gaps, states, needs and eligibility."""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import EvaluationError
from engine.rules import ir
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import Coverage, Member
from tests.rules.frameworks import (
    AS_OF, CHILD, MUM, FactMaker, attendance, cmp, covered, family, framework, last, lit, terms_at,
)

COMPILED = compile_framework(framework())
M, N, U = "met", "not_met", "unknown"


def _family_rule(condition: ir.Expr) -> str:
    """Evaluate a condition as a family-level need of a one-rule framework."""
    fw = framework(needs=(ir.Need(name="X", headline="H", subject="family", condition=condition),), outcomes=())
    return compile_framework(fw).evaluate(family([MUM], []), AS_OF).needs["X"].value


TRI_LIT = {M: lit(True), N: lit(False), U: lit(None)}


@pytest.mark.parametrize("a, b, expected_and, expected_or", [
    (M, M, M, M), (M, N, N, M), (M, U, U, M),
    (N, M, N, M), (N, N, N, N), (N, U, N, U),
    (U, M, U, M), (U, N, N, U), (U, U, U, U),
])
def test_kleene_truth_tables(a, b, expected_and, expected_or):
    """and/or follow strong Kleene logic: unknown only when the known side cannot decide."""
    assert _family_rule(ir.And(args=(TRI_LIT[a], TRI_LIT[b]))) == expected_and
    assert _family_rule(ir.Or(args=(TRI_LIT[a], TRI_LIT[b]))) == expected_or


@pytest.mark.parametrize("value, expected", [(M, N), (N, M), (U, U)])
def test_not_keeps_unknown_unknown(value, expected):
    """Negating unknown is unknown, never met."""
    assert _family_rule(ir.Not(arg=TRI_LIT[value])) == expected


def test_comparison_with_unknown_operand_is_unknown():
    """A comparison reading an unknown value is unknown, whatever the operator."""
    for op in ("<", "<=", ">", ">=", "=", "!="):
        assert _family_rule(cmp(op, lit(None), lit(3))) == U
    assert _family_rule(cmp(">=", lit(4), lit(3))) == M


def _offence(make: FactMaker, day: date, outcome: str = "proven", person: str = "mum"):
    return make("offence", person, day, offence_date=day, outcome=outcome)


def test_offence_window_is_the_last_twelve_calendar_months():
    """An offence a day inside the window counts; one a day outside does not."""
    make = FactMaker()
    inside = COMPILED.evaluate(family([MUM], [_offence(make, date(2022, 9, 2))]), AS_OF)
    outside = COMPILED.evaluate(family([MUM], [_offence(make, date(2022, 9, 1))]), AS_OF)
    dropped = COMPILED.evaluate(family([MUM], [_offence(make, date(2023, 5, 1), outcome="nfa")]), AS_OF)
    assert inside.needs["CRIME_OFFENDING"].value == M
    assert outside.needs["CRIME_OFFENDING"].value == N
    assert dropped.needs["CRIME_OFFENDING"].value == N


def test_facts_after_the_evaluation_date_are_invisible():
    """A record dated after as_of does not count, even if it was loaded."""
    make = FactMaker()
    result = COMPILED.evaluate(family([MUM], [_offence(make, date(2023, 9, 2))]), AS_OF)
    assert result.needs["CRIME_OFFENDING"].value == N


def test_no_events_outside_coverage_is_unknown_with_the_gap_named():
    """No offence record is 'none' only where the police feed covers the window."""
    make = FactMaker()
    partial = covered("attendance", "exclusion", "rent_account", "education_status", "pregnancy")
    partial.update(covered("offence", start=date(2023, 1, 1)))
    unknown = COMPILED.evaluate(family([MUM], [], coverage=partial), AS_OF)
    crime = unknown.needs["CRIME_OFFENDING"]
    assert crime.value == U
    assert any("offence records are only known from 2023-01-01" in r for r in crime.result.unknowns)
    found = COMPILED.evaluate(family([MUM], [_offence(make, date(2023, 2, 11))], coverage=partial), AS_OF)
    assert found.needs["CRIME_OFFENDING"].value == M
    uncovered = COMPILED.evaluate(family([MUM], [], coverage={}), AS_OF)
    assert any("no feed covers offence records" in r for r in uncovered.needs["CRIME_OFFENDING"].result.unknowns)


def test_missing_attendance_term_makes_the_rate_unknown_not_zero():
    """A missing term inside 'last 3 terms' is unknown, with the term and person named."""
    make = FactMaker()
    gap = COMPILED.evaluate(family([CHILD], attendance(make, "child1", terms_at([95, None, 95]))), AS_OF)
    need = gap.needs["EDU_PERSISTENT_ABSENCE"]
    assert need.value == U
    assert "attendance for spring term 2023 missing for person child1 (fact type attendance)" in need.result.unknowns
    full = COMPILED.evaluate(family([CHILD], attendance(make, "child1", terms_at([95, 70, 95]))), AS_OF)
    assert full.needs["EDU_PERSISTENT_ABSENCE"].value == M  # 260 of 300 sessions = 86.7%
    assert [e.fact_id for e in full.needs["EDU_PERSISTENT_ABSENCE"].members["child1"].evidence] == ["ATT-3", "ATT-4", "ATT-5"]


def test_attendance_threshold_boundary_and_effective_dates():
    """Exactly the threshold is not persistent absence; before Sept 2015 the 85% value applies."""
    make = FactMaker()
    at_90 = COMPILED.evaluate(family([CHILD], attendance(make, "child1", terms_at([90, 90, 90]))), AS_OF)
    assert at_90.needs["EDU_PERSISTENT_ABSENCE"].value == N
    old_terms = [(date(2013, 9, 1), date(2013, 12, 20), 100, 88), (date(2014, 1, 6), date(2014, 3, 28), 100, 88),
                 (date(2014, 4, 22), date(2014, 7, 18), 100, 88)]
    child = Member("child1", date_of_birth=date(2005, 5, 1))
    old = COMPILED.evaluate(family([child], attendance(make, "child1", old_terms)), date(2014, 9, 1))
    need = old.needs["EDU_PERSISTENT_ABSENCE"].members["child1"]
    assert need.value == N  # 88% is not below 85%
    (threshold,) = need.parameters
    assert (threshold.value, threshold.effective_from, threshold.citation.text) == (85, date(2012, 4, 1), "Surrey outcomes plan")


def test_exclusions_count_only_in_complete_terms():
    """Three fixed-term exclusions in the last 3 terms meet the need; one in the current term is outside."""
    make = FactMaker()

    def excl(day: date, kind: str = "fixed_term"):
        return make("exclusion", "child1", day, exclusion_date=day, kind=kind, days=2)

    three = [excl(date(2022, 10, 1)), excl(date(2023, 2, 1)), excl(date(2023, 5, 1))]
    assert COMPILED.evaluate(family([CHILD], three), AS_OF).needs["EDU_EXCLUSIONS"].value == M
    two_plus_current = three[1:] + [excl(date(2023, 9, 1))]
    assert COMPILED.evaluate(family([CHILD], two_plus_current), AS_OF).needs["EDU_EXCLUSIONS"].value == N
    permanent = [excl(date(2023, 3, 3), "permanent")]
    assert COMPILED.evaluate(family([CHILD], permanent), AS_OF).needs["EDU_EXCLUSIONS"].value == M


def test_state_on_a_date_decides_a_role_and_no_record_is_no_state_only_where_the_feed_covers():
    """A 17-year-old is a dependent child while in full-time education. With no status record on the day,
    they are in no education state when the feed covers the day (not a dependent child), else unknown."""
    make = FactMaker()
    teen = Member("teen", date_of_birth=date(2006, 1, 10))

    def status(start: date, end: date | None, value: str):
        return make("education_status", "teen", start, end, start_date=start, status=value)

    in_school = COMPILED.evaluate(family([teen], [status(date(2022, 9, 1), None, "full_time_education")]), AS_OF)
    assert in_school.roles["teen"]["dependent_child"] == M
    left = COMPILED.evaluate(family([teen], [status(date(2022, 9, 1), date(2023, 7, 20), "full_time_education"),
                                             status(date(2023, 7, 21), None, "not_in_education")]), AS_OF)
    assert left.roles["teen"]["dependent_child"] == N
    lapsed = [status(date(2021, 9, 1), date(2022, 7, 20), "training")]
    nothing = COMPILED.evaluate(family([teen], lapsed), AS_OF)
    assert nothing.roles["teen"]["dependent_child"] == N
    assert nothing.family_definition.value == N
    stale = covered()
    stale["education_status"] = Coverage("education_status", date(2019, 9, 1), date(2023, 6, 1))
    unseen = COMPILED.evaluate(family([teen], lapsed, coverage=stale), AS_OF)
    assert unseen.roles["teen"]["dependent_child"] == U
    assert unseen.family_definition.value == U
    assert any("education_status records are only known up to 2023-06-01" in r for r in unseen.unknowns)


def test_unknown_role_with_met_condition_is_unknown_and_with_unmet_condition_not_met():
    """A need for a member whose role is unknown follows Kleene 'and'."""
    make = FactMaker()
    no_dob = Member("child1")
    low = COMPILED.evaluate(family([no_dob], attendance(make, "child1", terms_at([50, 50, 50]))), AS_OF)
    need = low.needs["EDU_PERSISTENT_ABSENCE"]
    assert need.value == U
    assert "date of birth missing for person child1, so their age is unknown" in need.result.unknowns
    fine = COMPILED.evaluate(family([no_dob], attendance(make, "child1", terms_at([99, 99, 99]))), AS_OF)
    assert fine.needs["EDU_PERSISTENT_ABSENCE"].value == N


def test_family_level_need_reads_every_members_latest_record():
    """Rent arrears is a family need: the latest statement across members decides it."""
    make = FactMaker()
    rows = [make("rent_account", "mum", date(2023, 5, 1), statement_date=date(2023, 5, 1), arrears=900),
            make("rent_account", "mum", date(2023, 8, 1), statement_date=date(2023, 8, 1), arrears=100)]
    result = COMPILED.evaluate(family([MUM, CHILD], rows), AS_OF)
    assert result.needs["HOUSING_ARREARS"].value == N
    assert [e.fact_id for e in result.needs["HOUSING_ARREARS"].result.evidence] == ["REN-1", "REN-2"]
    none = COMPILED.evaluate(family([MUM, CHILD], []), AS_OF)
    assert none.needs["HOUSING_ARREARS"].value == N  # the rent feed covers all time and lists no account
    uncovered = covered(*(n for n in covered() if n != "rent_account"))
    assert COMPILED.evaluate(family([MUM, CHILD], [], coverage=uncovered), AS_OF).needs["HOUSING_ARREARS"].value == U


def _needs_family(make: FactMaker, crime: bool, absence: int | None, exclusions: bool):
    facts = [make("rent_account", "mum", date(2023, 8, 1), statement_date=date(2023, 8, 1), arrears=0)]
    if crime:
        facts.append(_offence(make, date(2023, 2, 11)))
    facts += attendance(make, "child1", terms_at([absence, absence, absence]) if absence else terms_at([70, None, 70]))
    if exclusions:
        facts.append(make("exclusion", "child1", date(2023, 3, 3), exclusion_date=date(2023, 3, 3), kind="permanent"))
    return family([CHILD, MUM], facts)


@pytest.mark.parametrize("crime, absence, exclusions, eligible", [
    (True, 70, True, M),      # 3 needs met
    (True, None, True, U),    # 2 met + attendance unknown: could be 3
    (False, None, True, N),   # 1 met + 1 unknown: at most 2
    (True, 99, True, N),      # 2 met, nothing unknown
])
def test_need_count_bounds_decide_eligibility(crime, absence, exclusions, eligible):
    """'count of needs >= 3' is met on certain needs, not met when even the unknowns cannot reach 3."""
    result = COMPILED.evaluate(_needs_family(FactMaker(), crime, absence, exclusions), AS_OF)
    assert result.eligible.value == eligible


def test_distinct_headlines_differ_from_a_raw_count():
    """Two education needs and a crime need are 3 needs but only 2 distinct headlines."""
    fam = _needs_family(FactMaker(), True, 70, True)
    raw = compile_framework(framework(minimum=3)).evaluate(fam, AS_OF)
    distinct = compile_framework(framework(distinct_headlines=True, minimum=3)).evaluate(fam, AS_OF)
    assert raw.eligible.value == M
    assert distinct.eligible.value == N
    assert distinct.headlines["EDUCATION"].value == M and distinct.headlines["HOUSING"].value == N


def test_scores_count_met_targets_and_flag_unknown_ones():
    """Weights add for met needs/headlines; an unknown target makes the score incomplete."""
    result = COMPILED.evaluate(_needs_family(FactMaker(), True, 70, True), AS_OF)
    score = result.scores["vulnerability"]
    assert (score.score, score.score_complete, score.rag, score.rag_certain) == (6, True, "red", True)
    partial = COMPILED.evaluate(_needs_family(FactMaker(), False, None, False), AS_OF).scores["vulnerability"]
    assert (partial.score, partial.score_max, partial.score_complete, partial.rag, partial.rag_certain) == (
        0, 3, False, "green", False)


def test_members_quantifiers_are_three_valued():
    """'count of members who are adult' is a range when a date of birth is missing."""
    adults = ir.Members(quant="count", role="adult")
    fw = framework(needs=(ir.Need(name="X", headline="H", subject="family", condition=cmp(">=", adults, lit(2))),),
                   outcomes=())
    compiled = compile_framework(fw)
    assert compiled.evaluate(family([MUM, Member("dad")], []), AS_OF).needs["X"].value == U
    assert compiled.evaluate(family([MUM, CHILD], []), AS_OF).needs["X"].value == N
    assert compiled.evaluate(family([MUM, Member("dad", date_of_birth=date(1980, 1, 1))], []), AS_OF).needs["X"].value == M


def test_missing_field_on_a_fact_is_unknown():
    """An offence without an outcome cannot be said to be proven or not."""
    make = FactMaker()
    result = COMPILED.evaluate(family([MUM], [make("offence", "mum", date(2023, 2, 1), offence_date=date(2023, 2, 1))]), AS_OF)
    crime = result.needs["CRIME_OFFENDING"]
    assert crime.value == U
    assert any("offence.outcome is missing on record OFF-1" in r for r in crime.result.unknowns)


def test_a_rule_cycle_is_an_evaluation_error():
    """A rule that depends on itself is reported, not looped over."""
    rule = ir.DerivedRule(name="loop", subject="family", condition=ir.RuleRef(name="loop"))
    fw = framework(rules=(rule,), needs=(ir.Need(name="X", headline="H", subject="family",
                                                 condition=ir.RuleRef(name="loop")),), outcomes=())
    with pytest.raises(EvaluationError, match="loop depends on itself"):
        compile_framework(fw).evaluate(family([MUM], []), AS_OF)


def test_unknown_names_fail_at_compile_time_with_the_rule_named():
    """Referring to an undeclared fact type is caught when compiling, naming the rule and line."""
    bad = ir.Need(name="BAD", headline="H", subject="family", span=ir.Span(file="x.hearth", line=7, column=3),
                  condition=ir.Aggregate(fn="any", fact="nonsense", window=last(1, "years")))
    with pytest.raises(EvaluationError, match=r"x.hearth:7:3: unknown fact type 'nonsense' \(in need BAD\)"):
        compile_framework(framework(needs=(bad,), outcomes=()))
