"""The syntax tree of a ``.hearth`` file: frozen, typed dataclasses, each carrying its :class:`Span`.

The tree is what the text says, nothing resolved: a bare name such as ``dependent_child`` stays a
:class:`Name` until the checker decides whether it is a role, a parameter, a rule or a code value.
``Span`` is excluded from equality (``compare=False``) so two parses of differently formatted text
compare equal when they mean the same thing, which is what the formatter's round-trip test needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Union


@dataclass(frozen=True)
class Span:
    """Where a construct was written: 1-based line and column, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<none>", 0, 0, 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


def _parens() -> bool:
    """Whether the author wrapped an expression in brackets: kept by the formatter (brackets a policy
    lead added for clarity stay), ignored by equality and by everything after parsing."""
    return field(default=False, compare=False, repr=False)


# --------------------------------------------------------------------------------------------------
# Expressions


@dataclass(frozen=True)
class Name:
    """A bare identifier in an expression or a list; the checker resolves what it names."""

    name: str
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class Number:
    value: int | float
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class Percent:
    value: int | float
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class Money:
    value: int | float
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class DateLit:
    value: date
    span: Span = _span()
    parens: bool = _parens()


DurationUnit = Literal["days", "weeks", "months", "years", "terms"]


@dataclass(frozen=True)
class DurationLit:
    amount: int | float
    unit: DurationUnit
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class StringLit:
    value: str
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class Unary:
    op: Literal["not", "-"]
    arg: Expr
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class BinOp:
    """``and``/``or`` and arithmetic ``+ - * /``."""

    op: Literal["and", "or", "+", "-", "*", "/"]
    left: Expr
    right: Expr
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class Compare:
    op: Literal["<", "<=", ">", ">=", "=", "!=", "in", "not in"]
    left: Expr
    right: Expr
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class CallExpr:
    fn: str
    args: tuple[Expr, ...]
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class AnchorDate:
    """``evaluation date``, ``attachment date``, ``closure date``, ``identification date``."""

    anchor: Literal["evaluation", "attachment", "closure", "identification"]
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class Window:
    """``last N unit`` / ``each of last N terms`` (kind ``each``) / ``N unit after closure``."""

    kind: Literal["last", "each", "after"]
    length: DurationLit | Name
    anchor: Literal["closure", "attachment", "identification"] | None = None
    word: Literal["in", "over"] = "in"
    span: Span = _span()


@dataclass(frozen=True)
class Quantified:
    """``any|no|every SUBJECT [of family] [where C] [WINDOW] [has C]``.

    The subject is a fact type (an aggregation) or a role (a member quantifier); the checker decides.
    """

    quant: Literal["any", "no", "every"]
    subject: Name
    of_family: bool = False
    where: Expr | None = None
    window: Window | None = None
    has: Expr | None = None
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class MemberQuantified:
    """``any member is ROLE`` (``role`` set) or ``no member has C`` (``has`` set)."""

    quant: Literal["any", "no", "every"]
    role: Name | None = None
    has: Expr | None = None
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class CountFacts:
    fact: Name
    of_family: bool = False
    where: Expr | None = None
    window: Window | None = None
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class CountMembers:
    role: Name | None = None
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class CountNeeds:
    """``count of needs [under H, ...]`` or ``count of distinct headlines``."""

    distinct_headlines: bool = False
    headlines: tuple[Name, ...] = ()
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class Aggregate:
    """``sum|min|max|average|latest|earliest [of] F.field`` and ``rate of F.a per F.b``."""

    fn: Literal["sum", "min", "max", "average", "latest", "earliest", "rate"]
    fact: Name
    field: Name
    per_fact: Name | None = None
    per_field: Name | None = None
    of_family: bool = False
    where: Expr | None = None
    window: Window | None = None
    explicit_of: bool = True
    span: Span = _span()
    parens: bool = _parens()


@dataclass(frozen=True)
class AllOutcomes:
    """``all needs have sustained outcomes`` / ``all needs have achieved outcomes``."""

    stage: Literal["achieved", "sustained"]
    span: Span = _span()
    parens: bool = _parens()


Expr = Union[
    Name, Number, Percent, Money, DateLit, DurationLit, BoolLit, StringLit, ListExpr, Unary, BinOp,
    Compare, CallExpr, AnchorDate, Quantified, MemberQuantified, CountFacts, CountMembers, CountNeeds,
    Aggregate, AllOutcomes,
]


# --------------------------------------------------------------------------------------------------
# Declarations


@dataclass(frozen=True)
class Citation:
    text: str
    url: str | None = None
    confidence: Literal["verified", "believed", "local"] | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Override:
    """``override ... label "..." [priority N]``: a deliberate replacement of an inherited definition."""

    label: str | None
    priority: int | float | None = None
    #: False when a ``label`` was written without the ``override`` keyword (an error the checker names)
    keyword: bool = True
    span: Span = _span()


@dataclass(frozen=True)
class Header:
    id: str
    title: str
    phase: str | None = None
    version: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    extends: str | None = None
    extends_path: str | None = None
    #: ``include "PATH"``: files or folders of declarations shared with other frameworks (e.g. the facts)
    includes: tuple[StringLit, ...] = ()
    citations: tuple[Citation, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class ParamValue:
    value: Expr
    effective_from: date
    citations: tuple[Citation, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class ParameterDecl:
    name: str
    unit: str | None
    description: str = ""
    values: tuple[ParamValue, ...] = ()
    citations: tuple[Citation, ...] = ()
    override: Override | None = None
    span: Span = _span()


@dataclass(frozen=True)
class FieldDecl:
    name: str
    type: str
    codes: tuple[str, ...] | None = None
    description: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class FactDecl:
    name: str
    subject: Literal["person", "family"]
    description: str = ""
    fields: tuple[FieldDecl, ...] = ()
    dated_by: Name | None = None
    until: Name | None = None
    recording: Literal["events", "periodic", "states"] | None = None
    period: str | None = None
    citations: tuple[Citation, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class RoleDecl:
    name: str
    title: str
    condition: Expr
    citations: tuple[Citation, ...] = ()
    override: Override | None = None
    span: Span = _span()


@dataclass(frozen=True)
class RuleDecl:
    name: str
    subject: Literal["person", "family"]
    condition: Expr
    description: str = ""
    citations: tuple[Citation, ...] = ()
    override: Override | None = None
    span: Span = _span()


@dataclass(frozen=True)
class FamilyDefinitionDecl:
    condition: Expr
    citations: tuple[Citation, ...] = ()
    override: Override | None = None
    span: Span = _span()


@dataclass(frozen=True)
class HeadlineDecl:
    code: str
    title: str
    aliases: tuple[str, ...] = ()
    citations: tuple[Citation, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class AppliesTo:
    """``for each ROLE`` (kind role), ``for each member`` (member) or ``for family`` (family)."""

    kind: Literal["role", "member", "family"]
    role: Name | None = None
    span: Span = _span()


@dataclass(frozen=True)
class NeedDecl:
    code: str
    title: str
    headline: Name
    applies_to: AppliesTo | None = None
    condition: Expr | None = None
    description: str = ""
    citations: tuple[Citation, ...] = ()
    override: Override | None = None
    span: Span = _span()


@dataclass(frozen=True)
class OutcomeDecl:
    need: Name
    applies_to: AppliesTo | None = None
    achieved: Expr | None = None
    sustained: Expr | None = None
    description: str = ""
    citations: tuple[Citation, ...] = ()
    override: Override | None = None
    span: Span = _span()


@dataclass(frozen=True)
class EligibilityDecl:
    condition: Expr | None = None
    uses_family_definition: bool = False
    citations: tuple[Citation, ...] = ()
    override: Override | None = None
    span: Span = _span()


@dataclass(frozen=True)
class ClaimDecl:
    condition: Expr | None = None
    citations: tuple[Citation, ...] = ()
    override: Override | None = None
    span: Span = _span()


@dataclass(frozen=True)
class WeightDecl:
    target: Name
    weight: int | float
    span: Span = _span()


@dataclass(frozen=True)
class BandDecl:
    rating: Literal["red", "amber", "green"]
    min_score: int | float
    span: Span = _span()


@dataclass(frozen=True)
class ScoreDecl:
    name: str
    weights: tuple[WeightDecl, ...] = ()
    bands: tuple[BandDecl, ...] = ()
    citations: tuple[Citation, ...] = ()
    override: Override | None = None
    span: Span = _span()


@dataclass(frozen=True)
class StateDecl:
    name: str
    initial: bool = False
    final: bool = False
    description: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class TransitionDecl:
    name: str
    sources: tuple[Name, ...]
    target: Name
    roles: tuple[Name, ...] = ()
    automatic: bool = False
    guards: tuple[Name, ...] = ()
    requires: tuple[Name, ...] = ()
    reasons: tuple[Name, ...] = ()
    description: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class TimerAction:
    """``take TRANSITION [reason R]``."""

    transition: Name
    reason: Name | None = None
    span: Span = _span()


@dataclass(frozen=True)
class TimerDecl:
    name: str
    states: tuple[Name, ...]
    length: DurationLit | Name
    repeat: bool = False
    take: TimerAction | None = None
    restart_on: tuple[Name, ...] = ()
    fail_on: tuple[Name, ...] = ()
    fail_take: TimerAction | None = None
    description: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class LifecycleDecl:
    actor_roles: tuple[Name, ...] = ()
    states: tuple[StateDecl, ...] = ()
    closure_reasons: tuple[Name, ...] = ()
    transitions: tuple[TransitionDecl, ...] = ()
    timers: tuple[TimerDecl, ...] = ()
    citations: tuple[Citation, ...] = ()
    span: Span = _span()
    #: the roles that may override a criterion's result for a family (``overrides by ROLE, ...``)
    override_roles: tuple[Name, ...] = ()


Declaration = Union[
    Header, ParameterDecl, FactDecl, RoleDecl, RuleDecl, FamilyDefinitionDecl, HeadlineDecl, NeedDecl,
    OutcomeDecl, EligibilityDecl, ClaimDecl, ScoreDecl, LifecycleDecl,
]


@dataclass(frozen=True)
class Module:
    """One parsed ``.hearth`` file."""

    file: str
    declarations: tuple[Declaration, ...]
    #: ``(line, column, text)`` of every ``#`` comment, for the formatter
    comments: tuple[tuple[int, int, str], ...] = field(default=(), compare=False)
