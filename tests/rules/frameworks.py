"""A small Phase-3-like framework written directly in IR, and helpers to build families (synthetic)."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine.rules import ir
from engine.rules.inputs import CaseDates, Coverage, Fact, FamilyInput, Member

SRC = "test/needs.hearth"


def span(line: int) -> ir.Span:
    return ir.Span(file=SRC, line=line, column=1)


def lit(value: Any, unit: str | None = None) -> ir.Lit:
    return ir.Lit(value=value, unit=unit)


def last(amount: int, unit: str, **kw: Any) -> ir.Window:
    return ir.Window(length=ir.Duration(amount=amount, unit=unit), **kw)


def field_is(name: str, value: Any) -> ir.Compare:
    return ir.Compare(op="=", left=ir.FieldRef(name=name), right=lit(value, "code"))


def cmp(op: str, left: ir.Expr, right: ir.Expr) -> ir.Compare:
    return ir.Compare(op=op, left=left, right=right)


def _ft(name: str, fields: dict[str, str], date_field: str, recording: str = "events", **kw: Any) -> ir.FactType:
    return ir.FactType(name=name, fields=tuple(ir.FieldDef(name=n, type=t) for n, t in fields.items()),
                       date_field=date_field, recording=recording, **kw)


FACT_TYPES = (
    _ft("attendance", {"term_start": "date", "term_end": "date", "possible_sessions": "count",
                       "attended_sessions": "count"}, "term_end", "periodic", period="terms"),
    _ft("exclusion", {"exclusion_date": "date", "kind": "code", "days": "count"}, "exclusion_date"),
    _ft("offence", {"offence_date": "date", "outcome": "code"}, "offence_date"),
    _ft("education_status", {"start_date": "date", "end_date": "date", "status": "code"}, "start_date",
        "states", end_field="end_date"),
    _ft("rent_account", {"statement_date": "date", "arrears": "money"}, "statement_date"),
    _ft("pregnancy", {"notification_date": "date"}, "notification_date"),
)

THRESHOLD = ir.Parameter(name="attendance_threshold", unit="percent", values=(
    ir.DatedValue(effective_from=date(2015, 9, 1), value=90,
                  citation=ir.Citation(text="DfE persistent absence definition")),
    ir.DatedValue(effective_from=date(2012, 4, 1), value=85, citation=ir.Citation(text="Surrey outcomes plan")),
))
PARAMETERS = (
    THRESHOLD,
    ir.Parameter(name="offending_window", unit="months",
                 values=(ir.DatedValue(effective_from=date(2000, 1, 1), value=ir.Duration(amount=12, unit="months")),)),
    ir.Parameter(name="minimum_needs", unit="count", values=(ir.DatedValue(effective_from=date(2000, 1, 1), value=3),)),
    ir.Parameter(name="arrears_threshold", unit="money", values=(ir.DatedValue(effective_from=date(2000, 1, 1), value=500),)),
)

AGE = ir.PersonAttr(name="age")
ATTENDANCE_RATE = ir.Aggregate(fn="rate", fact="attendance", field="attended_sessions",
                               per_field="possible_sessions", window=last(3, "terms"))
ROLES = (
    ir.Role(name="dependent_child", span=span(1), condition=ir.Or(args=(
        cmp("<", AGE, lit(16)),
        ir.And(args=(cmp("<=", AGE, lit(18)), cmp("in", ir.Aggregate(fn="latest", fact="education_status", field="status"),
                                                   ir.ListLit(items=(lit("full_time_education", "code"), lit("training", "code")))))),
    ))),
    ir.Role(name="adult", span=span(5), condition=cmp(">=", AGE, lit(18))),
    ir.Role(name="expectant_parent", span=span(8),
            condition=ir.Aggregate(fn="any", fact="pregnancy", window=last(9, "months"))),
)
CITE = (ir.Citation(text="Guidance ch.4, Getting a good education", confidence="believed"),)
NEEDS = (
    ir.Need(name="EDU_PERSISTENT_ABSENCE", description="Persistent absence", headline="EDUCATION",
            role="dependent_child", span=span(20), citations=CITE,
            condition=cmp("<", ATTENDANCE_RATE, ir.ParamRef(name="attendance_threshold"))),
    ir.Need(name="EDU_EXCLUSIONS", description="Repeated exclusions", headline="EDUCATION", role="dependent_child",
            span=span(26), condition=ir.Or(args=(
                cmp(">=", ir.Aggregate(fn="count", fact="exclusion", where=field_is("kind", "fixed_term"),
                                       window=last(3, "terms")), lit(3)),
                ir.Aggregate(fn="any", fact="exclusion", where=field_is("kind", "permanent"), window=last(3, "terms")),
            ))),
    ir.Need(name="CRIME_OFFENDING", description="Offending in the last 12 months", headline="CRIME", span=span(32),
            condition=ir.Aggregate(fn="any", fact="offence",
                                   where=cmp("in", ir.FieldRef(name="outcome"),
                                             ir.ListLit(items=(lit("proven", "code"), lit("caution", "code")))),
                                   window=ir.Window(length=ir.ParamRef(name="offending_window")))),
    ir.Need(name="HOUSING_ARREARS", description="Rent arrears", headline="HOUSING", subject="family", span=span(38),
            condition=cmp(">=", ir.Aggregate(fn="latest", fact="rent_account", field="arrears", scope="family"),
                          ir.ParamRef(name="arrears_threshold"))),
)
OUTCOMES = (
    ir.Outcome(need="EDU_PERSISTENT_ABSENCE", name="EDU_PERSISTENT_ABSENCE", span=span(50),
               achieved=ir.Aggregate(fn="all", fact="attendance", window=last(3, "terms", consecutive=True),
                                     test=cmp(">=", ir.Arith(op="*", left=ir.Arith(
                                         op="/", left=ir.FieldRef(name="attended_sessions"),
                                         right=ir.FieldRef(name="possible_sessions")), right=lit(100)),
                                              ir.ParamRef(name="attendance_threshold"))),
               sustained=ir.Aggregate(fn="none", fact="exclusion",
                                      window=last(6, "months", anchor="closed", direction="after"))),
)


def framework(distinct_headlines: bool = False, minimum: int | None = None, **changes: Any) -> ir.Framework:
    count = ir.NeedCount(distinct_headlines=distinct_headlines)
    threshold: ir.Expr = lit(minimum) if minimum is not None else ir.ParamRef(name="minimum_needs")
    parts: dict[str, Any] = dict(
        header=ir.FrameworkHeader(id="test_fw", title="Test framework", phase="3", version="1.0"),
        parameters=PARAMETERS, fact_types=FACT_TYPES, roles=ROLES, needs=NEEDS, outcomes=OUTCOMES,
        headlines=(ir.Headline(code="EDUCATION", name="Getting a good education"),
                   ir.Headline(code="CRIME", name="Crime"), ir.Headline(code="HOUSING", name="Housing")),
        eligibility=ir.Eligibility(
            family_definition=ir.Or(args=(ir.Members(quant="any", role="dependent_child"),
                                          ir.Members(quant="any", role="expectant_parent"))),
            condition=cmp(">=", count, threshold), span=span(60)),
        claim=ir.ClaimRule(condition=ir.Call(fn="all_outcomes_sustained", args=()), span=span(70)),
        scores=(ir.Score(name="vulnerability", weights=(
            ir.ScoreWeight(target="EDUCATION", target_kind="headline", weight=2),
            ir.ScoreWeight(target="CRIME", target_kind="headline", weight=3),
            ir.ScoreWeight(target="EDU_PERSISTENT_ABSENCE", target_kind="need", weight=1)),
            bands=(ir.RagBand(rating="red", min_score=5), ir.RagBand(rating="amber", min_score=3),
                   ir.RagBand(rating="green", min_score=0))),),
    )
    parts.update(changes)
    return ir.Framework(**parts)


# Families -------------------------------------------------------------------------------------------

AS_OF = date(2023, 9, 1)
ALL_TIME = date(1900, 1, 1)


def covered(*fact_types: str, start: date = ALL_TIME, end: date = AS_OF) -> dict[str, Coverage]:
    names = fact_types or tuple(f.name for f in FACT_TYPES)
    return {n: Coverage(n, start, end, ("test feed",)) for n in names}


class FactMaker:
    """Builds facts with stable ids and a source trail."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, fact_type: str, person: str | None, day: date, end: date | None = None, **fields: Any) -> Fact:
        self.n += 1
        return Fact(fact_id=f"{fact_type[:3].upper()}-{self.n}", fact_type=fact_type, date=day, fields=fields,
                    person_id=person, source=f"{fact_type} feed", source_record_id=f"R{self.n}",
                    batch_id="b1", end_date=end)


def attendance(make: FactMaker, person: str, terms: list[tuple[date, date, int, int]]) -> list[Fact]:
    return [make("attendance", person, end, term_start=start, term_end=end, possible_sessions=possible,
                 attended_sessions=attended) for start, end, possible, attended in terms]


THREE_TERMS = [(date(2022, 9, 1), date(2022, 12, 20)), (date(2023, 1, 4), date(2023, 3, 31)),
               (date(2023, 4, 17), date(2023, 7, 21))]


def terms_at(rates: list[int | None]) -> list[tuple[date, date, int, int]]:
    """Attendance rows for autumn 2022, spring 2023, summer 2023 at the given % (None = term missing)."""
    return [(s, e, 100, r) for (s, e), r in zip(THREE_TERMS, rates) if r is not None]


def family(members: list[Member], facts: list[Fact], coverage: dict[str, Coverage] | None = None,
           case: CaseDates | None = None, family_id: str = "F1") -> FamilyInput:
    return FamilyInput(family_id=family_id, members=tuple(members), facts=tuple(facts),
                       coverage=covered() if coverage is None else coverage, case=case or CaseDates())


CHILD = Member("child1", date_of_birth=date(2012, 5, 1))
MUM = Member("mum", date_of_birth=date(1985, 2, 2))
