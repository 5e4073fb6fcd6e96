"""Small frameworks written directly as IR, and families built as FamilyInput, for the decision tests.

Two versions of one framework differ the way a phase change or a local plan does: a stricter
attendance threshold, and one more need. ``diff`` must find exactly the families these changes move.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable

from engine.rules import ir
from engine.rules.inputs import Coverage, Fact, FamilyInput, Member

FILE = "test_framework/needs.hearth"
SOURCE = "# synthetic framework for decision tests\nneed EDU_PERSISTENT_ABSENCE ...\n"
AS_OF = date(2023, 9, 1)


def _span(line: int) -> ir.Span:
    return ir.Span(file=FILE, line=line, column=1)


def _param(name: str, unit: str, value, since: date = date(2015, 9, 1)) -> ir.Parameter:
    return ir.Parameter(name=name, unit=unit, values=(ir.DatedValue(effective_from=since, value=value),),
                        span=_span(1))


FACT_TYPES = (
    ir.FactType(name="attendance", recording="periodic", period="terms", date_field="term_end", fields=(
        ir.FieldDef(name="term_start", type="date"), ir.FieldDef(name="term_end", type="date"),
        ir.FieldDef(name="possible_sessions", type="count"), ir.FieldDef(name="attended_sessions", type="count"))),
    ir.FactType(name="offence", recording="events", date_field="offence_date", fields=(
        ir.FieldDef(name="offence_date", type="date"),
        ir.FieldDef(name="outcome", type="code", codes=("proven", "caution", "nfa", "pending")))),
    ir.FactType(name="domestic_abuse_incident", recording="events", date_field="incident_date", fields=(
        ir.FieldDef(name="incident_date", type="date"),
        ir.FieldDef(name="involvement", type="code", codes=("victim", "perpetrator", "child_present")))),
)

AGE = ir.PersonAttr(name="age")


def _window(amount: int | None = None, unit: str = "months", param: str | None = None) -> ir.Window:
    return ir.Window(length=ir.ParamRef(name=param) if param else ir.Duration(amount=amount, unit=unit))


def _needs(include_da: bool) -> tuple[ir.Need, ...]:
    needs = [
        ir.Need(name="EDU_PERSISTENT_ABSENCE", description="Persistent absence", headline="EDUCATION",
                role="dependent_child", span=_span(10),
                citations=(ir.Citation(text="Guidance ch.4: persistent absence", confidence="believed"),),
                condition=ir.Compare(op="<", left=ir.Aggregate(
                    fn="rate", fact="attendance", field="attended_sessions", per_field="possible_sessions",
                    window=_window(3, "terms")), right=ir.ParamRef(name="attendance_threshold"))),
        ir.Need(name="CRIME_OFFENDING", description="Offending in the last 12 months", headline="CRIME",
                span=_span(20), condition=ir.Aggregate(
                    fn="any", fact="offence", window=_window(param="offending_window"),
                    where=ir.Compare(op="in", left=ir.FieldRef(name="outcome"), right=ir.ListLit(items=(
                        ir.Lit(value="proven", unit="code"), ir.Lit(value="caution", unit="code")))))),
    ]
    if include_da:
        needs.append(ir.Need(
            name="DA_INCIDENT", description="Domestic abuse in the last 12 months", headline="DOMESTIC_ABUSE",
            span=_span(30), citations=(ir.Citation(text="Guidance ch.4: safe from domestic abuse"),),
            condition=ir.Aggregate(fn="any", fact="domestic_abuse_incident", window=_window(12))))
    return tuple(needs)


def framework(version: str = "1", attendance_threshold: float = 90, include_da: bool = False) -> ir.Framework:
    """The test framework; later versions tighten attendance and add a domestic-abuse need."""
    headlines = [ir.Headline(code="EDUCATION", name="Getting a good education"),
                 ir.Headline(code="CRIME", name="Families diverted from crime")]
    if include_da:
        headlines.append(ir.Headline(code="DOMESTIC_ABUSE", name="Safe from domestic abuse"))
    return ir.Framework(
        header=ir.FrameworkHeader(id="decisions_test", title="Decisions test framework", phase="3",
                                  version=version),
        parameters=(_param("attendance_threshold", "percent", attendance_threshold),
                    _param("offending_window", "months", ir.Duration(amount=12, unit="months")),
                    _param("minimum_needs", "count", 2)),
        fact_types=FACT_TYPES,
        roles=(ir.Role(name="dependent_child", condition=ir.Compare(op="<", left=AGE, right=ir.Lit(value=16))),
               ir.Role(name="adult", condition=ir.Compare(op=">=", left=AGE, right=ir.Lit(value=18)))),
        headlines=tuple(headlines),
        needs=_needs(include_da),
        outcomes=(ir.Outcome(need="CRIME_OFFENDING", name="CRIME_OFFENDING", span=_span(40), achieved=ir.Aggregate(
            fn="none", fact="offence", window=_window(6))),),
        eligibility=ir.Eligibility(
            family_definition=ir.Members(quant="any", role="dependent_child"), span=_span(50),
            condition=ir.Compare(op=">=", left=ir.NeedCount(), right=ir.ParamRef(name="minimum_needs")),
            citations=(ir.Citation(text="Guidance ch.4: a minimum of family needs", confidence="verified"),)),
        claim=ir.ClaimRule(condition=ir.Call(fn="all_outcomes_sustained", args=())),
        sources={FILE: SOURCE + f"# version {version} threshold {attendance_threshold}\n"},
    )


COVERAGE_START = date(2019, 9, 1)


def _terms(child: str, rates: Iterable[float], feed: str = "school_census") -> list[Fact]:
    """One attendance fact per term for the three terms before ``AS_OF`` (and two more before that)."""
    terms = [(date(2022, 1, 1), date(2022, 3, 31)), (date(2022, 4, 1), date(2022, 8, 31)),
             (date(2022, 9, 1), date(2022, 12, 31)), (date(2023, 1, 1), date(2023, 3, 31)),
             (date(2023, 4, 1), date(2023, 8, 31))]
    facts = []
    for (start, end), rate in zip(terms, rates):
        facts.append(Fact(
            fact_id=f"{feed}:{child}:{end.isoformat()}", fact_type="attendance", date=end, person_id=child,
            fields={"term_start": start, "term_end": end, "possible_sessions": 100,
                    "attended_sessions": int(round(rate))},
            source=feed, source_record_id=child, batch_id="B1"))
    return facts


def family(family_id: str, *, attendance: float = 95, offences: int = 0, da: bool = False,
           children: int = 1) -> FamilyInput:
    """A family with a parent and ``children`` school-age children, and the facts asked for."""
    parent = Member(person_id=f"{family_id}-P1", date_of_birth=date(1985, 3, 1))
    kids = [Member(person_id=f"{family_id}-C{i}", date_of_birth=date(2012, 5, i + 1)) for i in range(children)]
    facts: list[Fact] = []
    for kid in kids:
        facts += _terms(kid.person_id, [attendance] * 5)
    for n in range(offences):
        day = date(2023, 2, 1 + n)
        facts.append(Fact(fact_id=f"police:{family_id}:{n}", fact_type="offence", date=day,
                          person_id=parent.person_id, fields={"offence_date": day, "outcome": "proven"},
                          source="police", source_record_id=parent.person_id, batch_id="B1"))
    if da:
        day = date(2023, 5, 5)
        facts.append(Fact(fact_id=f"police_da:{family_id}", fact_type="domestic_abuse_incident", date=day,
                          person_id=parent.person_id, fields={"incident_date": day, "involvement": "victim"},
                          source="police", source_record_id=parent.person_id, batch_id="B1"))
    coverage = {t: Coverage(t, COVERAGE_START, AS_OF, ("test",))
                for t in ("attendance", "offence", "domestic_abuse_incident")}
    return FamilyInput(family_id=family_id, members=(parent, *kids), facts=tuple(facts), coverage=coverage)


def borough() -> list[FamilyInput]:
    """Eight families; between version 1 and version 2 exactly F04, F05 and F08 change."""
    return [
        family("F01", attendance=80, offences=1),           # two needs: eligible under both versions
        family("F02", attendance=88, offences=1),           # absence and offending: eligible in both
        family("F03", attendance=88),                       # one need (absence) under both versions
        family("F04", attendance=92, offences=1),           # v2 (95%) adds absence: becomes eligible
        family("F05", attendance=97, offences=1, da=True),  # v2 adds DA need: becomes eligible
        family("F06", attendance=99),                       # no needs anywhere
        family("F07", attendance=70, children=2),           # one need
        family("F08", attendance=93, da=True),              # v2: absence + DA -> eligible
    ]
