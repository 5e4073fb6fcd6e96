"""Printing expressions back to text: the author's brackets, plus those their meaning needs.

Brackets the author wrote are kept (one pair: ``parens`` on the node), because policy leads add them
for readers even where precedence makes them redundant; others are added only where needed.

Two things decide parentheses: operator precedence (``or`` < ``and`` < ``not`` < comparison < ``+ -``
< ``* /`` < unary minus), and the greedy tails of aggregations. ``any F where C`` and ``any R has C``
take everything after ``where``/``has`` that can be part of C, and an aggregation without a window
takes a following ``in last ...``. So an aggregation is wrapped in parentheses when its open tail
is followed by more text (``follow``) that it would otherwise swallow.
"""

from __future__ import annotations

import dataclasses

from dsl import ast as a

_OR, _AND, _NOT, _CMP, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 9)
_BIN_LEVEL = {"or": _OR, "and": _AND, "+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT}
_QUANT_WORD = {"any": "any", "no": "no", "every": "every"}


def quote(text: str) -> str:
    """A string literal, escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(value: int | float) -> str:
    """A number as written: integers plain, floats without exponent."""
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    return f"{value:.10f}".rstrip("0").rstrip(".") if "e" in text else text


def _level(e: a.Expr) -> int:
    if isinstance(e, a.BinOp):
        return _BIN_LEVEL[e.op]
    if isinstance(e, a.Unary):
        return _NOT if e.op == "not" else _UNARY
    if isinstance(e, a.Compare):
        return _CMP
    if isinstance(e, a.Number) and e.value < 0 or isinstance(e, (a.Percent, a.Money)) and e.value < 0:
        return _UNARY
    return _ATOM


def _open_tail(e: a.Expr, follow: str | None) -> bool:
    """Would text following ``e`` be read as part of ``e``'s own where/has/window?"""
    if follow is None:
        return False
    if isinstance(e, a.CountNeeds):
        return bool(e.headlines) and follow == "comma"
    if isinstance(e, a.MemberQuantified):
        return e.has is not None
    if isinstance(e, (a.Quantified, a.CountFacts, a.Aggregate)):
        if getattr(e, "has", None) is not None:
            return True
        if isinstance(e, a.Quantified) and follow == "has":  # it would take the outer `has`
            return True
        if e.window is None and (e.where is not None or follow == "window"):
            return True
    return False


def render(e: a.Expr, level: int = 0, follow: str | None = None) -> str:
    """``e`` as text, parenthesised if it binds looser than ``level`` or would swallow ``follow``."""
    text = _render(e, follow)
    if e.parens or _level(e) < level or _open_tail(e, follow):
        return f"({_render(e, None)})"
    return text


def _render(e: a.Expr, follow: str | None) -> str:
    if isinstance(e, a.Name):
        return e.name
    if isinstance(e, a.Number):
        return number(e.value)
    if isinstance(e, a.Percent):
        return f"{number(e.value)}%"
    if isinstance(e, a.Money):
        return f"£{number(e.value)}" if e.value >= 0 else f"-£{number(-e.value)}"
    if isinstance(e, a.DateLit):
        return e.value.isoformat()
    if isinstance(e, a.DurationLit):
        unit = e.unit[:-1] if e.amount == 1 else e.unit
        return f"{number(e.amount)} {unit}"
    if isinstance(e, a.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, a.StringLit):
        return quote(e.value)
    if isinstance(e, a.ListExpr):
        return "(" + ", ".join(render(i, 0, None) for i in e.items) + ")"
    if isinstance(e, a.Unary):
        if e.op == "not":
            return "not " + render(e.arg, _NOT, follow)
        return "-" + render(e.arg, _UNARY, follow)
    if isinstance(e, a.BinOp):
        lvl = _BIN_LEVEL[e.op]
        return f"{render(e.left, lvl, 'op')} {e.op} {render(e.right, lvl + 1, follow)}"
    if isinstance(e, a.Compare):
        right = render(e.right, _SUM, follow) if not isinstance(e.right, a.ListExpr) else render(e.right)
        return f"{render(e.left, _SUM, 'op')} {e.op} {right}"
    if isinstance(e, a.CallExpr):
        return f"{e.fn}(" + ", ".join(render(x, 0, "comma") for x in e.args) + ")"
    if isinstance(e, a.AnchorDate):
        return f"{e.anchor} date"
    if isinstance(e, a.AllOutcomes):
        return f"all needs have {e.stage} outcomes"
    if isinstance(e, a.MemberQuantified):
        if e.role is not None:
            return f"{e.quant} member is {e.role.name}"
        return f"{e.quant} member has {render(e.has, 0, None) if e.has else ''}"
    if isinstance(e, a.Quantified):
        return f"{e.quant} {e.subject.name}" + _tail(e.of_family, e.where, e.window, e.has)
    if isinstance(e, a.CountFacts):
        return f"count of {e.fact.name}" + _tail(e.of_family, e.where, e.window, None)
    if isinstance(e, a.CountMembers):
        return "count of members" + (f" who are {e.role.name}" if e.role else "")
    if isinstance(e, a.CountNeeds):
        if e.distinct_headlines:
            return "count of distinct headlines"
        return "count of needs" + (" under " + ", ".join(h.name for h in e.headlines) if e.headlines else "")
    if isinstance(e, a.Aggregate):
        if e.fn == "rate":
            per = f"{e.per_fact.name if e.per_fact else e.fact.name}.{e.per_field.name if e.per_field else ''}"
            head = f"rate of {e.fact.name}.{e.field.name} per {per}"
        else:
            head = f"{e.fn}{' of' if e.explicit_of else ''} {e.fact.name}.{e.field.name}"
        return head + _tail(e.of_family, e.where, e.window, None)
    raise TypeError(f"cannot print {type(e).__name__}")


def _tail(of_family: bool, where: a.Expr | None, window: a.Window | None, has: a.Expr | None) -> str:
    text = " of family" if of_family else ""
    if where is not None:
        text += " where " + render(where, 0, "window" if window is not None else ("has" if has is not None else None))
    if window is not None:
        text += " " + render_window(window)
    if has is not None:
        text += " has " + render(has, 0, None)
    return text


def render_window(w: a.Window) -> str:
    length = w.length.name if isinstance(w.length, a.Name) else render(w.length)
    if w.kind == "last":
        return f"{w.word} last {length}"
    if w.kind == "each":
        return f"{w.word} each of last {length}"
    return f"{w.word} {length} after {w.anchor}"


def _chain(e: a.Expr, op: str) -> list[a.Expr]:
    if isinstance(e, a.BinOp) and e.op == op:
        return [*_chain(e.left, op), e.right]
    return [e]


def render_broken(prefix: str, e: a.Expr, width: int) -> list[str]:
    """``prefix + e`` on one line, or broken before top-level ``or``/``and`` when longer than ``width``.

    Operands are packed greedily; an operand that is itself a long ``and``/``or`` is broken inside
    parentheses, one level deeper.
    """
    single = prefix + render(e)
    if len(single) <= width or not (isinstance(e, a.BinOp) and e.op in ("or", "and")):
        return [single]
    if e.parens:  # the author's brackets around the whole condition stay when it is broken too
        lines = render_broken(prefix + "(", dataclasses.replace(e, parens=False), width)
        lines[-1] += ")"
        return lines
    parts = _chain(e, e.op)
    level = _BIN_LEVEL[e.op] + 1
    pad = " " * max(len(prefix) - len(e.op) - 1, 2)
    lines: list[str] = []
    for index, part in enumerate(parts):
        lead = prefix if index == 0 else f"{pad}{e.op} "
        text = render(part, level, "op" if index < len(parts) - 1 else None)
        if len(lead + text) > width and isinstance(part, a.BinOp) and part.op in ("or", "and"):
            # broken inside brackets written here, so the author's own brackets are not doubled
            inner = render_broken(lead + "(", dataclasses.replace(part, parens=False), width)
            inner[-1] += ")"
            lines.extend(inner)
        elif index > 0 and len(f"{lines[-1]} {e.op} {text}") <= width:
            lines[-1] += f" {e.op} {text}"
        else:
            lines.append(lead + text)
    return lines
