"""The compiled form of a framework: what :mod:`dsl` produces and the engine evaluates.

The IR is plain, JSON-serialisable pydantic data. That is what lets the engine stay ignorant of the
rule language (``dsl -> engine``), lets a workflow activity or an auditor's replay load a framework
from its stored JSON without the parser, and gives every decision a content hash to point at.

Conventions:
- Every rule-like node carries a :class:`Span` (file, line, column) and optional :class:`Citation`s, so
  explanations can cite "phase3/needs.hearth:42" and the guidance paragraph.
- Durations are ``Duration(amount, unit)``; percentages are stored as numbers 0-100 with unit "percent".
- Three-valued results are evaluated by the engine; the IR only says *what* to compute.

Changes here are additive: new node kinds get a new ``kind`` literal; existing fields keep their meaning.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------------------------------
# Provenance


class Span(_Node):
    """Where a construct was written: ``file:line:col`` (1-based), end optional."""

    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


Confidence = Literal["verified", "believed", "local"]


class Citation(_Node):
    """A guidance reference: a paragraph, a document title, a URL; and how sure we are of it."""

    text: str
    url: str | None = None
    confidence: Confidence | None = None


# --------------------------------------------------------------------------------------------------
# Units, values, parameters

Unit = Literal[
    "percent", "days", "weeks", "months", "years", "terms", "money", "count", "number", "date",
    "boolean", "text", "code",
]
DURATION_UNITS: tuple[str, ...] = ("days", "weeks", "months", "years", "terms")


class Duration(_Node):
    amount: int
    unit: Literal["days", "weeks", "months", "years", "terms"]

    def __str__(self) -> str:
        return f"{self.amount} {self.unit if self.amount != 1 else self.unit[:-1]}"


Scalar = Union[bool, int, float, date, Duration, str, None]


class DatedValue(_Node):
    """One value of a parameter, in force from ``effective_from`` until the next later value."""

    effective_from: date
    value: Scalar
    citation: Citation | None = None
    span: Span | None = None


class Parameter(_Node):
    name: str
    unit: Unit
    description: str = ""
    values: tuple[DatedValue, ...]
    citations: tuple[Citation, ...] = ()
    span: Span | None = None
    #: label of the local override that replaced the national value, if any
    override_label: str | None = None


# --------------------------------------------------------------------------------------------------
# Fact types


FieldType = Literal["date", "number", "percent", "count", "money", "text", "code", "boolean", "duration"]


class FieldDef(_Node):
    name: str
    type: FieldType
    #: allowed codes for ``code`` fields (None = any code)
    codes: tuple[str, ...] | None = None
    description: str = ""
    span: Span | None = None


class FactType(_Node):
    """A kind of fact the rules read, e.g. ``attendance`` or ``offence``.

    ``recording`` decides what a *missing* record means:
    - ``events``: records are events; none in a period the source covers means "none happened".
      A window reaching outside the source's coverage makes aggregates unknown.
    - ``periodic``: one record per period (``period`` = terms/months); a missing period inside a window
      makes the aggregate unknown (missing attendance is never 0%).
    - ``states``: records open/close a state (``date_field`` start, ``end_field`` end); the latest
      state on a date is read; no record at all means unknown.

    Refined by the evaluator (engine.rules.aggregates): a ``states`` register lists only people in a
    state, so no record covering a day the fact type's coverage includes means "in none of its states"
    (unknown stays for days outside coverage). An aggregate with no window reads as far as records go:
    absence proves nothing only outside coverage, or when coverage ends before the evaluation date.
    """

    name: str
    subject: Literal["person", "family"] = "person"
    fields: tuple[FieldDef, ...]
    date_field: str
    end_field: str | None = None
    recording: Literal["events", "periodic", "states"] = "events"
    period: Literal["terms", "months", "weeks", "days"] | None = None
    description: str = ""
    span: Span | None = None

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)


# --------------------------------------------------------------------------------------------------
# Expressions


class Lit(_Node):
    kind: Literal["lit"] = "lit"
    value: Scalar
    unit: Unit | None = None


class ParamRef(_Node):
    kind: Literal["param"] = "param"
    name: str


class PersonAttr(_Node):
    """An attribute of the person in scope: ``age``, ``date_of_birth``, ``sex``, or a declared extra."""

    kind: Literal["person_attr"] = "person_attr"
    name: str


class FamilyAttr(_Node):
    """An attribute of the family in scope: ``size``, ``children``, ``adults``..."""

    kind: Literal["family_attr"] = "family_attr"
    name: str


class FieldRef(_Node):
    """A field of the fact in scope (inside ``where`` / ``has`` of an aggregate)."""

    kind: Literal["field"] = "field"
    name: str


class AsOf(_Node):
    """The evaluation date, or a case anchor date (``attached``, ``closed``, ``identified``)."""

    kind: Literal["as_of"] = "as_of"
    anchor: Literal["as_of", "identified", "attached", "closed"] = "as_of"


class Not(_Node):
    kind: Literal["not"] = "not"
    arg: Expr


class And(_Node):
    kind: Literal["and"] = "and"
    args: tuple[Expr, ...]


class Or(_Node):
    kind: Literal["or"] = "or"
    args: tuple[Expr, ...]


class Compare(_Node):
    kind: Literal["cmp"] = "cmp"
    op: Literal["<", "<=", ">", ">=", "=", "!=", "in", "not in"]
    left: Expr
    right: Expr


class Arith(_Node):
    kind: Literal["arith"] = "arith"
    op: Literal["+", "-", "*", "/"]
    left: Expr
    right: Expr


class ListLit(_Node):
    """A list of codes/values, for ``in`` comparisons."""

    kind: Literal["list"] = "list"
    items: tuple[Expr, ...]


class Call(_Node):
    """A built-in function from the engine's registry (``engine.rules.functions``)."""

    kind: Literal["call"] = "call"
    fn: str
    args: tuple[Expr, ...]


class Window(_Node):
    """A time window relative to an anchor date.

    ``last 12 months`` = Window(length=12 months, anchor=as_of, direction=before).
    ``for 6 months after closure`` = Window(length=6 months, anchor=closed, direction=after).
    ``length`` may be a parameter reference (must have a duration unit).
    ``consecutive`` (terms/periodic facts): every period in the window must have a record, else unknown.
    """

    length: Duration | ParamRef
    anchor: Literal["as_of", "identified", "attached", "closed"] = "as_of"
    direction: Literal["before", "after"] = "before"
    consecutive: bool = False


AggFn = Literal["any", "all", "none", "count", "sum", "min", "max", "latest", "earliest", "average", "rate"]


class Aggregate(_Node):
    """An aggregation over facts of one type for the subject in scope.

    - ``any``/``none``/``all``: boolean; ``test`` is the per-fact predicate (for ``all``: every fact
      in the window satisfies it; ``any`` with no test = at least one fact).
    - ``count``: number of facts satisfying ``where``.
    - ``sum``/``min``/``max``/``average``/``latest``/``earliest``: over ``field`` of facts satisfying ``where``.
    - ``rate``: ``sum(field) / sum(per_field) * 100`` (e.g. attended / possible sessions, in percent).
    ``scope`` says whose facts: the person in scope, or the whole family (all members' + family facts).
    """

    kind: Literal["agg"] = "agg"
    fn: AggFn
    fact: str
    field: str | None = None
    per_field: str | None = None
    where: Expr | None = None
    test: Expr | None = None
    window: Window | None = None
    scope: Literal["person", "family"] = "person"


class Members(_Node):
    """A quantifier over family members (optionally those holding ``role``): family-level only."""

    kind: Literal["members"] = "members"
    quant: Literal["any", "all", "none", "count"]
    role: str | None = None
    test: Expr | None = None


class HasRole(_Node):
    """Three-valued: the person in scope holds ``role`` (its definition is evaluated)."""

    kind: Literal["has_role"] = "has_role"
    role: str


class RuleRef(_Node):
    """The three-valued result of another named rule: a need, outcome, role or derived rule."""

    kind: Literal["rule"] = "rule"
    name: str


class NeedCount(_Node):
    """How many needs are met for the family: raw count, or count of distinct headlines.

    ``certain_only``: count only met needs (the default). Unknown needs make the comparison that uses
    this count unknown when they could change its outcome (the evaluator handles that).
    """

    kind: Literal["need_count"] = "need_count"
    distinct_headlines: bool = False
    headlines: tuple[str, ...] | None = None


Expr = Annotated[
    Union[
        Lit, ParamRef, PersonAttr, FamilyAttr, FieldRef, AsOf, Not, And, Or, Compare, Arith, ListLit,
        Call, Aggregate, Members, HasRole, RuleRef, NeedCount,
    ],
    Field(discriminator="kind"),
]

for _model in (Not, And, Or, Compare, Arith, ListLit, Call, Aggregate, Members):
    _model.model_rebuild()


# --------------------------------------------------------------------------------------------------
# Rules


class _Rule(_Node):
    name: str
    description: str = ""
    citations: tuple[Citation, ...] = ()
    span: Span | None = None
    override_label: str | None = None
    #: the display title written in the rule's header (``need X "Title"``), if any
    title: str = ""


class Role(_Rule):
    """A family role (dependent_child, adult, parent_carer, expectant_parent): a person-level predicate."""

    condition: Expr


class DerivedRule(_Rule):
    """A named helper rule, person- or family-level, reusable by needs and outcomes."""

    subject: Literal["person", "family"] = "family"
    condition: Expr


class Headline(_Node):
    code: str
    name: str
    aliases: tuple[str, ...] = ()
    span: Span | None = None


class Need(_Rule):
    """An indicator. ``subject=person``: evaluated for each member holding ``role`` (any role if None);
    the family has the need when any such member does. ``subject=family``: evaluated once."""

    headline: str
    subject: Literal["person", "family"] = "person"
    role: str | None = None
    condition: Expr
    local: bool = False


class Outcome(_Rule):
    """What success means for one need: ``achieved`` and, optionally, ``sustained`` (both three-valued)."""

    need: str
    achieved: Expr
    sustained: Expr | None = None
    subject: Literal["person", "family"] = "person"
    role: str | None = None


class Eligibility(_Node):
    """The family is eligible when ``family_definition`` and ``condition`` are met."""

    family_definition: Expr
    condition: Expr
    citations: tuple[Citation, ...] = ()
    span: Span | None = None
    #: label of the local override that replaced the national rule, if any
    override_label: str | None = None


class ClaimRule(_Node):
    """When a family's case may be claimed. ``condition`` may use ``all_outcomes_sustained()`` etc."""

    condition: Expr
    alternatives: tuple[DerivedRule, ...] = ()
    citations: tuple[Citation, ...] = ()
    span: Span | None = None
    #: label of the local override that replaced the national rule, if any
    override_label: str | None = None


class ScoreWeight(_Node):
    """``weight`` points when ``target`` (a need code or headline code) is met."""

    target: str
    target_kind: Literal["need", "headline"]
    weight: float


class RagBand(_Node):
    rating: Literal["red", "amber", "green"]
    min_score: float


class Score(_Node):
    name: str
    weights: tuple[ScoreWeight, ...]
    bands: tuple[RagBand, ...] = ()
    span: Span | None = None


# --------------------------------------------------------------------------------------------------
# Lifecycle (what the workflow engine interprets)


class LifecycleState(_Node):
    name: str
    initial: bool = False
    final: bool = False
    description: str = ""
    span: Span | None = None


class Transition(_Node):
    """``name`` moves a case ``sources -> target``; triggered by a user in ``roles`` (actor roles such as
    keyworker, manager, auditor) or automatically (``automatic=True``: by a timer or a guard).
    ``guard`` names rules (e.g. ``eligible``, ``claimable``) that must be met; ``requires`` names case
    fields that must be present (``lead_practitioner``, ``assessment``, ``plan``)."""

    name: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...] = ()
    automatic: bool = False
    guard: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    description: str = ""
    span: Span | None = None


class Timer(_Node):
    """A timer that starts when a case enters ``state`` and, when it fires, takes ``transition`` (or just
    raises a flag such as "review due" when ``transition`` is None). ``restart_on`` lists fact types whose
    arrival during the timer (a regression, e.g. a new incident) restarts it; ``fail_on`` fails it,
    taking ``fail_transition``."""

    name: str
    state: str
    after: Duration | ParamRef
    transition: str | None = None
    repeat: bool = False
    restart_on: tuple[str, ...] = ()
    fail_on: tuple[str, ...] = ()
    fail_transition: str | None = None
    description: str = ""
    span: Span | None = None
    #: every state the timer runs in (``timer review_due in attached, tracking ...``); ``state`` is the first
    states: tuple[str, ...] = ()
    #: closure reason given when the timer takes ``transition`` (``take close reason no_longer_eligible``)
    reason: str | None = None
    #: closure reason given when a ``fail_on`` fact takes ``fail_transition``
    fail_reason: str | None = None


class Lifecycle(_Node):
    states: tuple[LifecycleState, ...]
    transitions: tuple[Transition, ...]
    timers: tuple[Timer, ...] = ()
    actor_roles: tuple[str, ...] = ()
    closure_reasons: tuple[str, ...] = ()
    span: Span | None = None
    #: the roles that may override a criterion's result for a family. Left out of the JSON when there are
    #: none, so a framework written before the clause existed keeps its content hash.
    override_roles: tuple[str, ...] = Field(default=(), exclude_if=lambda roles: not roles)


# --------------------------------------------------------------------------------------------------
# The framework


class FrameworkHeader(_Node):
    id: str
    title: str
    phase: str
    version: str
    effective_from: date | None = None
    effective_to: date | None = None
    citations: tuple[Citation, ...] = ()
    extends: str | None = None
    span: Span | None = None


class Framework(_Node):
    """A whole compiled framework (a national framework, or a local plan merged over one)."""

    header: FrameworkHeader
    parameters: tuple[Parameter, ...] = ()
    fact_types: tuple[FactType, ...] = ()
    roles: tuple[Role, ...] = ()
    rules: tuple[DerivedRule, ...] = ()
    headlines: tuple[Headline, ...] = ()
    needs: tuple[Need, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    eligibility: Eligibility | None = None
    claim: ClaimRule | None = None
    scores: tuple[Score, ...] = ()
    lifecycle: Lifecycle | None = None
    #: the framework source files, path -> text, kept so a decision can be replayed years later
    sources: dict[str, str] = Field(default_factory=dict)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of this framework (including its source texts)."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def canonical_json(self) -> str:
        return self.model_dump_json(exclude_none=False, round_trip=True)

    # Look-ups -------------------------------------------------------------------------------------
    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def fact_type(self, name: str) -> FactType | None:
        return next((f for f in self.fact_types if f.name == name), None)

    def need(self, code: str) -> Need | None:
        return next((n for n in self.needs if n.name == code), None)

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)
