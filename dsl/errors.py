"""Diagnostics and the errors the rule language raises.

Every problem in a framework is a :class:`Diagnostic` (``file:line:col: error: message``, the source
line and a caret). Parsing stops at the first syntax error (:class:`DslSyntaxError`); the checker
collects every semantic problem in one pass and raises them together (:class:`DslCheckError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Iterable, Literal

from dsl.ast import Span
from engine.errors import HearthError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Related:
    """Another place a diagnostic points at, e.g. the first of two conflicting definitions."""

    message: str
    span: Span
    source_line: str = ""


@dataclass(frozen=True)
class Diagnostic:
    """One problem, where it is, and the line it is on."""

    severity: Severity
    message: str
    span: Span | None = None
    source_line: str = ""
    related: tuple[Related, ...] = field(default=())
    #: "syntax" for a parse failure (the file could not be read at all), "check" for the rest
    kind: Literal["syntax", "check"] = "check"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def render(self) -> str:
        lines = [_located(self.span, f"{self.severity}: {self.message}")]
        lines.extend(_excerpt(self.span, self.source_line))
        for rel in self.related:
            lines.append(_located(rel.span, f"note: {rel.message}"))
            lines.extend(_excerpt(rel.span, rel.source_line))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _located(span: Span | None, text: str) -> str:
    return f"{span.file}:{span.line}:{span.column}: {text}" if span else text


def _excerpt(span: Span | None, source_line: str) -> list[str]:
    """The source line and a caret under the span (underlined across it when it is on one line)."""
    if span is None or not source_line:
        return []
    shown = source_line.rstrip("\r\n").expandtabs(1)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    start = max(span.column - 1, 0)
    width = span.end_column - span.column if span.end_line == span.line else len(shown) - start
    width = max(1, min(width, max(len(shown) - start, 1)))
    return [f"    {shown}", "    " + " " * min(start, len(shown)) + "^" * width]


def source_line_of(text: str, line: int) -> str:
    """Line ``line`` (1-based) of ``text``, or ``""`` when out of range."""
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean `x`?"`` for the closest of ``choices``, or ``""`` when none is close."""
    close = get_close_matches(name, sorted(set(choices)), n=1, cutoff=0.65)
    return f"; did you mean `{close[0]}`?" if close else ""


class DslError(HearthError):
    """A framework could not be read: carries every diagnostic found.

    ``diagnostics`` holds errors and, when raised by the checker, the warnings found with them.
    """

    exit_code = 1

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...] | str):
        if isinstance(diagnostics, str):
            diagnostics = (Diagnostic("error", diagnostics),)
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        super().__init__(self.render())

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    def render(self) -> str:
        text = "\n".join(d.render() for d in self.diagnostics)
        count = len(self.errors)
        if count > 1:
            text += f"\n{count} errors"
        return text

    def __str__(self) -> str:
        return self.render()


class DslSyntaxError(DslError, SyntaxError):
    """The text is not valid Hearth: one diagnostic at the first point the parser could not go on.

    ``file``, ``line``, ``column``, ``source_line`` and ``label`` (the common-mistake name from
    :mod:`dsl._error_examples`, if one matched) are kept as attributes.
    """

    def __init__(self, message: str, span: Span, source_line: str = "", label: str | None = None):
        self.file = span.file
        self.line = span.line
        self.column = span.column
        self.source_line = source_line
        self.label = label
        super().__init__([Diagnostic("error", message, span, source_line, kind="syntax")])
        # SyntaxError's own attributes, so tools that understand SyntaxError show the place too
        self.filename, self.lineno, self.offset, self.text, self.msg = (
            span.file, span.line, span.column, source_line, message,
        )

    def __str__(self) -> str:
        return self.render()


class DslCheckError(DslError, ValueError):
    """The framework parses but does not make sense: unknown names, type mismatches, conflicts."""
