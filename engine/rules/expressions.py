"""Compile IR expressions into Python closures, once per framework.

Each closure takes the :class:`~engine.rules.evaluator.Evaluation` of one family and returns a value:
``"met"``/``"not_met"``/``"unknown"`` for conditions, a Python value (number, date, code, Duration),
:data:`~engine.rules.values.UNK` when it cannot be known, or a :class:`~engine.rules.values.Range`
for counts known only within bounds, or a :class:`~engine.rules.values.NoRecord` when a covered source
holds no record to read (``latest`` of nothing). Logic is strict Kleene: ``met or unknown`` is met,
``not_met and unknown`` is not met, any comparison with an unknown side is unknown. A comparison with
a missing record is a statement about nothing: not met, except ``!=`` / ``not in``, which are met;
arithmetic and functions pass the missing record on to the comparison that reads it.

When an evaluation traces (explanations), conditions add a child :class:`TriResult` per
sub-criterion with the computed figures, the facts it read and its unknown reasons.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Callable

from engine.errors import EvaluationError
from engine.rules import ir
from engine.rules.aggregates import compile_aggregate
from engine.rules.calendar import shift
from engine.rules.describe import describe, describe_value
from engine.rules.functions import FUNCTIONS
from engine.rules.results import MET, NOT_MET, UNKNOWN, TriResult, unique_evidence
from engine.rules.values import UNK, NoRecord, Range, ValueUnknown

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation

Compiled = Callable[["Evaluation"], Any]
TRI = (MET, NOT_MET, UNKNOWN)
NEGATE = {MET: NOT_MET, NOT_MET: MET, UNKNOWN: UNKNOWN}
BOOLEAN_KINDS = {"not", "and", "or", "cmp", "has_role", "rule"}
_ORDER_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_INF = float("inf")


@dataclass
class CompileContext:
    """What expression compilation needs to know about the framework, and where it is (for errors)."""

    framework: ir.Framework
    fact_types: dict[str, ir.FactType]
    rule_names: set[str]
    #: add trace hooks (sub-criteria nodes) to conditions; bulk evaluation compiles without them
    traced: bool = False
    where: str = ""
    span: ir.Span | None = None

    def error(self, message: str) -> EvaluationError:
        at = f"{self.span}: " if self.span else ""
        return EvaluationError(f"{at}{message} (in {self.where or 'the framework'})")


def is_boolean(node: ir.Expr) -> bool:
    if node.kind in BOOLEAN_KINDS:
        return True
    if node.kind == "agg":
        return node.fn in ("any", "none", "all")
    if node.kind == "members":
        return node.quant != "count"
    if node.kind == "call":
        fn = FUNCTIONS.get(node.fn)
        return fn is not None and fn.returns == "boolean"
    return False


def to_tri(value: Any) -> str:
    if value is UNK:
        return UNKNOWN
    if value is True:
        return MET
    if value is False:
        return NOT_MET
    if value in TRI:
        return value
    if isinstance(value, NoRecord):  # ``latest X.flag`` with no X: the flag is not set
        return NOT_MET
    raise EvaluationError(f"expected a condition (met / not met) but got the value {value!r}")


def compile_bool(node: ir.Expr, cc: CompileContext) -> Compiled:
    """A closure returning met / not_met / unknown, traced as a sub-criterion when tracing."""
    inner = compile_value(node, cc)
    if not is_boolean(node):
        raw = inner

        def inner(ev: Evaluation) -> str:
            return to_tri(raw(ev))

    if node.kind == "rule" or not cc.traced:  # a rule reference adds its own full result to the trace
        return inner
    return _traced(describe(node), node.kind, inner)


def _traced(label: str, kind: str, inner: Compiled) -> Compiled:
    def run(ev: Evaluation) -> str:
        stack = ev.trace_stack
        if stack is None:
            return inner(ev)
        node = TriResult(UNKNOWN, label, kind, person_id=ev.person.person_id if ev.person else None)
        stack[-1].append(node)
        stack.append(node.children)
        collector = ev.collector
        facts_before, reasons_before = len(collector.facts), len(collector.reasons)
        ev.detail = None
        try:
            value = inner(ev)
        finally:
            stack.pop()
        node.value = value
        node.detail = ev.detail
        ev.detail = None
        node.evidence = unique_evidence(collector.facts[facts_before:])
        if value == UNKNOWN:
            node.unknowns = collector.reasons[reasons_before:]
        return value

    return run


def compile_value(node: ir.Expr, cc: CompileContext) -> Compiled:
    compiler = _COMPILERS.get(node.kind)
    if compiler is None:
        raise cc.error(f"the evaluator does not know expression kind {node.kind!r}")
    return compiler(node, cc)


# Leaves -------------------------------------------------------------------------------------------


def _lit(node: ir.Lit, cc: CompileContext) -> Compiled:
    value = UNK if node.value is None else node.value
    return lambda ev: value


def _param(node: ir.ParamRef, cc: CompileContext) -> Compiled:
    if cc.framework.parameter(node.name) is None:
        raise cc.error(f"unknown parameter {node.name!r}")
    name = node.name
    return lambda ev: ev.param(name)


def _person_attr(node: ir.PersonAttr, cc: CompileContext) -> Compiled:
    name = node.name
    return lambda ev: ev.person_attr(name)


def _family_attr(node: ir.FamilyAttr, cc: CompileContext) -> Compiled:
    name = node.name
    return lambda ev: ev.family_attr(name)


def _field(node: ir.FieldRef, cc: CompileContext) -> Compiled:
    name = node.name
    return lambda ev: ev.fact_field(name)


def _as_of(node: ir.AsOf, cc: CompileContext) -> Compiled:
    anchor = node.anchor
    return lambda ev: ev.anchor_date(anchor)


# Logic --------------------------------------------------------------------------------------------


def _not(node: ir.Not, cc: CompileContext) -> Compiled:
    arg = compile_bool(node.arg, cc)
    return lambda ev: NEGATE[arg(ev)]


def _junction(node: ir.And | ir.Or, cc: CompileContext) -> Compiled:
    """Kleene and/or: a single not-met argument decides ``and``, a single met decides ``or``.

    Evaluation stops at the deciding argument, so a result's evidence is the facts that decided it
    (and an explanation shows the branch that mattered); unknown arguments never stop it.
    """
    args = tuple(compile_bool(a, cc) for a in node.args)
    decisive = NOT_MET if node.kind == "and" else MET
    otherwise = NEGATE[decisive]

    def run(ev: Evaluation) -> str:
        unsure = False
        for arg in args:
            value = arg(ev)
            if value == decisive:
                return decisive
            if value == UNKNOWN:
                unsure = True
        return UNKNOWN if unsure else otherwise

    return run


def _bounds(value: Any) -> tuple[float, float]:
    if isinstance(value, Range):
        return value.lo, (_INF if value.hi is None else value.hi)
    return value, value


def compare_ranges(op: str, left: Any, right: Any) -> str:
    """Decide a comparison where one side is only known within bounds (met/not_met when every value
    in the bounds agrees, else unknown)."""
    l_lo, l_hi = _bounds(left)
    r_lo, r_hi = _bounds(right)
    if op in ("=", "!="):
        if l_lo == l_hi == r_lo == r_hi:
            equal = MET
        elif l_hi < r_lo or l_lo > r_hi:
            equal = NOT_MET
        else:
            equal = UNKNOWN
        return equal if op == "=" else NEGATE[equal]
    fn = _ORDER_OPS[op]
    if op in ("<", "<="):
        return MET if fn(l_hi, r_lo) else NOT_MET if not fn(l_lo, r_hi) else UNKNOWN
    return MET if fn(l_lo, r_hi) else NOT_MET if not fn(l_hi, r_lo) else UNKNOWN


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if not value.is_integer() else str(int(value))
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    if isinstance(value, NoRecord):
        return "none"
    return "unknown" if value is UNK else describe_value(value)


def _compare(node: ir.Compare, cc: CompileContext) -> Compiled:
    left, right, op = compile_value(node.left, cc), compile_value(node.right, cc), node.op
    where = cc.where
    positive = op not in ("!=", "not in")  # decides a comparison with a missing record
    if op in ("in", "not in"):
        def test(a: Any, b: Any) -> bool:
            members = b if isinstance(b, tuple) else (b,)
            return (a in members) == (op == "in")
    elif op in ("=", "!="):
        def test(a: Any, b: Any) -> bool:
            return (a == b) == (op == "=")
    else:
        test = _ORDER_OPS[op]

    def run(ev: Evaluation) -> str:
        a, b = left(ev), right(ev)
        if ev.trace_stack is not None:  # the figures behind the comparison, for explanations only
            detail = ev.detail
            ev.detail = f"{_show(a)} {op} {_show(b)}" + (f"; {detail}" if detail else "")
        if a is UNK or b is UNK or (isinstance(b, tuple) and UNK in b):
            return UNKNOWN
        kinds = (type(a), type(b))  # NoRecord and Range have no subclasses: exact type tests suffice
        if NoRecord in kinds:
            return NOT_MET if positive else MET  # nothing equals, is in, or is above/below a value
        if Range in kinds:
            return compare_ranges(op, a, b)
        try:
            return MET if test(a, b) else NOT_MET
        except TypeError as exc:
            raise EvaluationError(f"cannot compare {a!r} {op} {b!r} in {where}: {exc}") from exc

    return run


# Arithmetic and calls -----------------------------------------------------------------------------


def arithmetic(op: str, a: Any, b: Any, ev: Evaluation) -> Any:
    if a is UNK or b is UNK:
        return UNK
    if isinstance(a, NoRecord) or isinstance(b, NoRecord):
        return a if isinstance(a, NoRecord) else b
    if isinstance(b, ir.Duration) and isinstance(a, date) and op in "+-":
        return shift(a, b.amount if op == "+" else -b.amount, b.unit, ev.terms)
    if isinstance(a, date) and isinstance(b, date) and op == "-":
        return (a - b).days
    if isinstance(a, Range) or isinstance(b, Range):
        if op in "+-" and not (isinstance(a, Range) and isinstance(b, Range)):
            rng, num = (a, b) if isinstance(a, Range) else (b, a)
            sign = -1 if op == "-" and isinstance(b, Range) else 1
            if sign < 0:
                return Range(num - (rng.hi if rng.hi is not None else _INF), num - rng.lo)
            delta = num if op == "+" else -num
            return Range(rng.lo + delta, None if rng.hi is None else rng.hi + delta)
        ev.unknown(f"a count known only as {a if isinstance(a, Range) else b} cannot be used in {op}")
        return UNK
    if op == "/":
        if b == 0:
            ev.unknown("division by zero")
            return UNK
        return a / b
    return {"+": operator.add, "-": operator.sub, "*": operator.mul}[op](a, b)


def _arith(node: ir.Arith, cc: CompileContext) -> Compiled:
    left, right, op = compile_value(node.left, cc), compile_value(node.right, cc), node.op
    where = cc.where

    def run(ev: Evaluation) -> Any:
        try:
            return arithmetic(op, left(ev), right(ev), ev)
        except TypeError as exc:
            raise EvaluationError(f"cannot compute {op} in {where}: {exc}") from exc

    return run


def _list(node: ir.ListLit, cc: CompileContext) -> Compiled:
    items = tuple(compile_value(i, cc) for i in node.items)
    return lambda ev: tuple(i(ev) for i in items)


def _call(node: ir.Call, cc: CompileContext) -> Compiled:
    function = FUNCTIONS.get(node.fn)
    if function is None:
        raise cc.error(f"unknown function {node.fn!r}; built-ins are {', '.join(sorted(FUNCTIONS))}")
    if not function.variadic and len(node.args) != len(function.params):
        raise cc.error(f"{node.fn}() takes {len(function.params)} argument(s), {len(node.args)} given")
    args = tuple(compile_value(a, cc) for a in node.args)
    unknown_result = UNKNOWN if function.returns == "boolean" else UNK
    fn, needs_context = function.fn, function.needs_context

    def run(ev: Evaluation) -> Any:
        values = [a(ev) for a in args]
        if any(v is UNK or isinstance(v, Range) for v in values):
            return unknown_result
        missing = next((v for v in values if isinstance(v, NoRecord)), None)
        if missing is not None:
            return NOT_MET if function.returns == "boolean" else missing
        try:
            return fn(ev, *values) if needs_context else fn(*values)
        except ValueUnknown as exc:
            ev.unknown(exc.reason)
            return unknown_result

    return run


# Facts, members, rules ----------------------------------------------------------------------------


def _aggregate(node: ir.Aggregate, cc: CompileContext) -> Compiled:
    fact_type = cc.fact_types.get(node.fact)
    if fact_type is None:
        raise cc.error(f"unknown fact type {node.fact!r}")
    return compile_aggregate(node, fact_type, lambda expr: compile_bool(expr, cc))


def _members(node: ir.Members, cc: CompileContext) -> Compiled:
    test = compile_bool(node.test, cc) if node.test is not None else None
    role, quant = node.role, node.quant

    def run(ev: Evaluation) -> Any:
        saved = ev.person
        met = unknown = 0
        violated = unsure = False
        try:
            for member in ev.members:
                ev.person = member
                holds = ev.role_value(role, member) if role else MET
                if holds == NOT_MET:
                    continue
                passed = test(ev) if test is not None else MET
                both = NOT_MET if passed == NOT_MET else (MET if holds == passed == MET else UNKNOWN)
                met += both == MET
                unknown += both == UNKNOWN
                # "every member who is R has C": a member surely holding R who fails C breaks it
                violated = violated or (holds == MET and passed == NOT_MET)
                unsure = unsure or (passed != MET and not (holds == MET and passed == NOT_MET))
        finally:
            ev.person = saved
        if quant == "count":
            return met if unknown == 0 else Range(met, met + unknown)
        if quant == "all":
            return NOT_MET if violated else (UNKNOWN if unsure else MET)
        any_value = MET if met else (UNKNOWN if unknown else NOT_MET)
        return any_value if quant == "any" else NEGATE[any_value]

    return run


def _has_role(node: ir.HasRole, cc: CompileContext) -> Compiled:
    if cc.framework.role(node.role) is None:
        raise cc.error(f"unknown role {node.role!r}")
    role = node.role
    return lambda ev: ev.role_value(role, ev.require_person(f"is {role}"))


def _rule(node: ir.RuleRef, cc: CompileContext) -> Compiled:
    if node.name not in cc.rule_names:
        raise cc.error(f"unknown rule {node.name!r}")
    name = node.name
    return lambda ev: ev.rule_ref(name)


def _need_count(node: ir.NeedCount, cc: CompileContext) -> Compiled:
    distinct, headlines = node.distinct_headlines, node.headlines
    return lambda ev: ev.need_count(distinct, headlines)


_COMPILERS: dict[str, Callable[[Any, CompileContext], Compiled]] = {
    "lit": _lit, "param": _param, "person_attr": _person_attr, "family_attr": _family_attr,
    "field": _field, "as_of": _as_of, "not": _not, "and": _junction, "or": _junction, "cmp": _compare,
    "arith": _arith, "list": _list, "call": _call, "agg": _aggregate, "members": _members,
    "has_role": _has_role, "rule": _rule, "need_count": _need_count,
}
