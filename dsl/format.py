"""Canonical formatting: two-space indentation, one item per line, single spaces, comments kept.

The formatter prints the syntax tree back (so the result always parses to an equal tree), and lays
the original comments and blank lines back in by source line: a comment stays before the item it
preceded, a trailing comment stays at the end of its item's first line, and runs of blank lines
become one. Declaration order is the author's. Formatting twice gives the same text.
"""

from __future__ import annotations

from typing import Any

from dsl import ast as a
from dsl.format_expr import quote as _q
from dsl.format_expr import number as _num
from dsl.format_expr import render, render_broken
from dsl.parser import parse_text

INDENT = "  "
WIDTH = 100


def _names(names: tuple[a.Name, ...]) -> str:
    return ", ".join(n.name for n in names)


def _citation(c: a.Citation) -> str:
    text = f"source {_q(c.text)}"
    if c.url is not None:
        text += f" url {_q(c.url)}"
    return text + (f" {c.confidence}" if c.confidence else "")


def _label(o: a.Override | None) -> str:
    if o is None or o.label is None:
        return ""
    return f" label {_q(o.label)}" + (f" priority {_num(o.priority)}" if o.priority is not None else "")


def _prefix(o: a.Override | None) -> str:
    return "override " if o is not None and o.keyword else ""


class _Writer:
    """Collects output lines, placing source comments and blank lines by source line number."""

    def __init__(self, module: a.Module, text: str):
        self.source = text.splitlines()
        self.comments = sorted(module.comments)
        self.out: list[str] = []
        self.last = 0
        self.opened = True  # no blank line at the very top or right after a block opens

    def _trailing(self, line: int, column: int) -> bool:
        return 0 < line <= len(self.source) and self.source[line - 1][: column - 1].strip() != ""

    def _blank_between(self, start: int, end: int) -> bool:
        return any(not self.source[i - 1].strip() for i in range(max(start + 1, 1), min(end, len(self.source) + 1)))

    def _gap(self, line: int, allow_blank: bool) -> None:
        if allow_blank and not self.opened and self.out and self.out[-1] != "" and self._blank_between(self.last, line):
            self.out.append("")

    def flush_comments(self, before: int, depth: int, allow_blank: bool = True) -> None:
        while self.comments and self.comments[0][0] < before:
            line, _column, text = self.comments.pop(0)
            self._gap(line, allow_blank)
            self.out.append(INDENT * depth + text)
            self.opened = False
            self.last = max(self.last, line)

    def emit(self, depth: int, lines: list[str], span: a.Span | None, *, allow_blank: bool = True,
             opens: bool = False) -> None:
        if span is not None:
            self.flush_comments(span.line, depth, allow_blank)
            self._gap(span.line, allow_blank)
        first = INDENT * depth + lines[0]
        if span is not None and self.comments and self.comments[0][0] == span.line and self._trailing(*self.comments[0][:2]):
            first += "  " + self.comments.pop(0)[2]
        self.out.append(first)
        self.out.extend(INDENT * depth + line for line in lines[1:])
        if span is not None:
            self.last = max(self.last, span.line if opens else span.end_line)
        self.opened = opens

    def find(self, block: a.Span, prefix: str) -> a.Span | None:
        """The line inside ``block`` that starts with ``prefix``, for items the tree keeps no span for,
        so that comments around them stay where they were."""
        for line in range(block.line + 1, min(block.end_line, len(self.source) + 1)):
            text = self.source[line - 1].lstrip()
            if text.startswith(prefix) and (prefix == '"' or text[len(prefix):len(prefix) + 1] in (" ", "")):
                return a.Span(block.file, line, 1, line, 1)
        return None

    def close(self, depth: int, span: a.Span) -> None:
        """``end`` of a block: comments inside the block first, at the block's inner depth."""
        self.flush_comments(span.end_line, depth + 1, allow_blank=False)
        end_span = a.Span(span.file, span.end_line, 1, span.end_line, 1)
        self.emit(depth, ["end"], end_span, allow_blank=False)


def format_module(module: a.Module, text: str) -> str:
    w = _Writer(module, text)
    for decl in module.declarations:
        _DECLARATIONS[type(decl)](w, decl)
    w.flush_comments(10**9, 0)
    return "\n".join(w.out).rstrip("\n") + "\n" if w.out else ""


def format_text(text: str, filename: str = "<text>") -> str:
    """Canonically formatted ``text``; raises :class:`dsl.errors.DslSyntaxError` if it does not parse."""
    return format_module(parse_text(text, filename), text)


# -- declarations -----------------------------------------------------------------------------------


def _expr_item(w: _Writer, prefix: str, expr: a.Expr | None, depth: int = 1) -> None:
    if expr is None:
        return
    w.emit(depth, render_broken(prefix, expr, WIDTH - len(INDENT) * depth), expr.span)


def _cites(w: _Writer, citations: tuple[a.Citation, ...], depth: int = 1) -> None:
    for c in citations:
        w.emit(depth, [_citation(c)], c.span)


def _text(w: _Writer, text: str, block: a.Span, depth: int = 1) -> None:
    if text:
        w.emit(depth, [_q(text)], w.find(block, '"'))


def _header(w: _Writer, h: a.Header) -> None:
    w.emit(0, [f"framework {h.id} {_q(h.title)}"], h.span, opens=True)
    if h.extends is not None:
        w.emit(1, [f"extends {h.extends} from {_q(h.extends_path or '')}"], w.find(h.span, "extends"))
    if h.phase is not None:
        w.emit(1, [f"phase {_q(h.phase)}"], w.find(h.span, "phase"))
    if h.version is not None:
        w.emit(1, [f"version {_q(h.version)}"], w.find(h.span, "version"))
    if h.effective_from is not None:
        to = f" to {h.effective_to.isoformat()}" if h.effective_to else ""
        w.emit(1, [f"effective {h.effective_from.isoformat()}{to}"], w.find(h.span, "effective"))
    for included in h.includes:
        w.emit(1, [f"include {_q(included.value)}"], included.span)
    _cites(w, h.citations)
    w.close(0, h.span)


def _value(v: a.Expr) -> str:
    if isinstance(v, a.Name):
        return v.name
    if isinstance(v, a.StringLit):
        return _q(v.value)
    return render(v)


def _parameter(w: _Writer, p: a.ParameterDecl) -> None:
    unit = f": {p.unit}" if p.unit else ""
    w.emit(0, [f"{_prefix(p.override)}parameter {p.name}{unit}{_label(p.override)}"], p.span, opens=True)
    _text(w, p.description, p.span)
    _cites(w, p.citations)
    for v in p.values:
        cites = "".join(" " + _citation(c) for c in v.citations)
        w.emit(1, [f"{_value(v.value)} from {v.effective_from.isoformat()}{cites}"], v.span)
    w.close(0, p.span)


_SINGULAR = {"terms": "term", "months": "month", "weeks": "week", "days": "day"}


def _fact(w: _Writer, f: a.FactDecl) -> None:
    w.emit(0, [f"fact {f.name} about {f.subject}"], f.span, opens=True)
    _text(w, f.description, f.span)
    for fld in f.fields:
        ftype = fld.type if fld.codes is None else f"code ({', '.join(fld.codes)})"
        desc = f" {_q(fld.description)}" if fld.description else ""
        w.emit(1, [f"{fld.name}: {ftype}{desc}"], fld.span)
    if f.dated_by is not None:
        until = f" until {f.until.name}" if f.until else ""
        w.emit(1, [f"dated by {f.dated_by.name}{until}"], f.dated_by.span)
    if f.recording == "periodic":
        w.emit(1, [f"recorded per {_SINGULAR.get(f.period or 'terms', 'term')}"], w.find(f.span, "recorded"))
    elif f.recording is not None:
        w.emit(1, [f"recorded as {f.recording}"], w.find(f.span, "recorded"))
    _cites(w, f.citations)
    w.close(0, f.span)


def _role(w: _Writer, r: a.RoleDecl) -> None:
    title = f" {_q(r.title)}" if r.title else ""
    w.emit(0, [f"{_prefix(r.override)}role {r.name}{title}{_label(r.override)}"], r.span, opens=True)
    _expr_item(w, "", r.condition)
    _cites(w, r.citations)
    w.close(0, r.span)


def _rule(w: _Writer, r: a.RuleDecl) -> None:
    w.emit(0, [f"{_prefix(r.override)}rule {r.name} about {r.subject}{_label(r.override)}"], r.span, opens=True)
    _text(w, r.description, r.span)
    _expr_item(w, "", r.condition)
    _cites(w, r.citations)
    w.close(0, r.span)


def _family(w: _Writer, f: a.FamilyDefinitionDecl) -> None:
    w.emit(0, [f"{_prefix(f.override)}family definition{_label(f.override)}"], f.span, opens=True)
    _expr_item(w, "", f.condition)
    _cites(w, f.citations)
    w.close(0, f.span)


def _headline(w: _Writer, h: a.HeadlineDecl) -> None:
    w.emit(0, [f"headline {h.code} {_q(h.title)}"], h.span, opens=True)
    if h.aliases:
        w.emit(1, ["also " + ", ".join(_q(x) for x in h.aliases)], w.find(h.span, "also"))
    _cites(w, h.citations)
    w.close(0, h.span)


def _applies(w: _Writer, applies: a.AppliesTo | None) -> None:
    if applies is None:
        return
    text = {"member": "for each member", "family": "for family"}.get(applies.kind)
    w.emit(1, [text or f"for each {applies.role.name if applies.role else ''}"], applies.span)


def _need(w: _Writer, n: a.NeedDecl) -> None:
    w.emit(0, [f"{_prefix(n.override)}need {n.code} {_q(n.title)} under {n.headline.name}{_label(n.override)}"],
           n.span, opens=True)
    _text(w, n.description, n.span)
    _applies(w, n.applies_to)
    _expr_item(w, "met when ", n.condition)
    _cites(w, n.citations)
    w.close(0, n.span)


def _outcome(w: _Writer, o: a.OutcomeDecl) -> None:
    w.emit(0, [f"{_prefix(o.override)}outcome for {o.need.name}{_label(o.override)}"], o.span, opens=True)
    _text(w, o.description, o.span)
    _applies(w, o.applies_to)
    _expr_item(w, "achieved when ", o.achieved)
    _expr_item(w, "sustained when ", o.sustained)
    _cites(w, o.citations)
    w.close(0, o.span)


def _eligibility(w: _Writer, e: a.EligibilityDecl) -> None:
    w.emit(0, [f"{_prefix(e.override)}eligibility{_label(e.override)}"], e.span, opens=True)
    if e.uses_family_definition:
        w.emit(1, ["family is family definition"], w.find(e.span, "family"))
    _expr_item(w, "met when ", e.condition)
    _cites(w, e.citations)
    w.close(0, e.span)


def _claim(w: _Writer, c: a.ClaimDecl) -> None:
    w.emit(0, [f"{_prefix(c.override)}claim{_label(c.override)}"], c.span, opens=True)
    _expr_item(w, "met when ", c.condition)
    _cites(w, c.citations)
    w.close(0, c.span)


def _score(w: _Writer, s: a.ScoreDecl) -> None:
    w.emit(0, [f"{_prefix(s.override)}score {s.name}{_label(s.override)}"], s.span, opens=True)
    for weight in s.weights:
        w.emit(1, [f"{weight.target.name} {_num(weight.weight)}"], weight.span)
    for band in s.bands:
        w.emit(1, [f"{band.rating} from {_num(band.min_score)}"], band.span)
    _cites(w, s.citations)
    w.close(0, s.span)


def _lifecycle(w: _Writer, lc: a.LifecycleDecl) -> None:
    w.emit(0, ["lifecycle"], lc.span, opens=True)
    items: list[tuple[int, list[str], a.Span | None]] = []
    if lc.actor_roles:
        items.append((lc.actor_roles[0].span.line, [f"roles {_names(lc.actor_roles)}"], lc.actor_roles[0].span))
    if lc.override_roles:
        items.append((lc.override_roles[0].span.line, [f"overrides by {_names(lc.override_roles)}"],
                      lc.override_roles[0].span))
    if lc.closure_reasons:
        items.append((lc.closure_reasons[0].span.line, [f"closure reasons {_names(lc.closure_reasons)}"],
                      lc.closure_reasons[0].span))
    for s in lc.states:
        flag = " initial" if s.initial else " final" if s.final else ""
        desc = f" {_q(s.description)}" if s.description else ""
        items.append((s.span.line, [f"state {s.name}{flag}{desc}"], s.span))
    for t in lc.transitions:
        items.append((t.span.line, _transition(t), t.span))
    for timer in lc.timers:
        items.append((timer.span.line, _timer(timer), timer.span))
    for c in lc.citations:
        items.append((c.span.line, [_citation(c)], c.span))
    for _line, lines, span in sorted(items, key=lambda item: item[0]):
        w.emit(1, lines, span)
    w.close(0, lc.span)


def _with_description(head: str, description: str) -> list[str]:
    if not description:
        return [head]
    if len(head) + len(description) + 5 <= WIDTH - 2:
        return [f"{head} {_q(description)}"]
    return [head, INDENT + _q(description)]


def _transition(t: a.TransitionDecl) -> list[str]:
    text = f"transition {t.name} from {_names(t.sources)} to {t.target.name}"
    if t.roles:
        text += f" by {_names(t.roles)}"
    if t.automatic:
        text += " automatically"
    if t.guards:
        text += " when " + " and ".join(g.name for g in t.guards)
    if t.requires:
        text += f" requires {_names(t.requires)}"
    if t.reasons:
        text += f" reasons {_names(t.reasons)}"
    return _with_description(text, t.description)


def _take(action: a.TimerAction) -> str:
    return f" take {action.transition.name}" + (f" reason {action.reason.name}" if action.reason else "")


def _timer(t: a.TimerDecl) -> list[str]:
    length = t.length.name if isinstance(t.length, a.Name) else render(t.length)
    text = f"timer {t.name} in {_names(t.states)} {'every' if t.repeat else 'after'} {length}"
    if t.take is not None:
        text += _take(t.take)
    if t.restart_on:
        text += f" restart on {_names(t.restart_on)}"
    if t.fail_on:
        text += f" fail on {_names(t.fail_on)}" + (_take(t.fail_take) if t.fail_take else "")
    return _with_description(text, t.description)


_DECLARATIONS: dict[type, Any] = {
    a.Header: _header, a.ParameterDecl: _parameter, a.FactDecl: _fact, a.RoleDecl: _role, a.RuleDecl: _rule,
    a.FamilyDefinitionDecl: _family, a.HeadlineDecl: _headline, a.NeedDecl: _need, a.OutcomeDecl: _outcome,
    a.EligibilityDecl: _eligibility, a.ClaimDecl: _claim, a.ScoreDecl: _score, a.LifecycleDecl: _lifecycle,
}
