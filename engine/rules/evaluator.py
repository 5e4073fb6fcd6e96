"""Evaluate a compiled framework for one family as of a date, three-valued, with evidence.

    compiled = compile_framework(framework)                       # once per framework
    result = compiled.evaluate(family, as_of, overrides=())       # -> FamilyResult

Compilation turns every rule's IR into closures (:mod:`engine.rules.expressions`) and caches
parameter values per evaluation date, so evaluating a family does no parsing, validation or copying.
One :class:`Evaluation` holds the state for one family and date: facts indexed by person and type,
memoised rule results, and a stack of collectors gathering the facts, parameters and unknown reasons
each rule read.

Bulk evaluation (no trace, overrides or what-if values) shares person-level results between members
of one shape - same age, no facts of the types the rule reads - across families
(:mod:`engine.rules.sharing`); the shared results are exactly what full evaluation gives.

Order never matters: members and facts are sorted on the way in, and results serialise sorted, so the
same inputs give byte-identical results.

Outcomes are judged for the needs *identified* for the family: the needs met (or unknown) on the
case's identification date when the case has one before the evaluation date, else on the evaluation
date itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from operator import attrgetter
from typing import Any, Callable, Iterable, Mapping

from engine.errors import EvaluationError
from engine.rules import ir
from engine.rules.aggregates import facts_in_order, field_value
from engine.rules.assemble import family_result
from engine.rules.calendar import ENGLISH_TERMS, TermCalendar, age_on, periods_ending_within, window_after, window_before
from engine.rules.expressions import CompileContext, compile_bool
from engine.rules.named import named_rules
from engine.rules.inputs import Fact, FamilyInput, Member
from engine.rules.results import (
    MET, NOT_MET, UNKNOWN, Evidence, FamilyResult, OutcomeResult, Override, ParamUse, param_use,
    TriResult, any_met, unique_evidence,
)
from engine.rules.outcomes import all_outcomes, family_outcome, outcome_results
from engine.rules.sharing import Footprint, SharedResults, footprints, shared_result
from engine.rules.values import UNK, bounded

Compiled = Callable[["Evaluation"], Any]
_ANCHOR_WORDS = {"identified": "identification", "attached": "attachment", "closed": "closure"}


@dataclass
class RuleDef:
    """A compiled named rule. ``kind``: role, rule, need, outcome_achieved, outcome_sustained,
    family_definition, eligibility_condition, eligible, claimable."""

    name: str
    kind: str
    subject: str
    condition: Compiled
    span: ir.Span | None = None
    citations: tuple[ir.Citation, ...] = ()
    role: str | None = None
    #: what the rule reads of a member, when its per-member results may be shared (engine.rules.sharing)
    footprint: Footprint | None = None
    #: a person-level need or outcome part asked for the family: combined from its members' results
    per_member: bool = field(init=False)

    def __post_init__(self) -> None:
        self.per_member = self.subject == "person" and self.kind in ("need", "outcome_achieved", "outcome_sustained")


class CompiledFramework:
    """A framework compiled for evaluation; thread-safe to share, cheap to evaluate many times."""

    def __init__(self, framework: ir.Framework, terms: TermCalendar = ENGLISH_TERMS, share: bool = True) -> None:
        self.framework = framework
        self.terms = terms
        self.hash = framework.content_hash()
        self.fact_types = {f.name: f for f in framework.fact_types}
        self.needs = sorted(framework.needs, key=lambda n: n.name)
        self.outcomes = {o.need: o for o in framework.outcomes}
        #: rules compiled without trace hooks (bulk evaluation) and with them (explanations)
        self.rules: dict[str, RuleDef] = self._compile(traced=False)
        self.traced_rules: dict[str, RuleDef] = self._compile(traced=True)
        for name, footprint in footprints(framework).items():
            self.rules[name].footprint = footprint
        #: names in the order a family's result lists them
        self.role_names = [r.name for r in framework.roles]
        helpers = [r for r in self.rules.values() if r.kind == "rule"]
        self.family_helpers = [r.name for r in helpers if r.subject == "family"]
        self.person_helpers = [r.name for r in helpers if r.subject == "person"]
        self.outcome_codes = sorted(self.outcomes)
        #: person-level results shared between members of one shape (bulk evaluation only; ``share=False``
        #: evaluates every member in full, which tests compare against)
        self.shared = SharedResults() if share else None
        self._params: dict[date, dict[str, ParamUse | None]] = {}
        #: outcome rule -> its result for a family whose need was not identified (the same for every family;
        #: results are not changed after they are built, and overrides apply to results of rule runs only)
        self.not_identified: dict[str, TriResult] = {}
        self._periods: dict[tuple[date, date, str], list[Any]] = {}
        self._windows: dict[tuple[date, int, str, str], tuple[date, date]] = {}
        #: as_of -> {id(window): (bounds, parameter read)} for windows anchored on the evaluation date, under
        #: the parameters in force then (the same for every family evaluated on that date)
        self._as_of_windows: dict[date, dict[int, tuple[tuple[date, date], ParamUse | None]]] = {}
        #: as_of -> id(footprint) -> fact type -> date ranges its aggregates read (engine.rules.sharing)
        self._read_ranges: dict[date, dict[int, dict[str, tuple[tuple[date, date], ...] | None]]] = {}

    # Compilation ----------------------------------------------------------------------------------
    def _compile(self, traced: bool) -> dict[str, RuleDef]:
        fw = self.framework
        rules: dict[str, RuleDef] = {}
        names = {r.name for r in fw.roles} | {r.name for r in fw.rules} | {n.name for n in fw.needs}
        names |= {r.name for r in fw.claim.alternatives} if fw.claim else set()
        names |= {"family_definition", "eligibility_condition", "eligible", "claimable"}
        cc = CompileContext(framework=fw, fact_types=self.fact_types, rule_names=names, traced=traced)

        def add(name: str, kind: str, subject: str, expr: ir.Expr, span: ir.Span | None,
                citations: tuple[ir.Citation, ...] = (), role: str | None = None) -> None:
            cc.where, cc.span = f"{kind} {name}", span
            rules[name] = RuleDef(name, kind, subject, compile_bool(expr, cc), span, citations, role)

        for r in named_rules(fw):
            add(r.name, r.kind, r.subject, r.condition, r.span, r.citations, r.role)
        return rules

    # Caches shared by evaluations ------------------------------------------------------------------
    def params_on(self, as_of: date) -> dict[str, ParamUse | None]:
        """Each parameter's value in force on ``as_of`` (None when none is yet in force)."""
        cached = self._params.get(as_of)
        if cached is None:
            cached = {}
            for p in self.framework.parameters:
                in_force = [v for v in p.values if v.effective_from <= as_of]
                if not in_force:
                    cached[p.name] = None
                    continue
                cached[p.name] = param_use(p, max(in_force, key=lambda v: v.effective_from))
            self._params[as_of] = cached
        return cached

    def window(self, anchor: date, amount: int, unit: str, direction: str) -> tuple[date, date]:
        key = (anchor, amount, unit, direction)
        found = self._windows.get(key)
        if found is None:
            spread = window_after if direction == "after" else window_before
            found = self._windows[key] = spread(anchor, amount, unit, self.terms)
        return found

    def expected_periods(self, start: date, end: date, unit: str) -> list[Any]:
        key = (start, end, unit)
        found = self._periods.get(key)
        if found is None:
            found = self._periods[key] = periods_ending_within(start, end, unit, self.terms)
        return found

    # Evaluation -----------------------------------------------------------------------------------
    def evaluate(self, family: FamilyInput, as_of: date, overrides: Iterable[Override] = (),
                 trace: bool = True, parameters: Mapping[str, Any] | None = None) -> FamilyResult:
        """Evaluate every rule for ``family`` as of ``as_of``.

        ``trace=False`` skips building the sub-criteria tree (explanations need it; bulk profiling
        does not). ``parameters`` replaces parameter values for a what-if (scenario tests, previews);
        each replaced value is marked "what-if" wherever it is cited.
        """
        return self.evaluation(family, as_of, overrides, trace, parameters).family_result()

    def evaluation(self, family: FamilyInput, as_of: date, overrides: Iterable[Override] = (),
                   trace: bool = True, parameters: Mapping[str, Any] | None = None) -> Evaluation:
        """The evaluation :meth:`evaluate` runs, not yet run (bulk evaluation seeds a batch's first)."""
        return Evaluation(self, family, as_of, tuple(overrides), trace, self.what_if(as_of, parameters))

    def what_if(self, as_of: date, values: Mapping[str, Any] | None) -> dict[str, ParamUse | None]:
        """The parameters in force on ``as_of`` with ``values`` replacing some of them."""
        params = self.params_on(as_of)
        if not values:
            return params
        params = dict(params)
        for name, value in values.items():
            declared = self.framework.parameter(name)
            if declared is None:
                known = ", ".join(sorted(p.name for p in self.framework.parameters))
                raise EvaluationError(f"unknown parameter {name!r} in a what-if; parameters: {known}")
            params[name] = ParamUse(name, value, as_of, ir.Citation(text="what-if value", confidence="local"),
                                    declared.unit, "what-if")
        return params


def compile_framework(framework: ir.Framework, terms: TermCalendar = ENGLISH_TERMS,
                      share: bool = True) -> CompiledFramework:
    return CompiledFramework(framework, terms, share)


class Collector:
    """What one rule read while it was evaluated (a plain slotted class: one is made per rule run)."""

    __slots__ = ("facts", "params", "reasons")

    def __init__(self) -> None:
        self.facts: list[Evidence] = []
        self.params: dict[str, ParamUse] = {}
        self.reasons: list[str] = []


#: marks a rule whose evaluation is under way, so a rule that reaches itself is reported as a cycle
_IN_PROGRESS = TriResult(UNKNOWN, "in progress", "marker")


_PERSON_ID = attrgetter("person_id")


def _unique(reasons: list[str]) -> list[str]:
    return list(dict.fromkeys(reasons))


class Evaluation:
    """The state of evaluating one family as of one date (see the module docstring)."""

    def __init__(self, compiled: CompiledFramework, family: FamilyInput, as_of: date,
                 overrides: tuple[Override, ...], trace: bool,
                 params: dict[str, ParamUse | None] | None = None) -> None:
        self.compiled = compiled
        self.family = family
        self.as_of = as_of
        self.terms = compiled.terms
        self.coverage = family.coverage
        # the latest override of a criterion wins; overrides of rules this framework lacks are ignored
        # (a what-if or replay under another framework version may carry them)
        self.overrides = {(o.rule, o.person_id): o for o in sorted(overrides, key=lambda o: o.at)
                          if o.family_id == family.family_id} if overrides else {}
        for o in self.overrides.values():
            if o.value not in (MET, NOT_MET, UNKNOWN):
                raise EvaluationError(f"override of {o.rule} for family {o.family_id} has value {o.value!r}; "
                                      "expected met, not_met or unknown")
        self.applied: dict[tuple[str, str | None], Override] = {}
        self.members = sorted([m for m in family.members
                               if (m.joined is None or m.joined <= as_of) and (m.left is None or m.left >= as_of)],
                              key=_PERSON_ID)
        self.member_by_id = {m.person_id: m for m in self.members}
        self.params = params if params is not None else compiled.params_on(as_of)
        self.trace = trace
        self.rules = compiled.traced_rules if trace else compiled.rules
        self.trace_stack: list[list[TriResult]] | None = None
        self.person: Member | None = None
        self.fact: Fact | None = None
        self.detail: str | None = None
        self.collector = Collector()
        self.memo: dict[tuple[str, str | None], TriResult] = {}
        self._need_members: dict[str, dict[str, TriResult]] = {}
        self.identified_needs: dict[str, tuple[str, dict[str, str]]] = {}
        self._evidence: dict[int, Evidence] = {}
        #: id of a compiled framework's Window -> (bounds, parameter read); windows live as long as the framework
        self._windows: dict[int, tuple[tuple[date, date], ParamUse | None]] = {}
        self._outcomes: dict[str, OutcomeResult] | None = None
        self.identified_on: date | None = None
        self.identification: Evaluation | None = None
        #: (person id, footprint variant) -> the number of the member's part of shared results' keys
        self.member_keys: dict[tuple[str, int], int] = {}
        #: whether evaluation read the family's records, a member's details or the case's dates (what else
        #: it reads - the members' ids, parameters, the date, the batch's column-wise results - a stored
        #: batch holds too)
        self.inputs_read = False
        #: (batch columns, person id -> member number): person-level results computed column-wise for the
        #: batch (engine.columns.person), set by bulk evaluation when it computed them
        self.seeds: tuple[Any, dict[str, int]] | None = None
        self.shared, self.coverage_id = self._sharing(compiled, params)
        #: id(footprint) -> fact type -> date ranges its aggregates read on this date, under the parameters in
        #: force then (sharing implies them), so the same for every family evaluated on the date
        self.ranges_read = compiled._read_ranges.setdefault(as_of, {}) if self.shared is not None else {}
        #: windows anchored on the evaluation date are shared by the families evaluated under the same parameters
        in_force = self.params is compiled.params_on(as_of)
        self._date_windows = compiled._as_of_windows.setdefault(as_of, {}) if in_force else None
        if self._date_windows:
            self._windows.update(self._date_windows)

    def _sharing(self, compiled: CompiledFramework, params: dict[str, ParamUse | None] | None,
                 ) -> tuple[SharedResults | None, int | None]:
        """Results may be shared when nothing but the rules and facts decide them: no trace, no override,
        no what-if parameters, and a coverage mapping that can be keyed."""
        what_if = params is not None and params is not compiled.params_on(self.as_of)
        if compiled.shared is None or self.trace or self.overrides or what_if:
            return None, None
        try:
            return compiled.shared, compiled.shared.coverage_id(self.coverage)
        except TypeError:  # coverage values that cannot be hashed: evaluate every member in full
            return None, None

    @cached_property
    def _facts(self) -> dict[tuple[str | None, str], tuple[list[date], list[Fact]]]:
        """The family's facts by (member, or None for the family's whole set, fact type), in
        :func:`facts_in_order`, with their dates. Indexed when the evaluator first reads a fact: a family
        whose results the batch's columns give in full (:mod:`engine.columns`) never needs it."""
        self.reading_inputs()
        active = {m.person_id for m in self.members}
        by_scope: dict[tuple[str | None, str], list[Fact]] = {}
        for fact in facts_in_order(self.family.facts):
            if fact.person_id is not None:
                if fact.person_id not in active:
                    continue
                by_scope.setdefault((fact.person_id, fact.fact_type), []).append(fact)
            by_scope.setdefault((None, fact.fact_type), []).append(fact)
        return {key: ([f.date for f in facts], facts) for key, facts in by_scope.items()}

    @cached_property
    def person_types(self) -> dict[str, set[str]]:
        """The fact types each member has any fact of."""
        types: dict[str, set[str]] = {}
        for owner, fact_type in self._facts:
            if owner is not None:
                types.setdefault(owner, set()).add(fact_type)
        return types

    # Services for compiled expressions --------------------------------------------------------------
    def facts_for(self, fact_type: str, family_scope: bool) -> tuple[list[date], list[Fact]]:
        owner = None if family_scope or self.person is None else self.person.person_id
        return self._facts.get((owner, fact_type), ([], []))

    def facts_of(self, person_id: str | None, fact_type: str) -> tuple[list[date], list[Fact]]:
        """A member's facts of a type (the family's, for None), by date, with their dates."""
        return self._facts.get((person_id, fact_type), ([], []))

    def subject_label(self) -> str:
        return f"person {self.person.person_id}" if self.person else f"family {self.family.family_id}"

    def unknown(self, reason: str) -> None:
        self.collector.reasons.append(reason)

    def evidence_of(self, fact: Fact) -> Evidence:
        found = self._evidence.get(id(fact))
        if found is None:
            found = self._evidence[id(fact)] = Evidence(
                fact.fact_id, fact.fact_type, fact.person_id, fact.date, fact.source, fact.source_record_id,
                fact.batch_id, fact.fields, fact.end_date)
        return found

    def read(self, facts: list[Fact]) -> None:
        if facts:
            self.collector.facts.extend(self.evidence_of(f) for f in facts)

    def param(self, name: str) -> Any:
        use = self.params.get(name)
        if use is None:
            self.unknown(f"parameter {name} has no value in force on {self.as_of}")
            return UNK
        self.collector.params[name] = use
        return use.value

    def anchor_date(self, anchor: str) -> Any:
        if anchor == "as_of":
            return self.as_of
        self.reading_inputs()
        day = getattr(self.family.case, anchor)
        if day is None:
            self.unknown(f"the case has no {_ANCHOR_WORDS[anchor]} date yet")
            return UNK
        return day

    def window_of(self, window: ir.Window) -> tuple[date, date] | None:
        """The window's inclusive dates, or None (with the reason recorded) when its anchor or length
        is unknown. Known windows are remembered for the evaluation (with the parameter they read)."""
        found = self._windows.get(id(window))
        if found is not None:
            bounds, use = found
            if use is not None:
                self.collector.params[use.name] = use
            return bounds
        bounds = self._window_bounds(window)
        if bounds is not None:
            use = self.params.get(window.length.name) if isinstance(window.length, ir.ParamRef) else None
            self._windows[id(window)] = (bounds, use)
            if window.anchor == "as_of" and self._date_windows is not None:
                self._date_windows[id(window)] = (bounds, use)
        return bounds

    def _window_bounds(self, window: ir.Window) -> tuple[date, date] | None:
        length = window.length if isinstance(window.length, ir.Duration) else self.param(window.length.name)
        anchor = self.anchor_date(window.anchor)
        if length is UNK or anchor is UNK:
            return None
        if not isinstance(length, ir.Duration):
            raise EvaluationError(f"window length must be a duration, got {length!r}")
        return self.compiled.window(anchor, length.amount, length.unit, window.direction)

    def require_person(self, what: str) -> Member:
        if self.person is None:
            raise EvaluationError(f"'{what}' needs a person in scope but was used in a family-level rule")
        return self.person

    def person_attr(self, name: str) -> Any:
        person = self.require_person(name)
        return self._attr_of(person, name, self.as_of)

    def person_age_on(self, day: date) -> Any:
        return self._attr_of(self.require_person("age_on"), "age", day)

    def reading_inputs(self) -> None:
        """Noted before the family's records, a member's details or the case's dates are read (a family
        whose result read none of them may be stored as its batch's columns: engine.columns.stored)."""
        self.inputs_read = True

    def _attr_of(self, person: Member, name: str, day: date) -> Any:
        self.reading_inputs()
        if name == "age":
            if person.date_of_birth is None:
                self.unknown(f"date of birth missing for person {person.person_id}, so their age is unknown")
                return UNK
            return age_on(person.date_of_birth, day)
        value = {"date_of_birth": person.date_of_birth, "sex": person.sex}.get(name, person.attributes.get(name))
        if value is None:
            self.unknown(f"{name} missing for person {person.person_id}")
            return UNK
        return value

    def family_attr(self, name: str) -> Any:
        if name == "size":
            return len(self.members)
        if name not in ("children", "adults"):
            raise EvaluationError(f"unknown family attribute {name!r}; known: size, children, adults")
        sure = unsure = 0
        for member in self.members:
            age = self._attr_of(member, "age", self.as_of)
            if age is UNK:
                unsure += 1
            elif (age < 18) == (name == "children"):
                sure += 1
        return bounded(sure, sure + unsure)

    def fact_field(self, name: str) -> Any:
        fact = self.fact
        if fact is None:
            raise EvaluationError(f"field {name!r} used outside 'where'/'has' of a fact aggregation")
        value = field_value(fact, name, self.compiled.fact_types[fact.fact_type])
        if value is None:
            self.unknown(f"{fact.fact_type}.{name} is missing on record {fact.fact_id} ({fact.source or 'unknown source'})")
            return UNK
        return value

    def role_value(self, role: str, member: Member) -> str:
        return self._use(self.rule_result(role, member.person_id))

    def rule_ref(self, name: str) -> str:
        rule = self.rules[name]
        person = self.person
        if rule.kind == "role":
            person = self.require_person(name)
        elif rule.subject == "person" and person is None and rule.kind != "need":
            raise EvaluationError(f"rule {name} is about a person but was used in a family-level rule")
        pid = person.person_id if person is not None and rule.subject == "person" else None
        return self._use(self.rule_result(name, pid))

    def _use(self, result: TriResult) -> str:
        """Fold a referenced rule's result into the rule being evaluated (evidence, trace)."""
        collector = self.collector
        collector.facts.extend(result.evidence)
        collector.params.update((p.name, p) for p in result.parameters)
        if result.value == UNKNOWN:
            collector.reasons.extend(result.unknowns)
        if self.trace_stack is not None:
            self.trace_stack[-1].append(result)
        return result.value

    def need_count(self, distinct: bool, headlines: tuple[str, ...] | None) -> Any:
        met: set[str] = set()
        unknown: set[str] = set()
        for need in self.compiled.needs:
            if headlines is not None and need.headline not in headlines:
                continue
            result = self.rule_result(need.name, None)
            key = need.headline if distinct else need.name
            if result.value == MET:
                met.add(key)
            elif result.value == UNKNOWN:
                unknown.add(key)
                self.collector.reasons.extend(f"need {need.name}: {r}" for r in result.unknowns)
        unknown -= met
        if self.trace:
            self.detail = f"{len(met)} {'headline' if distinct else 'need'}(s) met" + (
                f", {len(unknown)} unknown" if unknown else "")
        return bounded(len(met), len(met) + len(unknown))

    def all_outcomes(self, part: str) -> str:
        return all_outcomes(self, part)

    # Rules -----------------------------------------------------------------------------------------
    def rule_result(self, name: str, person_id: str | None) -> TriResult:
        key = (name, person_id)
        memo = self.memo
        found = memo.get(key)
        if found is not None:
            if found is _IN_PROGRESS:
                raise EvaluationError(f"rule {name} depends on itself; the framework has a cycle")
            return found
        memo[key] = _IN_PROGRESS
        try:
            rule = self.rules[name]
            if person_id is None and rule.per_member:
                result = self._family_need(rule) if rule.kind == "need" else family_outcome(self, rule)
            else:
                result = self._run(rule, person_id)
        except BaseException:
            del memo[key]
            raise
        override = self.overrides.get(key) if self.overrides else None
        if override is not None:
            result.overridden_from, result.value, result.override = result.value, override.value, override
            self.applied[key] = override
        memo[key] = result
        return result

    def _run(self, rule: RuleDef, person_id: str | None) -> TriResult:
        person = self.member_by_id.get(person_id) if person_id else None
        if self.seeds is not None and (person is not None or person_id is None):
            seeds = self.seeds[0]
            seeded = seeds.result(self, rule, person_id) if person is not None else seeds.family_result(self, rule)
            if seeded is not None:
                return seeded
        if self.shared is None or person is None or rule.footprint is None:
            return self.evaluate_rule(rule, person, person_id)
        self.reading_inputs()  # (a shared result is found by the member's details)
        return shared_result(self, rule, person, person_id)

    def evaluate_rule(self, rule: RuleDef, person: Member | None, person_id: str | None) -> TriResult:
        saved_person, saved_collector, saved_stack, saved_detail = self.person, self.collector, self.trace_stack, self.detail
        collector = Collector()
        self.person, self.collector, self.detail = person, collector, None
        children: list[TriResult] = []
        self.trace_stack = [children] if self.trace else None
        try:
            if rule.kind == "need" and rule.role is not None and person is not None:
                holds = self.role_value(rule.role, person)
                value = NOT_MET if holds == NOT_MET else and2(holds, rule.condition(self))
            else:
                value = rule.condition(self)
            detail = self.detail
        finally:
            self.person, self.collector, self.trace_stack, self.detail = saved_person, saved_collector, saved_stack, saved_detail
        facts, params = collector.facts, collector.params
        return TriResult(
            value, rule.name, rule.kind, rule.span, rule.citations, person_id,
            unique_evidence(facts) if facts else [], list(params.values()) if params else [],
            _unique(collector.reasons) if value == UNKNOWN else [],
            children, detail if len(children) != 1 else children[0].detail,
        )

    def need_members(self, code: str) -> dict[str, TriResult]:
        """Per-member results of a person-level need, for members who hold (or may hold) its role."""
        found = self._need_members.get(code)
        if found is not None:
            return found
        rule = self.rules[code]
        found = self._need_members[code] = {}
        role, memo = rule.role, self.memo
        seeds = self.seeds[0] if self.seeds is not None else None
        for member in self.members:
            pid = member.person_id
            if role is not None:
                held = memo.get((role, pid))
                if (held if held is not None and held is not _IN_PROGRESS else self.rule_result(role, pid)).value == NOT_MET:
                    continue
            result = memo.get((code, pid)) if seeds is not None else None
            if result is None and seeds is not None:  # a batch's column-wise result: no dispatch needed
                result = seeds.result(self, rule, pid)
                if result is not None:
                    memo[(code, pid)] = result
            found[pid] = result if result is not None and result is not _IN_PROGRESS else self.rule_result(code, pid)
        return found

    def _family_need(self, rule: RuleDef) -> TriResult:
        parts = list(self.need_members(rule.name).values())
        values = [p.value for p in parts]
        value = any_met(values)
        detail = None if parts else f"no member is {rule.role or 'a member'}"
        return self.combined(rule, value, parts, detail)

    def combined(self, rule: RuleDef, value: str, parts: list[TriResult], detail: str | None) -> TriResult:
        relevant = [p for p in parts if p.value == value] or parts
        evidence = [e for p in relevant for e in p.evidence]
        params = {p.name: p for part in relevant for p in part.parameters}
        reasons = _unique([r for p in parts if p.value == UNKNOWN for r in p.unknowns]) if value == UNKNOWN else []
        return TriResult(value, rule.name, rule.kind, rule.span, rule.citations, None,
                         unique_evidence(evidence) if evidence else [], list(params.values()), reasons, [], detail)

    # Outcomes (engine.rules.outcomes) -------------------------------------------------------------
    def outcome_results(self) -> dict[str, OutcomeResult]:
        if self._outcomes is None:
            self._outcomes = outcome_results(self)
        return self._outcomes

    # The whole family --------------------------------------------------------------------------------
    def family_result(self) -> FamilyResult:
        return family_result(self)


def and2(a: str, b: str) -> str:
    if a == NOT_MET or b == NOT_MET:
        return NOT_MET
    return MET if a == b == MET else UNKNOWN


__all__ = ["compile_framework", "CompiledFramework", "Evaluation", "RuleDef"]
