"""Render IR expressions back into rule-language-like English, for traces and explanations.

Examples:
    >>> from engine.rules import ir
    >>> describe(ir.Compare(op=">=", left=ir.Aggregate(fn="count", fact="offence"), right=ir.Lit(value=3)))
    'count of offence >= 3'
"""

from __future__ import annotations

from datetime import date

from engine.rules import ir


def describe_value(value: object, unit: str | None = None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, ir.Duration):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if unit == "percent":
        return f"{value}%"
    if unit == "money":
        return f"£{value}"
    if unit in ("days", "weeks", "months", "years", "terms") and isinstance(value, (int, float)):
        return f"{value} {unit if value != 1 else unit[:-1]}"
    return "nothing" if value is None else str(value)


_ANCHOR_WORDS = {"as_of": "", "identified": "identification", "attached": "attachment", "closed": "closure"}


def describe_window(window: ir.Window) -> str:
    length = str(window.length) if isinstance(window.length, ir.Duration) else window.length.name
    if window.direction == "after":
        return f"{length} after {_ANCHOR_WORDS[window.anchor] or 'the evaluation date'}"
    prefix = "each of last" if window.consecutive else "last"
    suffix = f" before {_ANCHOR_WORDS[window.anchor]}" if window.anchor != "as_of" else ""
    return f"{prefix} {length}{suffix}"


def _fact(node: ir.Aggregate) -> str:
    return node.fact + (" of family" if node.scope == "family" else "")


def _describe_aggregate(node: ir.Aggregate) -> str:
    where = f" where {describe(node.where)}" if node.where is not None else ""
    window = f" in {describe_window(node.window)}" if node.window is not None else ""
    if node.fn == "any":
        head = f"any {_fact(node)}{where}"
        return head + window + (f" has {describe(node.test)}" if node.test is not None else "")
    if node.fn == "none":
        return f"no {_fact(node)}{where}{window}" + (f" has {describe(node.test)}" if node.test is not None else "")
    if node.fn == "all":
        test = f" has {describe(node.test)}" if node.test is not None else ""
        return f"every {_fact(node)}{where}{window}{test}"
    if node.fn == "count":
        return f"count of {_fact(node)}{where}{window}"
    if node.fn == "rate":
        window = f" over {describe_window(node.window)}" if node.window is not None else ""
        return f"rate of {node.fact}.{node.field} per {node.fact}.{node.per_field}{where}{window}" + (
            " of family" if node.scope == "family" else "")
    return f"{node.fn} of {node.fact}.{node.field}{where}{window}" + (" of family" if node.scope == "family" else "")


def describe(node: ir.Expr | None) -> str:
    """Plain text for an expression, close to how a policy lead wrote it."""
    if node is None:
        return ""
    kind = node.kind
    if kind == "lit":
        return describe_value(node.value, node.unit)
    if kind == "param" or kind == "person_attr" or kind == "field":
        return node.name
    if kind == "family_attr":
        return f"family {node.name}"
    if kind == "as_of":
        return "evaluation date" if node.anchor == "as_of" else f"{_ANCHOR_WORDS[node.anchor]} date"
    if kind == "not":
        return f"not ({describe(node.arg)})"
    if kind in ("and", "or"):
        parts = [describe(a) for a in node.args]
        return f" {kind} ".join(f"({p})" if " and " in p or " or " in p else p for p in parts)
    if kind == "cmp":
        return f"{describe(node.left)} {node.op} {describe(node.right)}"
    if kind == "arith":
        return f"{describe(node.left)} {node.op} {describe(node.right)}"
    if kind == "list":
        return "(" + ", ".join(describe(i) for i in node.items) + ")"
    if kind == "call":
        return f"{node.fn}(" + ", ".join(describe(a) for a in node.args) + ")"
    if kind == "agg":
        return _describe_aggregate(node)
    if kind == "members":
        who = node.role or "member"
        test = f" has {describe(node.test)}" if node.test is not None else ""
        if node.quant == "count":
            return f"count of members who are {who}{test}"
        if node.role and node.test is None:
            return {"any": "any member is", "all": "every member is", "none": "no member is"}[node.quant] + f" {who}"
        word = {"any": "any", "all": "every", "none": "no"}[node.quant]
        return f"{word} {who}{test}"
    if kind == "has_role":
        return f"is {node.role}"
    if kind == "rule":
        return node.name
    if kind == "need_count":
        what = "distinct headlines" if node.distinct_headlines else "needs"
        return f"count of {what}" + (f" under {', '.join(node.headlines)}" if node.headlines else "")
    return kind
