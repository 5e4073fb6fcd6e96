"""Expression checking: resolve every bare name, and infer and compare units.

Types are unit words: ``condition`` (a three-valued test), ``count``, ``number``, ``percent``, ``money``,
``date``, ``duration``, ``code``, ``text`` and ``unknown`` (already reported; never reported again).
A plain ``number`` (the result of ``*`` or ``/``) may be compared with a percent or money, so
``attended / possible * 100 >= threshold`` checks, but a bare ``90`` against a percent does not:
the author meant ``90%``.

The checker records what each name and quantifier turned out to be (:attr:`ExprChecker.resolved`,
keyed by node identity); :mod:`dsl.compile` reads that instead of resolving names a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from dsl import ast as a
from dsl.compose import Model
from dsl.errors import Diagnostic, Related, did_you_mean

PERSON_ATTRIBUTES = {"age": "number", "date_of_birth": "date", "sex": "code"}
FAMILY_ATTRIBUTES = {"size": "count", "children": "count", "adults": "count"}
#: names every framework may use: the eligibility and claim results
BUILTIN_RULES = ("eligible", "claimable")
UNIT_TYPES = {
    "percent": "percent", "days": "duration", "weeks": "duration", "months": "duration", "years": "duration",
    "terms": "duration", "money": "money", "count": "count", "number": "number", "date": "date",
    "boolean": "condition", "text": "text", "code": "code", "duration": "duration",
}
NUMERIC = {"count", "number", "percent", "money"}
_SUGGEST = {"percent": "90%", "money": "£500", "duration": "12 months", "date": "2023-04-01"}


def _known_functions() -> dict[str, tuple[tuple[str, ...], str]]:
    """Name -> (argument units, result unit), from the engine's function registry."""
    try:
        from engine.rules.functions import FUNCTIONS
    except ImportError:  # the registry is the engine's; without it no call can be checked
        return {}
    return {name: (tuple(f.params), f.returns) for name, f in FUNCTIONS.items()}


@dataclass(frozen=True)
class Scope:
    """What an expression can see: the subject (a person or the family) and, in ``where``/``has``, a fact."""

    subject: str
    owner: str
    fact: a.FactDecl | None = None
    #: inside a filter over an unknown fact type: names cannot be checked, and the fact was reported
    lenient: bool = False


@dataclass
class Reporter:
    model: Model
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, message: str, span: a.Span, related: Iterable[tuple[str, a.Span]] = ()) -> None:
        self._add("error", message, span, related)

    def warning(self, message: str, span: a.Span) -> None:
        self._add("warning", message, span, ())

    def _add(self, severity: str, message: str, span: a.Span, related: Iterable[tuple[str, a.Span]]) -> None:
        rel = tuple(Related(m, s, self.model.source_line(s)) for m, s in related)
        self.diagnostics.append(Diagnostic(severity, message, span, self.model.source_line(span), rel))  # type: ignore[arg-type]


def type_of_unit(unit: str | None) -> str:
    return UNIT_TYPES.get(unit or "", "unknown")


def comparable(left: str, right: str) -> bool:
    if "unknown" in (left, right) or left == right:
        return True
    pair = {left, right}
    if pair <= {"count", "number"} or pair == {"code", "text"}:
        return True
    return "number" in pair and bool(pair & {"percent", "money"})


class ExprChecker:
    """Checks expressions against the model; collects diagnostics, references and resolutions."""

    def __init__(self, model: Model, report: Reporter):
        self.model = model
        self.report = report
        self.params = model.of_kind("parameter")
        self.facts = model.of_kind("fact")
        self.roles = model.of_kind("role")
        self.rules = model.of_kind("rule")
        self.needs = model.of_kind("need")
        self.headlines = model.of_kind("headline")
        self.functions = _known_functions()
        self.resolved: dict[int, str] = {}
        self.used_params: set[str] = set()
        #: owner -> names of roles/rules/needs its expressions refer to (for cycles and reachability)
        self.references: dict[str, set[str]] = {}

    # -- entry point -------------------------------------------------------------------------
    def condition(self, expr: a.Expr | None, scope: Scope, what: str) -> None:
        """Check an expression that must be a condition (met / not met / unknown)."""
        if expr is None:
            return
        kind = self.check(expr, scope)
        if kind not in ("condition", "unknown"):
            self.report.error(f"{what} must be a condition (met / not met), but this is a {kind}; "
                              "compare it with something, e.g. `>= 3`", expr.span)

    def check(self, expr: a.Expr, scope: Scope) -> str:
        method = getattr(self, f"_{type(expr).__name__}")
        return method(expr, scope)

    # -- literals ----------------------------------------------------------------------------
    def _Number(self, e: a.Number, s: Scope) -> str:
        return "count" if isinstance(e.value, int) else "number"

    def _Percent(self, e: a.Percent, s: Scope) -> str:
        return "percent"

    def _Money(self, e: a.Money, s: Scope) -> str:
        return "money"

    def _DateLit(self, e: a.DateLit, s: Scope) -> str:
        return "date"

    def _DurationLit(self, e: a.DurationLit, s: Scope) -> str:
        if not isinstance(e.amount, int):
            self.report.error(f"a duration is a whole number of {e.unit}; write e.g. {int(e.amount)} {e.unit}", e.span)
        return "duration"

    def _BoolLit(self, e: a.BoolLit, s: Scope) -> str:
        return "condition"

    def _StringLit(self, e: a.StringLit, s: Scope) -> str:
        return "text"

    def _AnchorDate(self, e: a.AnchorDate, s: Scope) -> str:
        return "date"

    def _AllOutcomes(self, e: a.AllOutcomes, s: Scope) -> str:
        return "condition"

    # -- names -------------------------------------------------------------------------------
    def _Name(self, e: a.Name, s: Scope) -> str:
        name = e.name
        if s.fact is not None:
            fld = next((f for f in s.fact.fields if f.name == name), None)
            if fld is not None:
                self.resolved[id(e)] = "field"
                return type_of_unit(fld.type) if fld.type != "boolean" else "condition"
        if name in self.params:
            self.resolved[id(e)] = "param"
            self.used_params.add(name)
            return type_of_unit(self.params[name].unit)
        if name in self.roles:
            if s.subject == "family":
                self.report.error(f"role `{name}` is about one person; in a family-level rule write "
                                  f"`any member is {name}`", e.span)
                return "unknown"
            return self._ref(e, s, "role")
        if name in self.rules:
            if self.rules[name].subject == "person" and s.subject == "family":
                self.report.error(f"rule `{name}` is about one person; in a family-level rule use "
                                  f"`any member has {name}`", e.span)
                return "unknown"
            return self._ref(e, s, "rule")
        if name in self.needs:
            return self._ref(e, s, "rule")
        if name in BUILTIN_RULES:
            self.resolved[id(e)] = "rule"
            return "condition"
        attrs = PERSON_ATTRIBUTES if s.subject == "person" else FAMILY_ATTRIBUTES
        if name in attrs:
            self.resolved[id(e)] = "person_attr" if s.subject == "person" else "family_attr"
            return attrs[name]
        self._unknown_name(e, s)
        return "unknown"

    def _ref(self, e: a.Name, s: Scope, kind: str) -> str:
        self.resolved[id(e)] = kind
        self.references.setdefault(s.owner, set()).add(e.name)
        return "condition"

    def _unknown_name(self, e: a.Name, s: Scope, extra: Iterable[str] = ()) -> None:
        if s.lenient:
            return
        choices = [*self.params, *self.roles, *self.rules, *self.needs, *BUILTIN_RULES, *extra,
                   *(PERSON_ATTRIBUTES if s.subject == "person" else FAMILY_ATTRIBUTES)]
        where = ""
        if s.fact is not None:
            choices += [f.name for f in s.fact.fields]
            where = f" (fields of {s.fact.name}: {', '.join(f.name for f in s.fact.fields)})"
        hint = did_you_mean(e.name, choices)
        self.report.error(f"unknown name `{e.name}`: not a parameter, role, rule, need or field{where}{hint}", e.span)

    # -- operators ---------------------------------------------------------------------------
    def _Unary(self, e: a.Unary, s: Scope) -> str:
        if e.op == "not":
            self.condition(e.arg, s, "the operand of `not`")
            return "condition"
        kind = self.check(e.arg, s)
        if kind not in NUMERIC | {"duration", "unknown"}:
            self.report.error(f"cannot negate a {kind}", e.span)
            return "unknown"
        return kind

    def _BinOp(self, e: a.BinOp, s: Scope) -> str:
        if e.op in ("and", "or"):
            self.condition(e.left, s, f"each side of `{e.op}`")
            self.condition(e.right, s, f"each side of `{e.op}`")
            return "condition"
        left, right = self.check(e.left, s), self.check(e.right, s)
        if "unknown" in (left, right):
            return "unknown"
        result = _arith(e.op, left, right)
        if result is None:
            self.report.error(f"cannot compute {left} {e.op} {right}", e.span)
            return "unknown"
        return result

    def _Compare(self, e: a.Compare, s: Scope) -> str:
        if e.op in ("in", "not in"):
            return self._membership(e, s)
        left = self._operand(e.left, e.right, s)
        if self._undefined_name(e.left, s) and self._undefined_name(e.right, s):
            # `outcom = proven`: the misspelt field is reported; `proven` is then surely meant as a code
            self.resolved[id(e.right)] = "code"
            return "condition"
        right = self._operand(e.right, e.left, s)
        if not comparable(left, right):
            hint = ""
            literal = e.right if isinstance(e.right, a.Number) else e.left if isinstance(e.left, a.Number) else None
            other = left if literal is e.right else right
            if literal is not None and other in _SUGGEST:
                hint = f"; write the number with its unit, e.g. {_SUGGEST[other]}"
            self.report.error(f"cannot compare a {left} with a {right}{hint}", e.span)
        elif e.op not in ("=", "!=") and (left in ("code", "text", "condition") or right in ("code", "text", "condition")):
            self.report.error(f"`{e.op}` needs numbers, dates or durations; a {left if left in ('code', 'text', 'condition') else right} "
                              "can only be compared with = or !=", e.span)
        return "condition"

    def _operand(self, expr: a.Expr, other: a.Expr, s: Scope) -> str:
        """Type an operand; a bare name beside a code field is a code value, checked against its codes."""
        codes = self._codes_of(other, s)
        if isinstance(expr, a.Name) and codes is not False and not self._is_defined(expr.name, s):
            self._code_value(expr, codes, other)
            return "code"
        return self.check(expr, s)

    def _undefined_name(self, expr: a.Expr, s: Scope) -> bool:
        attrs = PERSON_ATTRIBUTES if s.subject == "person" else FAMILY_ATTRIBUTES
        return (isinstance(expr, a.Name) and not self._is_defined(expr.name, s) and expr.name not in attrs
                and expr.name not in BUILTIN_RULES)

    def _membership(self, e: a.Compare, s: Scope) -> str:
        left = self.check(e.left, s)
        if self._undefined_name(e.left, s):
            for item in e.right.items:  # type: ignore[union-attr]
                self.resolved[id(item)] = "code"
            return "condition"
        codes = self._codes_of(e.left, s)
        assert isinstance(e.right, a.ListExpr)
        for item in e.right.items:
            if isinstance(item, a.Name) and codes is not False and not self._is_defined(item.name, s):
                self._code_value(item, codes, e.left)
                continue
            kind = self.check(item, s)
            if not comparable(left, kind):
                self.report.error(f"this list holds a {kind}, but the value tested is a {left}", item.span)
        return "condition"

    def _is_defined(self, name: str, s: Scope) -> bool:
        if s.fact is not None and any(f.name == name for f in s.fact.fields):
            return True
        return name in self.params or name in self.roles or name in self.rules or name in self.needs

    def _codes_of(self, expr: a.Expr, s: Scope) -> tuple[str, ...] | None | bool:
        """Declared codes of a code-typed field/aggregate (None: any code); False: not a code at all."""
        field_decl = None
        if isinstance(expr, a.Name) and s.fact is not None:
            field_decl = next((f for f in s.fact.fields if f.name == expr.name), None)
        elif isinstance(expr, a.Aggregate) and expr.fn in ("latest", "earliest", "min", "max"):
            fact = self.facts.get(expr.fact.name)
            field_decl = next((f for f in fact.fields if f.name == expr.field.name), None) if fact else None
        elif isinstance(expr, a.Name) and expr.name == "sex" and s.subject == "person":
            return ("F", "M", "X", "U")
        elif isinstance(expr, a.Name) and expr.name in self.params and self.params[expr.name].unit == "code":
            return None
        if field_decl is None or field_decl.type != "code":
            return False
        return field_decl.codes

    def _code_value(self, name: a.Name, codes: tuple[str, ...] | None | bool, against: a.Expr) -> None:
        self.resolved[id(name)] = "code"
        if codes and name.name not in codes:
            what = against.name if isinstance(against, a.Name) else f"{against.fact.name}.{against.field.name}"  # type: ignore[union-attr]
            self.report.error(f"`{name.name}` is not a code of {what} (codes: {', '.join(codes)})"
                              f"{did_you_mean(name.name, codes)}", name.span)

    def _ListExpr(self, e: a.ListExpr, s: Scope) -> str:
        self.report.error("a list `(a, b)` only goes after `in` or `not in`", e.span)
        return "unknown"

    def _CallExpr(self, e: a.CallExpr, s: Scope) -> str:
        kinds = [self.check(arg, s) for arg in e.args]
        if e.fn not in self.functions:
            self.report.error(f"unknown function `{e.fn}`{did_you_mean(e.fn, self.functions)} "
                              f"(functions: {', '.join(sorted(self.functions))})", e.span)
            return "unknown"
        params, returns = self.functions[e.fn]
        variadic = bool(params) and params[-1].startswith("*")
        if (variadic and len(kinds) < len(params)) or (not variadic and len(kinds) != len(params)):
            self.report.error(f"`{e.fn}` takes {len(params)}{' or more' if variadic else ''} argument(s), "
                              f"got {len(kinds)}", e.span)
            return "unknown"
        for index, (arg, kind) in enumerate(zip(e.args, kinds)):
            want = type_of_unit(params[min(index, len(params) - 1)].lstrip("*"))
            if want == "number" and kind in NUMERIC:
                continue
            if not comparable(want, kind):
                self.report.error(f"`{e.fn}` needs a {want} here, got a {kind}", arg.span)
        kind = type_of_unit(returns)
        return "number" if kind == "duration" else kind

    # -- aggregations ------------------------------------------------------------------------
    def _fact(self, name: a.Name) -> a.FactDecl | None:
        fact = self.facts.get(name.name)
        if fact is None:
            self.report.error(f"unknown fact type `{name.name}`{did_you_mean(name.name, self.facts)}", name.span)
        return fact

    def _inner(self, fact: a.FactDecl | None, s: Scope) -> Scope:
        return Scope(s.subject, s.owner, fact, lenient=fact is None)

    def window(self, w: a.Window | None, fact: a.FactDecl | None) -> None:
        if w is None:
            return
        if isinstance(w.length, a.Name):
            param = self.params.get(w.length.name)
            if param is None:
                self.report.error(f"unknown parameter `{w.length.name}` as a window length"
                                  f"{did_you_mean(w.length.name, self.params)}", w.length.span)
                return
            self.resolved[id(w.length)] = "param"
            self.used_params.add(param.name)
            if type_of_unit(param.unit) != "duration":
                self.report.error(f"window length `{param.name}` is a {param.unit}; it must be a duration "
                                  "(days, weeks, months, years or terms)", w.length.span)
                return
            unit = param.unit
        else:
            unit = w.length.unit
        if w.kind == "each":
            if unit != "terms":
                self.report.error("`each of last N terms` counts terms; write the length in terms", w.span)
            elif fact is not None and fact.recording != "periodic":
                self.report.error(f"`each of last ... terms` needs a fact recorded per term, but {fact.name} is "
                                  f"recorded as {fact.recording or 'events'}", w.span)

    def _Quantified(self, e: a.Quantified, s: Scope) -> str:
        name = e.subject.name
        if name in self.facts and name not in self.roles:
            self.resolved[id(e)] = "fact"
            fact = self.facts[name]
            inner = self._inner(fact, s)
            self.condition(e.where, inner, "a `where` filter")
            self.window(e.window, fact)
            self.condition(e.has, inner, "a `has` test")
            if e.quant == "every" and e.has is None:
                self.report.error(f"`every {name}` needs `has <condition>` saying what every record must show",
                                  e.span)
            return "condition"
        if name in self.roles or name == "member":
            # in a person-level rule a member quantifier looks at the person's family
            self.resolved[id(e)] = "role"
            if e.where is not None or e.window is not None or e.of_family:
                self.report.error(f"`{name}` is a role: `where`, `of family` and windows apply to fact types",
                                  e.span)
            self.references.setdefault(s.owner, set()).add(name)
            self.condition(e.has, Scope("person", s.owner), "a `has` test")
            return "condition"
        self.report.error(f"unknown fact type or role `{name}`"
                          f"{did_you_mean(name, [*self.facts, *self.roles])}", e.subject.span)
        return "unknown"

    def _MemberQuantified(self, e: a.MemberQuantified, s: Scope) -> str:
        if e.role is not None:
            self._role(e.role, s)
        self.condition(e.has, Scope("person", s.owner), "a `has` test")
        return "condition"

    def _role(self, role: a.Name, s: Scope) -> None:
        if role.name not in self.roles:
            self.report.error(f"unknown role `{role.name}`{did_you_mean(role.name, self.roles)}", role.span)
        else:
            self.references.setdefault(s.owner, set()).add(role.name)

    def _CountFacts(self, e: a.CountFacts, s: Scope) -> str:
        fact = self._fact(e.fact)
        self.condition(e.where, self._inner(fact, s), "a `where` filter")
        self.window(e.window, fact)
        return "count"

    def _CountMembers(self, e: a.CountMembers, s: Scope) -> str:
        if e.role is not None:
            self._role(e.role, s)
        return "count"

    def _CountNeeds(self, e: a.CountNeeds, s: Scope) -> str:
        for headline in e.headlines:
            if headline.name not in self.headlines:
                self.report.error(f"unknown headline `{headline.name}`{did_you_mean(headline.name, self.headlines)}",
                                  headline.span)
        return "count"

    def _Aggregate(self, e: a.Aggregate, s: Scope) -> str:
        fact = self._fact(e.fact)
        self.condition(e.where, self._inner(fact, s), "a `where` filter")
        self.window(e.window, fact)
        if fact is None:
            return "unknown"
        kind = self._field_type(fact, e.field)
        if e.fn == "rate":
            if e.per_fact is not None and e.per_fact.name != fact.name:
                self.report.error(f"a rate divides two fields of one fact: write {fact.name}.{e.per_field.name if e.per_field else '...'}",
                                  e.per_fact.span)
            per = self._field_type(fact, e.per_field) if e.per_field is not None else "unknown"
            for k, node in ((kind, e.field), (per, e.per_field)):
                if k not in NUMERIC | {"unknown"} and node is not None:
                    self.report.error(f"a rate needs numeric fields; {fact.name}.{node.name} is a {k}", node.span)
            return "percent"
        if e.fn in ("sum", "average") and kind not in NUMERIC | {"unknown"}:
            self.report.error(f"cannot take the {e.fn} of {fact.name}.{e.field.name}, a {kind}", e.field.span)
            return "unknown"
        if e.fn in ("min", "max") and kind not in NUMERIC | {"date", "duration", "unknown"}:
            self.report.error(f"cannot take the {e.fn} of {fact.name}.{e.field.name}, a {kind}", e.field.span)
            return "unknown"
        return "number" if e.fn == "average" and kind == "count" else kind

    def _field_type(self, fact: a.FactDecl, name: a.Name) -> str:
        fld = next((f for f in fact.fields if f.name == name.name), None)
        if fld is None:
            self.report.error(f"fact `{fact.name}` has no field `{name.name}`"
                              f"{did_you_mean(name.name, [f.name for f in fact.fields])} "
                              f"(fields: {', '.join(f.name for f in fact.fields)})", name.span)
            return "unknown"
        return "condition" if fld.type == "boolean" else type_of_unit(fld.type)


def _arith(op: str, left: str, right: str) -> str | None:
    """The unit of ``left op right``, or None when the combination means nothing."""
    if op in ("+", "-"):
        if left == "date" and right == "duration":
            return "date"
        if op == "+" and left == "duration" and right == "date":
            return "date"
        if op == "-" and left == right == "date":
            return "number"
        if left == right and left in NUMERIC | {"duration"}:
            return left
        if {left, right} <= {"count", "number"}:
            return "number"
        if "number" in (left, right) and {left, right} <= NUMERIC:
            return left if right == "number" else right
        return None
    if left not in NUMERIC or right not in NUMERIC:
        if op == "*" and {left, right} <= {"duration", "count", "number"} and "duration" in (left, right):
            return "duration"
        return None
    if op == "/" and left == right:
        return "number"
    if "money" in (left, right) and (op == "*" or left == "money"):
        return "money"
    return "number"

