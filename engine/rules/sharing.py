"""Person-level results shared between families: computed once per "shape" of member, not per member.

In a borough most members have no facts of the types a given rule reads: an adult has no attendance,
most people no offences. For such a member, a person-level rule's result depends only on things many
members share - the rule, the evaluation date (and so the parameters in force), the feeds' coverage,
the case dates when the rule reads them, and the person's age, date of birth or sex when it reads
those - plus the person id it is recorded under. Bulk evaluation computes such a result once per
shape and stamps it with each member's id, which is exact:

- :func:`footprints` reads each rule's IR and lists what it can read: fact types, member attributes,
  case dates, and the person rules it refers to (its role, for a need). A rule that can read anything
  else about the family - other members, a family-scope aggregate, a family-level rule, family
  attributes, need counts, outcomes, person attributes other than age, date of birth and sex, an
  expression kind this module does not know - has no footprint and is never shared.
- The referenced person rules are evaluated for the member first (results are memoised, so this changes
  nothing) and their values and parameter uses join the key; a referenced result that cites evidence or
  is unknown stops sharing for the member.
- A result is only shared when the rule's aggregates select none of the member's facts - the member has
  no fact of the footprint's types, or none inside the windows the rule reads (:func:`read_ranges`; an
  aggregate that selects nothing reads the same whatever lies outside its window) - so it cites no
  evidence; when it is not unknown, so it carries no reasons (which name the person); and when it has
  no trace, detail or override (only bulk evaluation without overrides or what-if values shares).

:class:`SharedResults` holds the shared part (value and parameter uses) under a key spelling out every
input listed above; it belongs to one compiled framework, whose parameters are fixed per date.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date
from itertools import count
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Mapping

from engine.rules import ir
from engine.rules.aggregates import RECORDS_BEGIN, state_end
from engine.rules.calendar import age_on
from engine.rules.functions import FUNCTIONS
from engine.rules.inputs import CaseDates, Coverage, Fact, Member
from engine.rules.named import named_rules
from engine.rules.results import UNKNOWN, ParamUse, TriResult

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation, RuleDef

#: person attributes a shared result may depend on (anything else makes a rule unshareable)
_SHAREABLE_ATTRIBUTES = {"age": "age", "date_of_birth": "dob", "sex": "sex"}


@dataclass(frozen=True, slots=True)
class Footprint:
    """Everything about a member and the family that a person-level rule can read."""

    fact_types: frozenset[str]
    #: reads the date of birth itself (or age on a date other than the evaluation date)
    dob: bool
    #: reads the age on the evaluation date (implied by ``dob``)
    age: bool
    sex: bool
    #: reads a case anchor date (identified, attached, closed)
    case: bool
    #: the person rules it refers to (its role, for a need): their results for the member are part of the key
    refs: tuple[str, ...] = ()
    #: fact type -> the windows its aggregates read (None: as far as records go)
    windows: tuple[tuple[str, tuple[ir.Window | None, ...]], ...] = ()

    #: which member inputs the key holds: footprints with the same variant share a member's key part
    variant: int = field(init=False)

    def __post_init__(self) -> None:
        variant = (2 if self.dob else 1 if self.age else 0) | (4 if self.sex else 0) | (8 if self.case else 0)
        object.__setattr__(self, "variant", variant)

    def member_key(self, member: Member, as_of: date, case: CaseDates) -> tuple[Any, ...]:
        """The member's (and case's) part of a shared result's key."""
        born = member.date_of_birth
        if self.dob:
            life: Any = born
        elif self.age:
            life = age_on(born, as_of) if born is not None else None
        else:
            life = None
        dates = (case.identified, case.attached, case.closed) if self.case else None
        return (life, member.sex if self.sex else None, dates)


class _Unshareable(Exception):
    """Raised while reading a rule's IR on meeting something outside a member's own shape."""


class _Reader:
    """Collects one rule's footprint: what its own condition reads, and the person rules it refers to."""

    def __init__(self, rules: Mapping[str, tuple[str, str, ir.Expr, str | None]]) -> None:
        #: name -> (kind, subject, condition, role) of every person-level rule the evaluator compiles
        self.rules = rules
        self.fact_types: set[str] = set()
        self.flags: set[str] = set()
        self.refs: dict[str, None] = {}
        self.windows: dict[str, dict[ir.Window | None, None]] = {}

    def read(self, name: str) -> None:
        kind, _, condition, role = self.rules[name]
        if kind == "need" and role is not None:
            self.rule(role)
        self.expr(condition)

    def rule(self, name: str) -> None:
        if name not in self.rules:  # a family-level rule
            raise _Unshareable(name)
        self.refs[name] = None

    def expr(self, node: Any) -> None:
        kind = getattr(node, "kind", None)
        if kind in ("lit", "param", "field"):
            return
        if kind == "person_attr":
            flag = _SHAREABLE_ATTRIBUTES.get(node.name)
            if flag is None:
                raise _Unshareable(f"person attribute {node.name}")
            self.flags.add(flag)
        elif kind == "as_of":
            if node.anchor != "as_of":
                self.flags.add("case")
        elif kind == "not":
            self.expr(node.arg)
        elif kind in ("and", "or"):
            self.each(node.args)
        elif kind in ("cmp", "arith"):
            self.each((node.left, node.right))
        elif kind == "list":
            self.each(node.items)
        elif kind == "call":
            function = FUNCTIONS.get(node.fn)
            if function is None or (function.needs_context and node.fn != "age_on"):
                raise _Unshareable(f"function {node.fn}")
            if node.fn == "age_on":
                self.flags.add("dob")
            self.each(node.args)
        elif kind == "agg":
            if node.scope != "person":
                raise _Unshareable("family-scope aggregate")
            self.fact_types.add(node.fact)
            self.windows.setdefault(node.fact, {})[node.window] = None
            if node.window is not None and node.window.anchor != "as_of":
                self.flags.add("case")
            self.each((node.where, node.test))
        elif kind == "has_role":
            self.rule(node.role)
        elif kind == "rule":
            self.rule(node.name)
        else:  # members, need counts, family attributes, kinds added later: not the member's own shape
            raise _Unshareable(f"expression kind {kind}")

    def each(self, nodes: Iterable[Any]) -> None:
        for node in nodes:
            if node is not None:
                self.expr(node)


def person_rules(framework: ir.Framework) -> dict[str, tuple[str, str, ir.Expr, str | None]]:
    """Every rule the evaluator may run for one person: name -> (kind, subject, condition, role)."""
    return {r.name: (r.kind, "person", r.condition, r.role if r.kind == "need" else None)
            for r in named_rules(framework) if r.subject == "person"}


def footprints(framework: ir.Framework) -> dict[str, Footprint]:
    """The footprint of every person-level rule whose result can be shared (the others are left out)."""
    rules = person_rules(framework)
    found: dict[str, Footprint] = {}
    for name in rules:
        reader = _Reader(rules)
        try:
            reader.read(name)
        except _Unshareable:
            continue
        flags = reader.flags
        windows = tuple((fact, tuple(seen)) for fact, seen in sorted(reader.windows.items()))
        found[name] = Footprint(frozenset(reader.fact_types), "dob" in flags, "age" in flags or "dob" in flags,
                                "sex" in flags, "case" in flags, tuple(reader.refs), windows)
    return found


class SharedResults:
    """Shared (value, parameter uses) of person-level results, by key; bounded, safe to share between
    threads (entries are immutable and a lost race only recomputes)."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self.entries: dict[Hashable, tuple[str, tuple[ParamUse, ...]]] = {}
        self._coverage: tuple[Mapping[str, Coverage], int] | None = None
        self._coverage_ids: dict[tuple[tuple[str, Coverage], ...], int] = {}
        self._shape_ids: dict[tuple[Any, ...], int] = {}
        #: numbers handed out by ``next`` (atomic), so two threads never give two shapes one number
        self._numbers = count()

    def get(self, key: Hashable) -> tuple[str, tuple[ParamUse, ...]] | None:
        return self.entries.get(key)

    def put(self, key: Hashable, value: str, parameters: Iterable[ParamUse]) -> None:
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[key] = (value, tuple(parameters))

    def coverage_id(self, coverage: Mapping[str, Coverage]) -> int:
        """A small number standing for the coverage's content (families of one run share one mapping)."""
        last = self._coverage
        if last is not None and last[0] is coverage:
            return last[1]
        content = tuple(sorted(coverage.items()))
        number = self._coverage_ids.get(content)
        if number is None:
            number = self._coverage_ids.setdefault(content, next(self._numbers))
        self._coverage = (coverage, number)
        return number

    def shape_id(self, shape: tuple[Any, ...]) -> int:
        """A small number standing for a member's key part (cheaper to hash than the tuple, for every rule)."""
        number = self._shape_ids.get(shape)
        if number is None:
            number = self._shape_ids.setdefault(shape, next(self._numbers))
        return number


def read_ranges(footprint: Footprint, as_of: date, params: Mapping[str, ParamUse | None],
                window_dates: Callable[[date, int, str, str], tuple[date, date]],
                ) -> dict[str, tuple[tuple[date, date], ...] | None]:
    """Per fact type, the date ranges its aggregates select facts from as of ``as_of`` (as
    :func:`engine.rules.aggregates.compile_aggregate` selects them: events and periodic records dated in
    the range, states that start by its end and have not ended before its start); None for a type with
    a window anchored on a case date or of unknown length. A member with facts of a type, none of them in
    these ranges, is read exactly as one with none: every aggregate selects nothing."""
    found: dict[str, tuple[tuple[date, date], ...] | None] = {}
    for fact_type, windows in footprint.windows:
        ranges: list[tuple[date, date]] | None = []
        for window in windows:
            if window is None:
                ranges.append((RECORDS_BEGIN, as_of))
                continue
            length: Any = window.length
            if isinstance(length, ir.ParamRef):
                use = params.get(length.name)
                length = use.value if use is not None else None
            if window.anchor != "as_of" or not isinstance(length, ir.Duration):
                ranges = None
                break
            start, end = window_dates(as_of, length.amount, length.unit, window.direction)
            ranges.append((start, min(end, as_of)))
        found[fact_type] = tuple(ranges) if ranges is not None else None
    return found


def selects_any(facts: list[Fact], dates: list[date], ranges: tuple[tuple[date, date], ...], recording: str,
                fact_type: ir.FactType) -> bool:
    """Whether an aggregate reading ``ranges`` would select any of ``facts`` (sorted by date)."""
    for start, end in ranges:
        if start > end:
            continue
        if recording == "states":
            if any((e := state_end(f, fact_type)) is None or e >= start for f in facts[: bisect_right(dates, end)]):
                return True
        elif bisect_left(dates, start) < bisect_right(dates, end):
            return True
    return False


def shared_result(ev: Evaluation, rule: RuleDef, person: Member, person_id: str) -> TriResult:
    """``rule``'s result for a member: the shared one for the member's shape when there is one, else
    evaluated in full (and shared when it holds nothing particular to the member)."""
    footprint = rule.footprint
    held = ev.person_types.get(person_id)
    if held and not footprint.fact_types.isdisjoint(held) and _selects_facts(ev, footprint, person_id, held):
        return ev.evaluate_rule(rule, person, person_id)
    shape = ev.member_keys.get((person_id, footprint.variant))
    if shape is None:
        shape = ev.member_keys[(person_id, footprint.variant)] = ev.shared.shape_id(
            (ev.as_of, ev.coverage_id, *footprint.member_key(person, ev.as_of, ev.family.case)))
    if footprint.refs:
        parts: list[Any] = [rule.name, shape]
        for ref in footprint.refs:  # the referenced person rules' results are part of the key
            used = ev.rule_result(ref, person_id)
            if used.evidence or used.value == UNKNOWN:
                return ev.evaluate_rule(rule, person, person_id)
            parts.append(used.value)
            parts.extend(map(id, used.parameters))
        key: tuple[Any, ...] = tuple(parts)
    else:
        key = (rule.name, shape)
    hit = ev.shared.entries.get(key)
    if hit is not None:
        return TriResult(hit[0], rule.name, rule.kind, rule.span, rule.citations, person_id, [], list(hit[1]), [], [])
    result = ev.evaluate_rule(rule, person, person_id)
    # only what is the same for every member of this shape is shared (no evidence, reasons or trace)
    if (result.value != UNKNOWN and not result.evidence and not result.unknowns and not result.children
            and result.detail is None):
        ev.shared.put(key, result.value, result.parameters)
    return result


def _selects_facts(ev: Evaluation, footprint: Footprint, person_id: str, held: set[str]) -> bool:
    """Whether the rule's aggregates would select any of the member's facts (if not, the member is read
    exactly as one with no facts of those types)."""
    ranges = ev.ranges_read.get(id(footprint))
    if ranges is None:
        ranges = ev.ranges_read[id(footprint)] = read_ranges(footprint, ev.as_of, ev.params, ev.compiled.window)
    fact_types = ev.compiled.fact_types
    for name in footprint.fact_types & held:
        spans = ranges.get(name)
        if spans is None:
            return True
        dates, facts = ev.facts_of(person_id, name)
        if selects_any(facts, dates, spans, fact_types[name].recording, fact_types[name]):
            return True
    return False


__all__ = ["Footprint", "SharedResults", "footprints", "person_rules", "read_ranges", "selects_any", "shared_result"]
