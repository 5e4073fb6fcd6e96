"""Parsing: the sketch's constructs become the expected syntax tree (spans aside)."""

from __future__ import annotations

from datetime import date

import pytest

from dsl import ast as a
from dsl import parse_text
from tests.dsl.conftest import HEADER


def condition(expr_text: str) -> a.Expr:
    module = parse_text(f'role r "R"\n  {expr_text}\nend\n', "t.hearth")
    return module.declarations[0].condition


N = a.Name


def test_sketch_parses_into_every_kind_of_declaration(sketch_dir) -> None:
    """The Phase 3 sketch yields one of each declaration kind, in source order."""
    module = parse_text((sketch_dir / "framework.hearth").read_text(), "framework.hearth")
    kinds = [type(d).__name__ for d in module.declarations]
    assert kinds[0] == "Header"
    for kind in ("ParameterDecl", "FactDecl", "RoleDecl", "RuleDecl", "FamilyDefinitionDecl", "HeadlineDecl",
                 "NeedDecl", "EligibilityDecl", "OutcomeDecl", "ClaimDecl", "ScoreDecl", "LifecycleDecl"):
        assert kind in kinds
    header = module.declarations[0]
    assert (header.id, header.phase, header.effective_from) == ("sf_phase3", "3", date(2022, 10, 3))
    assert header.citations[0].confidence == "verified"


def test_parameter_with_dated_values_and_citations() -> None:
    """Each dated value keeps its own citations; units are kept as written."""
    module = parse_text('parameter t: percent\n  "Desc."\n  90% from 2015-09-01 source "A" believed\n'
                        '  85% from 2012-04-01 source "B" url "https://x" local\nend\n', "p.hearth")
    p = module.declarations[0]
    assert (p.name, p.unit, p.description) == ("t", "percent", "Desc.")
    assert [(v.value, v.effective_from) for v in p.values] == [
        (a.Percent(90), date(2015, 9, 1)), (a.Percent(85), date(2012, 4, 1))]
    assert p.values[1].citations == (a.Citation("B", "https://x", "local"),)


def test_fact_declaration() -> None:
    """Fields, codes, `dated by ... until ...` and the recording mode are all read."""
    module = parse_text("fact s about person\n  start_date: date\n  end_date: date\n"
                        "  category: code (cin, cp)\n  dated by start_date until end_date\n  recorded as states\nend\n",
                        "f.hearth")
    f = module.declarations[0]
    assert [(x.name, x.type, x.codes) for x in f.fields] == [
        ("start_date", "date", None), ("end_date", "date", None), ("category", "code", ("cin", "cp"))]
    assert (f.dated_by, f.until, f.recording) == (N("start_date"), N("end_date"), "states")
    periodic = parse_text("fact att about person\n  d: date\n  dated by d\n  recorded per term\nend\n", "f.hearth")
    assert (periodic.declarations[0].recording, periodic.declarations[0].period) == ("periodic", "terms")


@pytest.mark.parametrize(("text", "expected"), [
    ("rate of attendance.attended_sessions per attendance.possible_sessions over last 3 terms < t",
     a.Compare("<", a.Aggregate("rate", N("attendance"), N("attended_sessions"), N("attendance"), N("possible_sessions"),
                                window=a.Window("last", a.DurationLit(3, "terms"), word="over")), N("t"))),
    ("latest education_status.status in (full_time_education, training)",
     a.Compare("in", a.Aggregate("latest", N("education_status"), N("status"), explicit_of=False),
               a.ListExpr((N("full_time_education"), N("training"))))),
    ("any offence where outcome in (proven, caution) in last offending_window",
     a.Quantified("any", N("offence"), where=a.Compare("in", N("outcome"), a.ListExpr((N("proven"), N("caution")))),
                  window=a.Window("last", N("offending_window")))),
    ("count of offence of family in last 12 months >= 2",
     a.Compare(">=", a.CountFacts(N("offence"), True, window=a.Window("last", a.DurationLit(12, "months"))),
               a.Number(2))),
    ("every attendance in each of last 3 terms has attended_sessions / possible_sessions * 100 >= t",
     a.Quantified("every", N("attendance"), window=a.Window("each", a.DurationLit(3, "terms")),
                  has=a.Compare(">=", a.BinOp("*", a.BinOp("/", N("attended_sessions"), N("possible_sessions")),
                                              a.Number(100)), N("t")))),
    ("no exclusion in 6 months after closure",
     a.Quantified("no", N("exclusion"), window=a.Window("after", a.DurationLit(6, "months"), "closure"))),
    ("any member is dependent_child or every member is adult",
     a.BinOp("or", a.MemberQuantified("any", N("dependent_child")), a.MemberQuantified("every", N("adult")))),
    ("any dependent_child has age < 5", a.Quantified("any", N("dependent_child"), has=a.Compare("<", N("age"), a.Number(5)))),
    ("count of members who are adult = 1", a.Compare("=", a.CountMembers(N("adult")), a.Number(1))),
    ("count of distinct headlines >= minimum_headlines",
     a.Compare(">=", a.CountNeeds(True), N("minimum_headlines"))),
    ("count of needs under EDUCATION, CRIME >= 2",
     a.Compare(">=", a.CountNeeds(False, (N("EDUCATION"), N("CRIME"))), a.Number(2))),
    ("evaluation date - 6 months > closure date",
     a.Compare(">", a.BinOp("-", a.AnchorDate("evaluation"), a.DurationLit(6, "months")), a.AnchorDate("closure"))),
    ("days_between(attachment date, evaluation date) > 30",
     a.Compare(">", a.CallExpr("days_between", (a.AnchorDate("attachment"), a.AnchorDate("evaluation"))), a.Number(30))),
    ("all needs have sustained outcomes or continuous_employment",
     a.BinOp("or", a.AllOutcomes("sustained"), N("continuous_employment"))),
    ("not has_recent_offence and sex not in (F, X)",
     a.BinOp("and", a.Unary("not", N("has_recent_offence")), a.Compare("not in", N("sex"), a.ListExpr((N("F"), N("X")))))),
    ("sum of rent_account.arrears where arrears > £1,000 in last 1 year = -£5",
     a.Compare("=", a.Aggregate("sum", N("rent_account"), N("arrears"), where=a.Compare(">", N("arrears"), a.Money(1000)),
                                window=a.Window("last", a.DurationLit(1, "years"))), a.Unary("-", a.Money(5)))),
])
def test_expressions(text: str, expected: a.Expr) -> None:
    """Each expression form of the sketch parses to its tree; `in (` is membership, other `in` a window."""
    assert condition(text) == expected


def test_where_filter_runs_to_the_window() -> None:
    """A `where` condition with `and` stays inside the filter; the window closes it."""
    expr = condition("count of exclusion where kind = fixed_term and days > 2 in last 3 terms >= 3 or x")
    assert isinstance(expr, a.BinOp) and expr.op == "or"
    count = expr.left.left
    assert isinstance(count, a.CountFacts) and count.where.op == "and"


def test_keywords_are_names_where_a_name_is_expected() -> None:
    """`outcome` and `days` are fields in a filter, though they are keywords elsewhere."""
    expr = condition("any offence where outcome = proven and days > 3")
    assert expr.where.left.left == N("outcome") and expr.where.right.left == N("days")


def test_need_outcome_claim_lifecycle_and_override() -> None:
    """Blocks read their clauses; an override carries its label and priority."""
    module = parse_text(HEADER + '''
override need X "Title" under H label "Local reason" priority 2
  "Longer description."
  for each dependent_child
  met when a
end
outcome for X
  for family
  achieved when a
  sustained when b
end
lifecycle
  roles manager, system
  state open initial "Open"
  state shut final
  closure reasons done, gone
  transition close from open to shut by manager when eligible and claimable requires reason reasons done
    "Close it"
  timer idle in open every 3 months take close reason gone restart on offence fail on exclusion take close
end
''', "n.hearth")
    _, need, outcome, lc = module.declarations
    assert need.override == a.Override("Local reason", 2, True)
    assert need.applies_to == a.AppliesTo("role", N("dependent_child"))
    assert (need.description, need.condition) == ("Longer description.", N("a"))
    assert (outcome.achieved, outcome.sustained, outcome.applies_to.kind) == (N("a"), N("b"), "family")
    [close] = lc.transitions
    assert (close.guards, close.requires, close.reasons, close.description) == (
        (N("eligible"), N("claimable")), (N("reason"),), (N("done"),), "Close it")
    [idle] = lc.timers
    assert (idle.repeat, idle.length, idle.take, idle.restart_on, idle.fail_on, idle.fail_take) == (
        True, a.DurationLit(3, "months"), a.TimerAction(N("close"), N("gone")), (N("offence"),), (N("exclusion"),),
        a.TimerAction(N("close")))
    assert [s.name for s in lc.states if s.initial] == ["open"]


def test_spans_point_at_the_source() -> None:
    """Spans are 1-based file:line:col of the construct."""
    module = parse_text('\n\nrole r "R"\n  age < 16\nend\n', "spans.hearth")
    role = module.declarations[0]
    assert str(role.span) == "spans.hearth:3:1"
    assert (role.condition.left.span.line, role.condition.left.span.column) == (4, 3)


def test_comments_are_collected_but_hash_in_strings_is_not() -> None:
    """`#` starts a comment except inside a quoted string."""
    module = parse_text('headline H "No #1 problem"  # trailing\n# own line\nend\n', "c.hearth")
    assert module.declarations[0].title == "No #1 problem"
    assert module.comments == ((1, 29, "# trailing"), (2, 1, "# own line"))
