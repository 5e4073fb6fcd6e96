"""The semantic checker: every problem in a composed framework, in one pass.

Errors: unknown names (with "did you mean"), missing fields, unit mismatches, cycles between rules,
conflicting definitions (found while composing, see :mod:`dsl.compose`), lifecycle states with no
way in or out. Warnings: unused parameters, rules nothing uses, rules without a citation, needs
without an outcome. Diagnostics come back sorted by file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from dsl import ast as a
from dsl.check_expr import BUILTIN_RULES, ExprChecker, Reporter, Scope, did_you_mean, type_of_unit
from dsl.compose import Model
from dsl.errors import Diagnostic

#: guard names a lifecycle transition may use besides the framework's own rules and needs
BUILTIN_GUARDS = (*BUILTIN_RULES, "all_outcomes_achieved", "all_outcomes_sustained", "family_definition")
_VALUE_TYPES = {
    "percent": (a.Percent,), "money": (a.Money,), "count": (a.Number,), "number": (a.Number,),
    "date": (a.DateLit,), "boolean": (a.BoolLit,), "text": (a.StringLit,), "code": (a.Name,),
    "days": (a.DurationLit,), "weeks": (a.DurationLit,), "months": (a.DurationLit,), "years": (a.DurationLit,),
    "terms": (a.DurationLit,),
}
_EXAMPLE_VALUE = {"percent": "90%", "money": "£500", "count": "3", "number": "2.5", "date": "2023-04-01",
                  "boolean": "true", "text": '"text"', "code": "a_code"}


@dataclass
class CheckResult:
    model: Model
    diagnostics: list[Diagnostic]
    #: id(AST node) -> what it resolved to ("param", "field", "role", "rule", "code", "fact", ...)
    resolved: dict[int, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def check_model(model: Model, earlier: list[Diagnostic] | None = None) -> CheckResult:
    """Check a composed model; ``earlier`` diagnostics (from parsing/composing) are kept in the result."""
    report = Reporter(model, list(earlier or ()))
    exprs = ExprChecker(model, report)
    checker = _DeclarationChecker(model, report, exprs)
    checker.run()
    report.diagnostics.sort(key=lambda d: (d.span.file, d.span.line, d.span.column) if d.span else ("", 0, 0))
    return CheckResult(model, _unique(report.diagnostics), exprs.resolved)


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[object, ...]] = set()
    kept = []
    for d in diagnostics:
        key = (d.severity, d.message, d.span)
        if key not in seen:
            seen.add(key)
            kept.append(d)
    return kept


class _DeclarationChecker:
    def __init__(self, model: Model, report: Reporter, exprs: ExprChecker):
        self.model, self.report, self.exprs = model, report, exprs
        self.local = {key for key, entry in model.entries.items() if not entry.inherited}

    def _is_local(self, kind: str, name: str = "") -> bool:
        return (kind, name) in self.local

    def run(self) -> None:
        self._header()
        for param in self.exprs.params.values():
            self._parameter(param)
        for fact in self.exprs.facts.values():
            self._fact(fact)
        for role in self.exprs.roles.values():
            self.exprs.condition(role.condition, Scope("person", role.name), f"role `{role.name}`")
            self._cited("role", role.name, role)
        for rule in self.exprs.rules.values():
            self.exprs.condition(rule.condition, Scope(rule.subject, rule.name), f"rule `{rule.name}`")
            self._cited("rule", rule.name, rule)
        family = self.model.get("family definition")
        if family is not None:
            self.exprs.condition(family.condition, Scope("family", "family definition"), "the family definition")
            self._cited("family definition", "", family)
        for need in self.exprs.needs.values():
            self._need(need)
        outcomes = self.model.of_kind("outcome")
        for outcome in outcomes.values():
            self._outcome(outcome)
        for code, need in self.exprs.needs.items():
            if code not in outcomes and self._is_local("need", code):
                self.report.warning(f"need {code} has no outcome, so `all needs have ... outcomes` can never be met "
                                    "for a family with this need; add `outcome for " + code + " ... end`", need.span)
        self._eligibility_and_claim()
        for score in self.model.of_kind("score").values():
            self._score(score)
        lifecycle = self.model.get("lifecycle")
        if lifecycle is not None:
            from dsl.check_lifecycle import check_lifecycle

            check_lifecycle(lifecycle, self.model, self.report, self.exprs, BUILTIN_GUARDS)
        self._graph()
        for name, param in self.exprs.params.items():
            if name not in self.exprs.used_params and self._is_local("parameter", name):
                self.report.warning(f"parameter `{name}` is never used", param.span)

    # -- header and parameters ---------------------------------------------------------------
    def _header(self) -> None:
        header = self.model.header
        if header is None:
            return
        for attr, example in (("phase", 'phase "3"'), ("version", 'version "1.0.0"')):
            if getattr(header, attr) is None:
                self.report.error(f"the framework header needs a {attr}, e.g. `{example}`", header.span)
        if header.effective_from and header.effective_to and header.effective_to < header.effective_from:
            self.report.error("the framework's effective end date is before its start date", header.span)

    def _parameter(self, param: a.ParameterDecl) -> None:
        if param.unit is None:
            self.report.error(f"parameter `{param.name}` needs a unit, e.g. `parameter {param.name}: percent`",
                              param.span)
            return
        if not param.values:
            self.report.error(f"parameter `{param.name}` has no value; add e.g. "
                              f"`{_EXAMPLE_VALUE.get(param.unit, '12 ' + param.unit)} from 2022-10-03`", param.span)
        seen: dict[date, a.ParamValue] = {}
        for value in param.values:
            self._parameter_value(param, value)
            if value.effective_from in seen:
                other = seen[value.effective_from]
                self.report.error(f"parameter `{param.name}` has two values from {value.effective_from} "
                                  f"(the other is at {other.span.file}:{other.span.line})", value.span,
                                  [("the other value", other.span)])
            seen[value.effective_from] = value

    def _parameter_value(self, param: a.ParameterDecl, value: a.ParamValue) -> None:
        unit = param.unit or ""
        node = value.value
        if isinstance(node, _VALUE_TYPES.get(unit, ())):
            if isinstance(node, a.DurationLit) and node.unit != unit:
                self.report.error(f"parameter `{param.name}` is in {unit}; write this value in {unit} "
                                  f"(got {node.amount} {node.unit})", node.span)
            elif unit == "count" and isinstance(node, a.Number) and not isinstance(node.value, int):
                self.report.error(f"parameter `{param.name}` is a count; a count is a whole number", node.span)
            return
        got = type(node).__name__.replace("Lit", "").replace("Name", "code").lower()
        example = _EXAMPLE_VALUE.get(unit) or f"12 {unit}"
        if unit == "percent" and isinstance(node, a.Number):
            message = f"percent without %: parameter `{param.name}` is a percent; write {node.value}%"
        elif unit == "money" and isinstance(node, a.Number):
            message = f"parameter `{param.name}` is money; write £{node.value}"
        else:
            message = f"parameter `{param.name}` is in {unit}, but this value is a {got}; write e.g. {example}"
        self.report.error(message, node.span)

    # -- facts -------------------------------------------------------------------------------
    def _fact(self, fact: a.FactDecl) -> None:
        names: dict[str, a.FieldDecl] = {}
        for fld in fact.fields:
            if fld.name in names:
                self.report.error(f"fact `{fact.name}` declares field `{fld.name}` twice", fld.span,
                                  [("the first", names[fld.name].span)])
            names[fld.name] = fld
            if fld.codes is not None and len(set(fld.codes)) != len(fld.codes):
                self.report.error(f"field `{fld.name}` lists a code twice", fld.span)
        if fact.dated_by is None:
            self.report.error(f"fact `{fact.name}` needs `dated by FIELD` naming the date field that dates it",
                              fact.span)
        for ref in (fact.dated_by, fact.until):
            if ref is None:
                continue
            fld = names.get(ref.name)
            if fld is None:
                self.report.error(f"fact `{fact.name}` has no field `{ref.name}`{did_you_mean(ref.name, names)}",
                                  ref.span)
            elif fld.type != "date":
                self.report.error(f"`dated by` needs a date field; `{ref.name}` is a {fld.type}", ref.span)
        if fact.recording == "states" and fact.until is None:
            self.report.warning(f"fact `{fact.name}` is recorded as states but has no `until END_FIELD`: "
                                "a state then lasts until the next record", fact.span)

    # -- needs, outcomes ---------------------------------------------------------------------
    def _scope_of(self, applies: a.AppliesTo | None, owner: str) -> Scope:
        if applies is not None and applies.kind == "role" and applies.role is not None:
            if applies.role.name not in self.exprs.roles:
                self.report.error(f"unknown role `{applies.role.name}`"
                                  f"{did_you_mean(applies.role.name, self.exprs.roles)}", applies.role.span)
            else:
                self.exprs.references.setdefault(owner, set()).add(applies.role.name)
        return Scope("family" if applies is not None and applies.kind == "family" else "person", owner)

    def _need(self, need: a.NeedDecl) -> None:
        if not need.code.isupper() and self._is_local("need", need.code):
            self.report.warning(f"need codes are written in capitals, e.g. {need.code.upper()}", need.span)
        if need.headline.name not in self.exprs.headlines:
            self.report.error(f"unknown headline `{need.headline.name}`"
                              f"{did_you_mean(need.headline.name, self.exprs.headlines)}", need.headline.span)
        if need.applies_to is None:
            self.report.error(f"need {need.code} must say whom it is about: `for each ROLE`, `for each member` or "
                              "`for family`", need.span)
        if need.condition is None:
            self.report.error(f"`met when` missing: need {need.code} has no condition", need.span)
        scope = self._scope_of(need.applies_to, need.code)
        self.exprs.condition(need.condition, scope, f"need {need.code}")
        self._cited("need", need.code, need)

    def _outcome(self, outcome: a.OutcomeDecl) -> None:
        need = self.exprs.needs.get(outcome.need.name)
        owner = f"outcome for {outcome.need.name}"
        if need is None:
            self.report.error(f"outcome for unknown need `{outcome.need.name}`"
                              f"{did_you_mean(outcome.need.name, self.exprs.needs)}", outcome.need.span)
        applies = outcome.applies_to or (need.applies_to if need is not None else None)
        scope = self._scope_of(applies, owner)
        if outcome.achieved is None:
            self.report.error(f"{owner} needs `achieved when <condition>`", outcome.span)
        self.exprs.condition(outcome.achieved, scope, "`achieved when`")
        self.exprs.condition(outcome.sustained, scope, "`sustained when`")
        self._cited("outcome", outcome.need.name, outcome)

    def _eligibility_and_claim(self) -> None:
        eligibility = self.model.get("eligibility")
        if eligibility is not None:
            if eligibility.condition is None:
                self.report.error("eligibility needs `met when <condition>`, e.g. `met when count of needs >= "
                                  "minimum_needs`", eligibility.span)
            if eligibility.uses_family_definition and self.model.get("family definition") is None:
                self.report.error("`family is family definition`, but there is no `family definition ... end`",
                                  eligibility.span)
            if not eligibility.uses_family_definition and self.model.get("family definition") is not None:
                self.report.warning("eligibility does not apply the family definition; add `family is family "
                                    "definition` (or remove the family definition)", eligibility.span)
            self.exprs.condition(eligibility.condition, Scope("family", "eligibility"), "eligibility")
            self._cited("eligibility", "", eligibility)
        claim = self.model.get("claim")
        if claim is not None:
            if claim.condition is None:
                self.report.error("the claim rule needs `met when <condition>`, e.g. `met when all needs have "
                                  "sustained outcomes`", claim.span)
            self.exprs.condition(claim.condition, Scope("family", "claim"), "the claim rule")
            self._cited("claim", "", claim)

    def _score(self, score: a.ScoreDecl) -> None:
        for weight in score.weights:
            target = weight.target.name
            if target not in self.exprs.needs and target not in self.exprs.headlines:
                self.report.error(f"score `{score.name}`: `{target}` is neither a need nor a headline"
                                  f"{did_you_mean(target, [*self.exprs.needs, *self.exprs.headlines])}",
                                  weight.target.span)
        ratings: dict[str, a.BandDecl] = {}
        for band in score.bands:
            if band.rating in ratings:
                self.report.error(f"score `{score.name}` has two {band.rating} bands", band.span,
                                  [("the first", ratings[band.rating].span)])
            ratings[band.rating] = band
        ordered = [ratings[r].min_score for r in ("red", "amber", "green") if r in ratings]
        if ordered != sorted(ordered, reverse=True):
            self.report.error(f"score `{score.name}`: bands must go down from red to amber to green", score.span)

    def _cited(self, kind: str, name: str, decl: object) -> None:
        if not getattr(decl, "citations", ()) and self._is_local(kind, name):
            what = f"{kind} {name}".strip()
            self.report.warning(f"{what} has no citation; add `source \"...\"` naming the guidance it follows",
                                decl.span)  # type: ignore[attr-defined]

    # -- cycles and reachability -------------------------------------------------------------
    def _graph(self) -> None:
        refs = self.exprs.references
        spans = {**{n: d.span for n, d in self.exprs.roles.items()}, **{n: d.span for n, d in self.exprs.rules.items()},
                 **{n: d.span for n, d in self.exprs.needs.items()}}
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()
        for start in sorted(spans):
            if state.get(start):
                continue
            stack: list[tuple[str, list[str]]] = [(start, sorted(refs.get(start, ())))]
            path = [start]
            state[start] = 1
            while stack:
                node, pending = stack[-1]
                if not pending:
                    state[node] = 2
                    stack.pop()
                    path.pop()
                    continue
                nxt = pending.pop()
                if nxt not in spans:
                    continue
                if state.get(nxt) == 1:
                    cycle = path[path.index(nxt):] + [nxt]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        self.report.error(f"rules refer to each other in a cycle: {' -> '.join(cycle)}", spans[nxt])
                elif not state.get(nxt):
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append((nxt, sorted(refs.get(nxt, ()))))
        # roles are roots too: every member's roles are evaluated to describe the family
        roots = [owner for owner in refs if owner not in self.exprs.rules]
        seen: set[str] = set()
        todo = [name for root in roots for name in refs.get(root, ())]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(refs.get(name, ()))
        for name, rule in self.exprs.rules.items():
            if name not in seen and self._is_local("rule", name):
                self.report.warning(f"rule `{name}` is never used by a need, outcome, eligibility, claim or lifecycle "
                                    "guard", rule.span)


__all__ = ["CheckResult", "check_model", "type_of_unit"]
