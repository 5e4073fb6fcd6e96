"""What absence means, as tables: window-less aggregates read "as far as our records go" (the fact type's
coverage), and a states register that covers a day but does not list a person puts them in none of its
states. Unknown stays for no coverage, stale coverage (ending before the evaluation date) and periodic
gaps."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from engine.rules import ir
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import Coverage, Member
from tests.rules.frameworks import AS_OF, FACT_TYPES, MUM, FactMaker, cmp, family, framework, last, lit

ROOT = Path(__file__).resolve().parents[2]
EMPLOYMENT = ir.FactType(name="employment", date_field="start_date", end_field="end_date", recording="states",
                         fields=(ir.FieldDef(name="start_date", type="date"), ir.FieldDef(name="end_date", type="date"),
                                 ir.FieldDef(name="hours_per_week", type="number")))
TYPES = FACT_TYPES + (EMPLOYMENT,)
FEED_FROM = date(2019, 9, 1)

# coverage variants, per fact type read
FULL = "covered from 2019 to the evaluation date"
NONE = "no feed covers it"
STALE = "covered from 2019 to two months before the evaluation date"
LATE = "covered only from after the evaluation date"


def _coverage(kind: str, fact_type: str) -> dict[str, Coverage]:
    spans = {FULL: (FEED_FROM, AS_OF), STALE: (FEED_FROM, date(2023, 7, 1)), LATE: (date(2023, 10, 1), date(2023, 12, 1))}
    base = {t.name: Coverage(t.name, FEED_FROM, AS_OF, ("feed",)) for t in TYPES}
    if kind == NONE:
        del base[fact_type]
    else:
        start, end = spans[kind]
        base[fact_type] = Coverage(fact_type, start, end, ("feed",))
    return base


def _value(condition: ir.Expr, facts, coverage: dict[str, Coverage]) -> str:
    need = ir.Need(name="X", headline="H", condition=condition)
    compiled = compile_framework(framework(fact_types=TYPES, needs=(need,), outcomes=()))
    result = compiled.evaluate(family([MUM], facts, coverage=coverage), AS_OF)
    return result.needs["X"].members["mum"].value


def _agg(fn: str, fact: str, **kw) -> ir.Aggregate:
    return ir.Aggregate(fn=fn, fact=fact, **kw)


def _code(value: str) -> ir.Lit:
    return lit(value, "code")


make = FactMaker()
OLD_OFFENCE = make("offence", "mum", date(2015, 3, 1), offence_date=date(2015, 3, 1), outcome="proven")
RECENT_OFFENCE = make("offence", "mum", date(2023, 8, 1), offence_date=date(2023, 8, 1), outcome="proven")
RENT_900 = make("rent_account", "mum", date(2022, 5, 1), statement_date=date(2022, 5, 1), arrears=900)

ANY_OFFENCE = _agg("any", "offence")
NO_OFFENCE = _agg("none", "offence")
OFFENCES_AT_LEAST_1 = cmp(">=", _agg("count", "offence"), lit(1))
LATEST_ARREARS_HIGH = cmp(">=", _agg("latest", "rent_account", field="arrears"), lit(500))
LATEST_ARREARS_LOW = cmp("<", _agg("latest", "rent_account", field="arrears"), lit(500))
TOTAL_ARREARS_ZERO = cmp("=", _agg("sum", "rent_account", field="arrears"), lit(0))
WORST_ARREARS_HIGH = cmp(">=", _agg("max", "rent_account", field="arrears"), lit(500))

WINDOWLESS_EVENTS = [
    # (condition, facts, coverage, expected)
    (ANY_OFFENCE, [], FULL, "not_met"),           # the feed started in 2019: absence since then is none
    (NO_OFFENCE, [], FULL, "met"),
    (OFFENCES_AT_LEAST_1, [], FULL, "not_met"),
    (ANY_OFFENCE, [], NONE, "unknown"),
    (ANY_OFFENCE, [], STALE, "unknown"),          # the feed stopped before the evaluation date
    (ANY_OFFENCE, [], LATE, "unknown"),
    (NO_OFFENCE, [], STALE, "unknown"),
    (ANY_OFFENCE, [OLD_OFFENCE], FULL, "met"),    # a record from before coverage still counts
    (ANY_OFFENCE, [RECENT_OFFENCE], STALE, "met"),
    (ANY_OFFENCE, [RECENT_OFFENCE], NONE, "met"),
    (OFFENCES_AT_LEAST_1, [], STALE, "unknown"),
    (LATEST_ARREARS_HIGH, [RENT_900], FULL, "met"),
    (LATEST_ARREARS_HIGH, [RENT_900], STALE, "unknown"),  # a later statement may be missing
    (LATEST_ARREARS_HIGH, [], FULL, "not_met"),  # no rent account: no arrears to be high
    (LATEST_ARREARS_LOW, [], FULL, "not_met"),   # ... nor low: a statement about no record is not met
    (ir.Not(arg=LATEST_ARREARS_HIGH), [], FULL, "met"),
    (LATEST_ARREARS_HIGH, [], NONE, "unknown"),
    (LATEST_ARREARS_HIGH, [], STALE, "unknown"),
    (TOTAL_ARREARS_ZERO, [], FULL, "met"),       # numeric aggregates over nothing keep their conventions
    (TOTAL_ARREARS_ZERO, [], STALE, "unknown"),
    (WORST_ARREARS_HIGH, [], FULL, "unknown"),   # the max of nothing has no value
]


@pytest.mark.parametrize("condition, facts, coverage, expected", WINDOWLESS_EVENTS)
def test_window_less_event_aggregates_read_as_far_as_records_go(condition, facts, coverage, expected):
    fact_type = condition.fact if isinstance(condition, ir.Aggregate) else _fact_of(condition)
    assert _value(condition, facts, _coverage(coverage, fact_type)) == expected


def _fact_of(node: ir.Expr) -> str:
    for child in (getattr(node, "left", None), getattr(node, "arg", None)):
        if isinstance(child, ir.Aggregate):
            return child.fact
        if child is not None:
            return _fact_of(child)
    raise AssertionError(f"no aggregate in {node}")


LATEST_STATUS = _agg("latest", "education_status", field="status")
STATUS_IS_MISSING = cmp("=", LATEST_STATUS, _code("missing_education"))
STATUS_ISNT_MISSING = cmp("!=", LATEST_STATUS, _code("missing_education"))
STATUS_IN_SCHOOL = cmp("in", LATEST_STATUS, ir.ListLit(items=(_code("full_time_education"), _code("training"))))
STATUS_NOT_IN_SCHOOL = cmp("not in", LATEST_STATUS, ir.ListLit(items=(_code("full_time_education"), _code("training"))))
ANY_MISSING = _agg("any", "education_status", where=cmp("=", ir.FieldRef(name="status"), _code("missing_education")))
ANY_MISSING_LAST_YEAR = _agg("any", "education_status", window=last(12, "months"),
                             where=cmp("=", ir.FieldRef(name="status"), _code("missing_education")))
STATUS_COUNT_ZERO = cmp("=", _agg("count", "education_status"), lit(0))
IN_WORK_SINCE = cmp("<=", _agg("latest", "employment", field="start_date"), lit(date(2023, 3, 1)))
HOURS_OVER_16 = cmp(">=", _agg("latest", "employment", field="hours_per_week"), lit(16))

FORMER = make("education_status", "mum", date(2018, 9, 1), date(2022, 7, 20), start_date=date(2018, 9, 1),
              end_date=date(2022, 7, 20), status="missing_education")
CURRENT = make("education_status", "mum", date(2022, 9, 1), start_date=date(2022, 9, 1), status="missing_education")
JOB = make("employment", "mum", date(2022, 1, 1), start_date=date(2022, 1, 1), hours_per_week=30)

STATES = [
    # nobody listed on the day, feed covers it: in none of the register's states
    (STATUS_IS_MISSING, [], FULL, "not_met"),
    (STATUS_ISNT_MISSING, [], FULL, "met"),
    (STATUS_IN_SCHOOL, [], FULL, "not_met"),
    (STATUS_NOT_IN_SCHOOL, [], FULL, "met"),
    (ANY_MISSING, [], FULL, "not_met"),
    (ANY_MISSING_LAST_YEAR, [], FULL, "not_met"),
    (STATUS_COUNT_ZERO, [], FULL, "met"),
    (STATUS_IS_MISSING, [FORMER], FULL, "not_met"),  # a state that ended before the day is not current
    (STATUS_ISNT_MISSING, [FORMER], FULL, "met"),
    (ANY_MISSING, [FORMER], FULL, "met"),            # ... but it did happen, as far as records go
    (STATUS_IS_MISSING, [CURRENT], FULL, "met"),
    (STATUS_IS_MISSING, [CURRENT], STALE, "met"),    # an open record is read as still open
    # the day is not covered: unknown
    (STATUS_IS_MISSING, [], NONE, "unknown"),
    (STATUS_ISNT_MISSING, [], NONE, "unknown"),
    (STATUS_IS_MISSING, [], STALE, "unknown"),
    (STATUS_NOT_IN_SCHOOL, [FORMER], STALE, "unknown"),
    (STATUS_IS_MISSING, [], LATE, "unknown"),
    (ANY_MISSING, [], STALE, "unknown"),
    (ANY_MISSING_LAST_YEAR, [], NONE, "unknown"),
    # reading a field of a state that does not exist: not met, whatever the comparison
    (IN_WORK_SINCE, [], FULL, "not_met"),
    (HOURS_OVER_16, [], FULL, "not_met"),
    (IN_WORK_SINCE, [JOB], FULL, "met"),
    (HOURS_OVER_16, [JOB], FULL, "met"),
    (IN_WORK_SINCE, [], STALE, "unknown"),
]


@pytest.mark.parametrize("condition, facts, coverage, expected", STATES)
def test_a_states_register_that_covers_the_day_and_lists_nobody_means_no_state(condition, facts, coverage, expected):
    fact_type = condition.fact if isinstance(condition, ir.Aggregate) else _fact_of(condition)
    assert _value(condition, facts, _coverage(coverage, fact_type)) == expected


def test_no_state_is_explained_and_an_uncovered_day_names_the_coverage():
    """The trace says why there is no state; an unknown says which coverage was missing."""
    need = ir.Need(name="X", headline="H", condition=STATUS_IS_MISSING)
    compiled = compile_framework(framework(fact_types=TYPES, needs=(need,), outcomes=()))
    known = compiled.evaluate(family([MUM], [], coverage=_coverage(FULL, "education_status")), AS_OF)
    (child,) = known.needs["X"].members["mum"].children
    assert child.value == "not_met" and "none" in child.detail and "feed covers that day" in child.detail
    stale = compiled.evaluate(family([MUM], [], coverage=_coverage(STALE, "education_status")), AS_OF, trace=False)
    assert stale.needs["X"].members["mum"].unknowns == [
        "no education_status record covers 2023-09-01 for person mum; "
        "education_status records are only known up to 2023-07-01"]


def test_periodic_gaps_stay_unknown_but_an_age_guard_decides_first():
    """A missing attendance term keeps a school-age rate unknown; for a member the age guard rules out,
    Kleene 'and' decides not met before attendance is read (how the Phase 3 needs are written)."""
    rate = ir.Aggregate(fn="rate", fact="attendance", field="attended_sessions", per_field="possible_sessions",
                        window=last(3, "terms"))
    age = ir.PersonAttr(name="age")
    guarded = ir.And(args=(cmp(">=", age, lit(5)), cmp("<", age, lit(16)), cmp("<", rate, lit(90))))
    need = ir.Need(name="X", headline="H", condition=guarded)
    compiled = compile_framework(framework(needs=(need,), outcomes=()))
    kid = Member("kid", date_of_birth=date(2012, 5, 1))
    result = compiled.evaluate(family([MUM, kid], []), AS_OF)
    assert result.needs["X"].members["kid"].value == "unknown"
    assert any("attendance for" in r and "missing for person kid" in r for r in result.needs["X"].members["kid"].unknowns)
    assert result.needs["X"].members["mum"].value == "not_met"


def test_phase3_roles_no_longer_unknown_for_an_unlisted_teenager():
    """Phase 3: a 17-year-old on neither the education status nor the NEET register (both covering the
    date) is not a dependent child, so no school-age attendance is needed for them and the family is
    decided; with the registers stale the role stays unknown."""
    from dsl.api import load_framework

    compiled = compile_framework(load_framework(ROOT / "frameworks" / "phase3"))
    types = [t.name for t in compiled.framework.fact_types]
    teen, adult = Member("teen", date_of_birth=date(2006, 3, 1)), Member("dad", date_of_birth=date(1980, 1, 1))
    fresh = {t: Coverage(t, FEED_FROM, AS_OF) for t in types}
    result = compiled.evaluate(family([adult, teen], [], coverage=fresh), AS_OF, trace=False)
    assert result.roles["teen"]["dependent_child"] == "not_met"
    assert result.family_definition.value == "not_met"
    stale = dict(fresh, education_status=Coverage("education_status", FEED_FROM, date(2023, 7, 1)))
    unsure = compiled.evaluate(family([adult, teen], [], coverage=stale), AS_OF, trace=False)
    assert unsure.roles["teen"]["dependent_child"] == "unknown"


def test_a_term_ending_after_the_latest_extract_is_reported_as_not_yet_in_the_feeds():
    """A periodic gap stays unknown; when the term ended after the feed's latest extract the reason says so
    rather than calling the term missing."""
    rate = ir.Aggregate(fn="rate", fact="attendance", field="attended_sessions", per_field="possible_sessions",
                        window=last(3, "terms"))
    need = ir.Need(name="X", headline="H", condition=cmp("<", rate, lit(90)))
    compiled = compile_framework(framework(needs=(need,), outcomes=()))
    kid = Member("kid", date_of_birth=date(2012, 5, 1))
    rows = [make("attendance", "kid", end, term_start=start, term_end=end, possible_sessions=100, attended_sessions=95)
            for start, end in ((date(2022, 9, 1), date(2022, 12, 20)), (date(2023, 1, 4), date(2023, 3, 31)))]
    lagging = _coverage(FULL, "attendance")
    lagging["attendance"] = Coverage("attendance", FEED_FROM, date(2023, 7, 1))
    result = compiled.evaluate(family([kid], rows, coverage=lagging), AS_OF, trace=False)
    assert result.needs["X"].members["kid"].value == "unknown"
    assert result.needs["X"].members["kid"].unknowns == [
        "attendance for summer term 2023 is not in the feeds yet for person kid: "
        "attendance records are only known up to 2023-07-01"]
