"""A small framework built as IR (the shape of docs/language-sketch.md) and a family source for tests.

The framework has one family-level need (a recent mental health referral), whose outcome is achieved
when the family engages with the service and sustained when no member offends for six months. Its
lifecycle is the sketch's: identified -> attached -> tracking -> sustaining -> claimable -> claimed ->
closed, with the sustainment timer restarted by an offence.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import sqlalchemy as sa

from engine.rules import ir
from engine.rules.inputs import Coverage, Fact, FamilyInput, Member


def _win(months: int) -> ir.Window:
    return ir.Window(length=ir.Duration(amount=months, unit="months"))


def _referral(status: str, months: int) -> ir.Aggregate:
    return ir.Aggregate(
        fn="any", fact="health_referral", scope="family", window=_win(months),
        where=ir.Compare(op="=", left=ir.FieldRef(name="status"), right=ir.Lit(value=status, unit="code")),
    )


LIFECYCLE = ir.Lifecycle(
    actor_roles=("keyworker", "manager", "auditor", "system"),
    states=(
        ir.LifecycleState(name="identified", initial=True, description="Eligible, not yet attached"),
        ir.LifecycleState(name="attached"),
        ir.LifecycleState(name="tracking"),
        ir.LifecycleState(name="sustaining"),
        ir.LifecycleState(name="claimable"),
        ir.LifecycleState(name="claimed"),
        ir.LifecycleState(name="closed", final=True),
    ),
    closure_reasons=("outcomes_sustained", "moved_out_of_area", "declined_support", "no_longer_eligible", "claimed"),
    transitions=(
        ir.Transition(name="attach", sources=("identified",), target="attached", roles=("manager",),
                      requires=("lead_practitioner",)),
        ir.Transition(name="start_plan", sources=("attached",), target="tracking", roles=("keyworker",),
                      requires=("assessment", "plan")),
        ir.Transition(name="outcomes_achieved", sources=("tracking",), target="sustaining", automatic=True,
                      guard=("all_outcomes_achieved",)),
        ir.Transition(name="regress", sources=("sustaining",), target="tracking", automatic=True),
        ir.Transition(name="sustained", sources=("sustaining",), target="claimable", automatic=True,
                      guard=("claimable",)),
        ir.Transition(name="sign_off", sources=("claimable",), target="claimed", roles=("auditor",),
                      guard=("claimable",)),
        ir.Transition(name="close", sources=("identified", "attached", "tracking", "sustaining", "claimable",
                                             "claimed"), target="closed", roles=("manager", "keyworker"),
                      requires=("reason",)),
    ),
    timers=(
        ir.Timer(name="review_due", state="attached", states=("attached", "tracking"), after=ir.Duration(amount=3, unit="months"),
                 repeat=True, description="Case review due"),
        ir.Timer(name="sustainment", state="sustaining", after=ir.ParamRef(name="sustainment_period"),
                 transition="sustained", restart_on=("offence", "domestic_abuse_incident")),
        ir.Timer(name="claim_window", state="claimable", after=ir.Duration(amount=3, unit="months"),
                 description="Claim window closing"),
        ir.Timer(name="inactivity", state="identified", after=ir.Duration(amount=6, unit="months"),
                 transition="close", reason="no_longer_eligible"),
    ),
)


def framework(lifecycle: ir.Lifecycle = LIFECYCLE, framework_id: str = "test_phase3") -> ir.Framework:
    code = lambda *codes: codes  # noqa: E731 - reads as the DSL's code lists
    return ir.Framework(
        header=ir.FrameworkHeader(id=framework_id, title="Workflow test framework", phase="3", version="1.0.0"),
        parameters=(
            ir.Parameter(name="minimum_needs", unit="count",
                         values=(ir.DatedValue(effective_from=date(2000, 1, 1), value=1),)),
            ir.Parameter(name="sustainment_period", unit="months",
                         values=(ir.DatedValue(effective_from=date(2000, 1, 1),
                                               value=ir.Duration(amount=6, unit="months")),)),
        ),
        fact_types=(
            ir.FactType(name="health_referral", recording="events", date_field="referral_date", fields=(
                ir.FieldDef(name="referral_date", type="date"),
                ir.FieldDef(name="status", type="code", codes=code("referred", "engaged", "declined")),
            )),
            ir.FactType(name="offence", recording="events", date_field="offence_date", fields=(
                ir.FieldDef(name="offence_date", type="date"),
                ir.FieldDef(name="outcome", type="code", codes=code("proven", "caution", "nfa", "pending")),
            )),
        ),
        roles=(ir.Role(name="adult", condition=ir.Compare(op=">=", left=ir.PersonAttr(name="age"),
                                                          right=ir.Lit(value=18, unit="years"))),),
        headlines=(ir.Headline(code="HEALTH", name="Improved mental and physical health"),),
        needs=(ir.Need(name="HEALTH_MENTAL", headline="HEALTH", subject="family",
                       condition=_referral("referred", 12)),),
        outcomes=(ir.Outcome(name="HEALTH_MENTAL", need="HEALTH_MENTAL", subject="family", achieved=_referral("engaged", 12),
                             sustained=ir.Aggregate(fn="none", fact="offence", scope="family", window=_win(6))),),
        eligibility=ir.Eligibility(
            family_definition=ir.Members(quant="any", role="adult"),
            condition=ir.Compare(op=">=", left=ir.NeedCount(), right=ir.ParamRef(name="minimum_needs")),
        ),
        claim=ir.ClaimRule(condition=ir.Call(fn="all_outcomes_sustained", args=())),
        lifecycle=lifecycle,
    )


class FamilySource:
    """Families known to a test, by id; tests add facts as the feeds would. A real data source for the
    activities (``CaseActivities(family_loader=source.load)``), not a stand-in for the evaluator."""

    def __init__(self) -> None:
        self.families: dict[str, FamilyInput] = {}
        #: the last day the feeds cover (the newest extract's date); None: always up to the evaluation date
        self.covered_to: date | None = None
        #: every (family, as_of) the activities asked for, in order
        self.loads: list[tuple[str, date]] = []

    def add_family(self, family_id: str, referred_on: date, covered_from: date) -> FamilyInput:
        member = Member(person_id=f"{family_id}-P1", date_of_birth=date(1985, 3, 1))
        family = FamilyInput(family_id=family_id, members=(member,), facts=())
        self.families[family_id] = family
        self.covered_from = covered_from
        self.add_fact(family_id, "health_referral", referred_on, status="referred")
        return family

    def add_fact(self, family_id: str, fact_type: str, on: date, **fields: str) -> Fact:
        family = self.families[family_id]
        person = family.members[0].person_id
        date_field = {"health_referral": "referral_date", "offence": "offence_date"}[fact_type]
        fact = Fact(fact_id=f"{family_id}-{fact_type}-{len(family.facts)}", fact_type=fact_type, date=on,
                    fields={date_field: on, **fields}, person_id=person, source="test feed")
        self.families[family_id] = replace(family, facts=(*family.facts, fact))
        return fact

    def load(self, _engine: sa.Engine, family_id: str, as_of: date) -> FamilyInput | None:
        self.loads.append((family_id, as_of))
        family = self.families.get(family_id)
        if family is None:
            return None
        end = min(as_of, self.covered_to) if self.covered_to else as_of
        coverage = {t: Coverage(fact_type=t, start=self.covered_from, end=end)
                    for t in ("health_referral", "offence")}
        return replace(family, coverage=coverage)


def ready_families(count: int, prefix: str = "K", today: date | None = None) -> FamilySource:
    """``count`` families referred a month ago that engaged today: eligible, outcome achieved."""
    from datetime import timedelta

    today = today or date.today()
    source = FamilySource()
    for i in range(count):
        source.add_family(f"{prefix}{i}", today - timedelta(days=30), covered_from=today - timedelta(days=1000))
        source.add_fact(f"{prefix}{i}", "health_referral", today, status="engaged")
    return source


#: the lifecycle without the sustainment timer: ``sustained`` fires as soon as the claim rule is met
#: (for real-time tests on the dev server, where six months cannot be skipped)
QUICK_LIFECYCLE = LIFECYCLE.model_copy(update={"timers": tuple(t for t in LIFECYCLE.timers if t.name != "sustainment")})
