"""Aggregations by recording kind: states over windows, monthly periodic facts, latest with gaps, family scope."""

from __future__ import annotations

from datetime import date

from engine.rules import ir
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import Coverage, Member
from tests.rules.frameworks import AS_OF, FACT_TYPES, MUM, FactMaker, _ft, cmp, covered, family, framework, last, lit

EPISODE = _ft("social_care_episode", {"start_date": "date", "end_date": "date", "category": "code"}, "start_date",
              "states", end_field="end_date")
BENEFIT = _ft("benefit_month", {"month_end": "date", "paid": "money"}, "month_end", "periodic", period="months")
KID = Member("kid", date_of_birth=date(2012, 1, 1))


def _value(condition: ir.Expr, facts, coverage=None, members=(MUM,), subject: str = "person", person: str = "mum") -> str:
    need = ir.Need(name="X", headline="H", subject=subject, condition=condition)
    fw = framework(fact_types=FACT_TYPES + (EPISODE, BENEFIT), needs=(need,), outcomes=())
    cov = covered() if coverage is None else coverage
    cov.setdefault("social_care_episode", Coverage("social_care_episode", date(1900, 1, 1), AS_OF))
    result = compile_framework(fw).evaluate(family(list(members), facts, coverage=cov), AS_OF)
    return result.needs["X"].members[person].value if subject == "person" else result.needs["X"].value


def _episode(make: FactMaker, start: date, end: date | None, category: str = "cp", person: str = "mum"):
    return make("social_care_episode", person, start, end, start_date=start, end_date=end, category=category)


ANY_CP = ir.Aggregate(fn="any", fact="social_care_episode", where=cmp("=", ir.FieldRef(name="category"), lit("cp", "code")),
                      window=last(12, "months"))


def test_a_state_counts_when_it_overlaps_the_window():
    """An episode that began before the window but ended inside it overlaps it; one that ended before does not."""
    make = FactMaker()
    assert _value(ANY_CP, [_episode(make, date(2021, 1, 1), date(2022, 10, 1))]) == "met"
    assert _value(ANY_CP, [_episode(make, date(2021, 1, 1), date(2022, 9, 1))]) == "not_met"
    assert _value(ANY_CP, [_episode(make, date(2023, 9, 2), None)]) == "not_met"  # starts after as_of
    assert _value(ANY_CP, [_episode(make, date(2020, 1, 1), None)]) == "met"      # still open


def test_no_state_outside_coverage_is_unknown():
    """Without coverage for the whole window, no episode is not proof of none."""
    cov = covered()
    cov["social_care_episode"] = Coverage("social_care_episode", date(2023, 3, 1), AS_OF)
    assert _value(ANY_CP, [], coverage=cov) == "unknown"


def test_latest_state_is_the_record_covering_the_day():
    """'latest category' reads the episode open on the evaluation date; none open while the feed covers
    the day is no episode (not met), none open on a day the feed does not cover is unknown."""
    make = FactMaker()
    latest = cmp("=", ir.Aggregate(fn="latest", fact="social_care_episode", field="category"), lit("cin", "code"))
    facts = [_episode(make, date(2022, 1, 1), date(2023, 5, 1), "cp"), _episode(make, date(2023, 5, 2), None, "cin")]
    assert _value(latest, facts) == "met"
    assert _value(latest, facts[:1]) == "not_met"
    stale = covered()
    stale["social_care_episode"] = Coverage("social_care_episode", date(2019, 9, 1), date(2023, 6, 1))
    assert _value(latest, facts[:1], coverage=stale) == "unknown"


MONTHS_PAID = ir.Aggregate(fn="sum", fact="benefit_month", field="paid", window=last(3, "months"))


def test_monthly_periodic_facts_need_every_month():
    """A sum over the last 3 months of a monthly fact is unknown when a month is missing."""
    make = FactMaker()
    rows = [make("benefit_month", "mum", d, month_end=d, paid=100) for d in (date(2023, 6, 30), date(2023, 7, 31))]
    total = cmp(">=", MONTHS_PAID, lit(200))
    assert _value(total, rows) == "unknown"  # August 2023 missing
    rows.append(make("benefit_month", "mum", date(2023, 8, 31), month_end=date(2023, 8, 31), paid=50))
    assert _value(total, rows) == "met"


def test_latest_event_is_unknown_when_records_may_be_missing_after_it():
    """The latest rent statement is only certain if the feed covers the time after it."""
    make = FactMaker()
    latest = cmp(">=", ir.Aggregate(fn="latest", fact="rent_account", field="arrears"), lit(500))
    rows = [make("rent_account", "mum", date(2023, 1, 1), statement_date=date(2023, 1, 1), arrears=900)]
    assert _value(latest, rows) == "met"
    stale = covered()
    stale["rent_account"] = Coverage("rent_account", date(2020, 1, 1), date(2023, 2, 1))
    assert _value(latest, rows, coverage=stale) == "unknown"


def test_family_scope_counts_every_members_facts_and_count_with_gaps_is_a_lower_bound():
    """'count of offence of family' adds members' records; a coverage gap leaves only a lower bound."""
    make = FactMaker()
    offences = [make("offence", "mum", date(2023, 3, 1), offence_date=date(2023, 3, 1), outcome="proven"),
                make("offence", "kid", date(2023, 4, 1), offence_date=date(2023, 4, 1), outcome="caution")]
    count = ir.Aggregate(fn="count", fact="offence", scope="family", window=last(12, "months"))
    assert _value(cmp(">=", count, lit(2)), offences, members=(MUM, KID), subject="family") == "met"
    assert _value(cmp(">=", count, lit(3)), offences, members=(MUM, KID), subject="family") == "not_met"
    gap = covered()
    gap["offence"] = Coverage("offence", date(2023, 1, 1), AS_OF)
    assert _value(cmp(">=", count, lit(2)), offences, coverage=gap, members=(MUM, KID), subject="family") == "met"
    assert _value(cmp(">=", count, lit(3)), offences, coverage=gap, members=(MUM, KID), subject="family") == "unknown"


def test_every_over_no_events_in_a_covered_window_is_met():
    """'every exclusion in the window has days < 5' holds vacuously when the feed shows none."""
    every = ir.Aggregate(fn="all", fact="exclusion", window=last(3, "terms"),
                         test=cmp("<", ir.FieldRef(name="days"), lit(5)))
    make = FactMaker()
    assert _value(every, []) == "met"
    long = [make("exclusion", "mum", date(2023, 2, 1), exclusion_date=date(2023, 2, 1), kind="fixed_term", days=9)]
    assert _value(every, long) == "not_met"
    no_days = [make("exclusion", "mum", date(2023, 2, 1), exclusion_date=date(2023, 2, 1), kind="fixed_term")]
    assert _value(every, no_days) == "unknown"
