"""Values column-wise: three-valued conditions as int8 arrays, numbers and dates as bounds, codes as
object arrays, and the comparisons and arithmetic the per-family evaluator defines on them
(:mod:`engine.rules.expressions`), element by element the same."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from engine.rules import ir
from engine.rules.expressions import arithmetic, compare_ranges
from engine.rules.results import MET, NOT_MET, UNKNOWN
from engine.rules.values import UNK, NoRecord, Range

NOT, UNSURE, YES = 0, 1, 2  # Kleene: and = min, or = max, not = 2 - x
NAMES = (NOT_MET, UNKNOWN, MET)
_CODES = {NOT_MET: NOT, UNKNOWN: UNSURE, MET: YES}
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_NUMBER_FIELDS = {"number", "percent", "count", "money"}


class Unsupported(Exception):
    """A construct this module does not cover: the rule is left to the per-family evaluator."""


@dataclass
class Num:
    """Numbers, or dates as ordinals, per subject: ``lo``..``hi`` (equal when known exactly)."""

    lo: np.ndarray
    hi: np.ndarray
    unk: np.ndarray
    none: np.ndarray
    dates: bool


class Counted(Num):
    """A count of needs (``engine.columns.family``): known within bounds when some need is unknown, which
    the needs' own reasons account for."""


@dataclass
class Obj:
    """Codes, text or booleans per subject (object array)."""

    values: np.ndarray
    unk: np.ndarray
    none: np.ndarray


@dataclass
class Const:
    value: Any


def group_rows(keys: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """For each row of ``keys`` (small non-negative-or--1 integers) the number of its distinct value, and
    the distinct rows: one integer per row when the columns fit in 62 bits, so NumPy sorts a vector."""
    bases = keys.max(axis=0) + 2
    if float(np.prod(bases.astype(np.float64))) < 2.0 ** 62:
        weights = np.concatenate(([1], np.cumprod(bases[:-1]))).astype(np.int64)
        packed = (keys + 1) @ weights
        _, first, number = np.unique(packed, return_index=True, return_inverse=True)
        return number.reshape(-1), [keys[i] for i in first]
    unique, number = np.unique(keys, axis=0, return_inverse=True)
    return np.asarray(number).reshape(-1), list(unique)


def field_type(fact_type: ir.FactType, name: str) -> str:
    declared = fact_type.field(name)
    if declared is not None:
        return declared.type
    if name in (fact_type.date_field, fact_type.end_field):
        return "date"
    raise Unsupported(f"field {name} of {fact_type.name}")


_DATES = {date, type(None)}
_NUMBERS = {int, float, type(None)}


def column(values: list[Any], kind: str) -> Num | Obj:
    missing = np.array([v is None for v in values], dtype=bool)
    no = np.zeros(len(values), dtype=bool)
    types = set(map(type, values))  # (the usual exact types are checked at C speed; subclasses one by one)
    if kind == "date":
        if not types <= _DATES and not all(v is None or isinstance(v, date) for v in values):
            raise Unsupported("a date field holding something else")
        lo = np.array([v.toordinal() if v is not None else np.nan for v in values], dtype=np.float64)
        return Num(lo, lo, missing, no, True)
    if kind in _NUMBER_FIELDS:
        if not types <= _NUMBERS and not all(
                v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
            raise Unsupported("a number field holding something else")
        lo = np.array([v if v is not None else np.nan for v in values], dtype=np.float64)
        return Num(lo, lo, missing, no, False)
    if kind in ("code", "text", "boolean"):
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return Obj(array, missing, no)
    raise Unsupported(f"a {kind} field")


def params_maybe_unread(node: Any, later: bool = False) -> bool:
    """Whether evaluating ``node`` on one record may leave one of its parameters unread: one in an argument
    of and/or after the first (Kleene evaluation stops at the deciding argument). Every other parameter is
    read, in the order the columns visit them, whenever the test is tried on a record."""
    kind = getattr(node, "kind", None)
    if kind == "param":
        return later
    if kind in ("and", "or"):
        first, *rest = node.args
        return params_maybe_unread(first, later) or any(params_maybe_unread(arg, True) for arg in rest)
    children = [getattr(node, f, None) for f in ("arg", "left", "right")] + list(getattr(node, "args", ()) or ())
    children += list(getattr(node, "items", ()) or ())
    return any(params_maybe_unread(c, later) for c in children if c is not None)


def _as_number(value: Any, dates: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, date)) or isinstance(value, date) != dates:
        raise Unsupported(f"comparing with {value!r}")
    return float(value.toordinal()) if isinstance(value, date) else float(value)


def compare_numbers(op: str, left: Num, right: Num | Const) -> np.ndarray:
    if op in ("in", "not in"):
        raise Unsupported("'in' on numbers")
    if isinstance(right, Const):
        if isinstance(right.value, Range):
            r_lo = np.full(left.lo.shape, float(right.value.lo))
            r_hi = np.full(left.lo.shape, np.inf if right.value.hi is None else float(right.value.hi))
        else:
            r_lo = r_hi = np.full(left.lo.shape, _as_number(right.value, left.dates))
    else:
        if not isinstance(right, Num) or right.dates != left.dates:
            raise Unsupported("comparing a number or date with something else")
        r_lo, r_hi = right.lo, right.hi
    with np.errstate(invalid="ignore"):
        if op in ("=", "!="):
            equal = np.where((left.lo == left.hi) & (left.hi == r_lo) & (r_lo == r_hi), YES,
                             np.where((left.hi < r_lo) | (left.lo > r_hi), NOT, UNSURE))
            return equal if op == "=" else 2 - equal
        fn = _ORDER[op]
        if op in ("<", "<="):
            return np.where(fn(left.hi, r_lo), YES, np.where(~fn(left.lo, r_hi), NOT, UNSURE))
        return np.where(fn(left.lo, r_hi), YES, np.where(~fn(left.hi, r_lo), NOT, UNSURE))


#: constants NumPy compares with an object array element by element, as Python's ``==`` does
_SCALARS = (str, bool, int, float, type(None))


def compare_objects(op: str, left: Obj, value: Any) -> np.ndarray:
    if op in ("in", "not in"):
        members = value if isinstance(value, tuple) else (value,)
        hit = _equal_any(left.values, members)
        return np.where(hit == (op == "in"), YES, NOT)
    if op in ("=", "!="):
        hit = _equal_any(left.values, (value,))
        return np.where(hit == (op == "="), YES, NOT)
    raise Unsupported(f"ordering codes with {op}")


def _equal_any(values: np.ndarray, members: tuple) -> np.ndarray:
    """Whether each value equals one of ``members`` (Python's ``in``), at C speed for plain constants."""
    if not all(isinstance(m, _SCALARS) for m in members):
        return np.array([v in members for v in values], dtype=bool)
    hit = np.zeros(len(values), dtype=bool)
    for member in members:
        hit |= np.equal(values, member, dtype=bool)
    return hit


def compare_values(op: str, a: Any, b: Any) -> int:
    """A comparison of two known-in-advance values, as the evaluator decides it."""
    if a is UNK or b is UNK or (isinstance(b, tuple) and UNK in b):
        return UNSURE
    if isinstance(a, NoRecord) or isinstance(b, NoRecord):
        return NOT if op not in ("!=", "not in") else YES
    if isinstance(a, Range) or isinstance(b, Range):
        return _CODES[compare_ranges(op, a, b)]
    if op in ("in", "not in"):
        members = b if isinstance(b, tuple) else (b,)
        return YES if (a in members) == (op == "in") else NOT
    if op in ("=", "!="):
        return YES if (a == b) == (op == "=") else NOT
    try:
        return YES if _ORDER[op](a, b) else NOT
    except TypeError as exc:
        raise Unsupported(str(exc)) from exc


def arith_columns(op: str, left: Num | Obj | Const, right: Num | Obj | Const) -> Num:
    """Arithmetic on exactly known numbers per subject (the evaluator's: a missing value or a division by
    zero makes the result unknown)."""
    sides = []
    for side, other in ((left, right), (right, left)):
        if isinstance(side, Const):
            value = side.value
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not isinstance(other, Num):
                raise Unsupported(f"arithmetic with {value!r}")
            sides.append((np.full(other.lo.shape, float(value)), np.zeros(other.lo.shape, dtype=bool)))
        elif isinstance(side, Num) and not side.dates and not side.none.any() and np.array_equal(
                side.lo[~side.unk], side.hi[~side.unk]):
            sides.append((side.lo, side.unk))
        else:
            raise Unsupported("arithmetic on dates, codes or counts known within bounds")
    (a, a_unk), (b, b_unk) = sides
    unk = a_unk | b_unk
    with np.errstate(divide="ignore", invalid="ignore"):
        if op == "/":
            unk = unk | (b == 0)
            result = a / np.where(b == 0, 1.0, b)
        else:
            result = {"+": np.add, "-": np.subtract, "*": np.multiply}[op](a, b)
    result = np.where(unk, np.nan, result)
    return Num(result, result, unk, np.zeros(result.shape, dtype=bool), False)


class _Known:
    """What :func:`engine.rules.expressions.arithmetic` asks of an evaluation, for values known before
    any member is read: the term calendar, and somewhere to put a reason (an unknown value is seeded
    nowhere, so the reason is not needed)."""

    def __init__(self, terms: Any) -> None:
        self.terms = terms

    def unknown(self, reason: str) -> None:
        pass


def arith_values(op: str, a: Any, b: Any, terms: Any) -> Any:
    """Arithmetic on two known-in-advance values, exactly as the evaluator computes it."""
    return arithmetic(op, a, b, _Known(terms))


__all__ = ["NOT", "UNSURE", "YES", "NAMES", "MIRROR", "Unsupported", "Num", "Obj", "Const", "group_rows", "field_type",
           "column", "params_maybe_unread", "compare_numbers", "compare_objects", "compare_values",
           "arith_columns", "arith_values"]
