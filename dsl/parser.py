"""Text -> :class:`dsl.ast.Module`, with every failure turned into a :class:`DslSyntaxError`.

This module is the boundary: nothing from Lark (and no ``RecursionError``, ``UnicodeDecodeError``
or ``MemoryError`` from hostile input) escapes it. Common mistakes get a named message from
:mod:`dsl._error_examples`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from dsl import ast as a
from dsl._error_examples import CHARACTER_LABELS, ERROR_EXAMPLES
from dsl.errors import DslSyntaxError, source_line_of
from dsl.transformer import AstBuilder, ValueTooStrange

#: a framework file is a few hundred lines; anything this big is not one
MAX_FILE_BYTES = 2_000_000
#: deeper than this and checking/compiling/formatting would exhaust Python's stack
MAX_NESTING = 200

_TERMINAL_WORDS = {
    "NAME": "a name", "STRING": 'a "quoted text"', "NUMBER": "a number", "DATE": "a date (YYYY-MM-DD)",
    "PERCENT": "a percentage (90%)", "MONEY": "an amount (£500)", "COMP_OP": "a comparison (= != < <= > >=)",
    "IN_LIST": "`in (...)`", "$END": "the end of the file",
}


@lru_cache(maxsize=1)
def get_parser() -> Lark:
    """The LALR parser for ``grammar.lark``, built once per process.

    Building the LALR tables takes seconds; ``cache=True`` keeps them in a temporary file keyed by the
    grammar's hash, so later processes (every ``hearth check``) start at once.
    """
    return Lark.open("grammar.lark", rel_to=__file__, parser="lalr", propagate_positions=True,
                     maybe_placeholders=True, cache=True)


@lru_cache(maxsize=1)
def _terminal_display() -> dict[str, str]:
    shown = dict(_TERMINAL_WORDS)
    for term in get_parser().terminals:
        if term.name not in shown and term.pattern.type == "str":
            shown[term.name] = f"`{term.pattern.value}`"
    return shown


def read_source(path: Path, display: str | None = None) -> str:
    """Read a ``.hearth`` file as text, as a :class:`DslSyntaxError` if it is not UTF-8 text or too big."""
    shown = display or str(path)
    try:
        # read at most one byte past the limit: stat sizes lie for devices and pipes
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DslSyntaxError(f"cannot read the file: {exc.strerror or exc}", a.Span(shown, 1, 1, 1, 1)) from None
    if len(data) > MAX_FILE_BYTES:
        raise DslSyntaxError(
            f"the file is larger than {MAX_FILE_BYTES / 1e6:.0f} MB, too big for a framework file "
            "(split it into several .hearth files in one folder)", a.Span(shown, 1, 1, 1, 1))
    return decode_source(data, shown)


def decode_source(data: bytes, display: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise DslSyntaxError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            a.Span(display, line, column, line, column + 1)) from None


def parse_text(text: str, filename: str = "<text>") -> a.Module:
    """Parse one file's text into a :class:`dsl.ast.Module`.

    Raises:
        DslSyntaxError: at the first point the text is not valid Hearth.

    Examples:
        >>> parse_text('headline CRIME "Crime"\\nend\\n', "x.hearth").declarations[0].code
        'CRIME'
    """
    if len(text) > MAX_FILE_BYTES:
        raise DslSyntaxError(f"text is {len(text)} characters; the limit is {MAX_FILE_BYTES}",
                             a.Span(filename, 1, 1, 1, 1))
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DslSyntaxError("the file contains NUL bytes: it is not a text file",
                             a.Span(filename, line, 1, line, 2), source_line_of(text, line))
    try:
        tree = get_parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, filename) from None
    except (LarkError, RecursionError, MemoryError) as exc:
        raise DslSyntaxError(f"cannot parse this file ({type(exc).__name__})", a.Span(filename, 1, 1, 1, 1)) from None
    _check_nesting(tree, text, filename)
    try:
        declarations = AstBuilder(filename).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, ValueTooStrange):
            tok = exc.orig_exc.token
            span = a.Span(filename, tok.line, tok.column, tok.end_line, tok.end_column)
            raise DslSyntaxError(str(exc.orig_exc), span, source_line_of(text, tok.line)) from None
        raise DslSyntaxError(f"cannot read this construct ({exc.orig_exc})", a.Span(filename, 1, 1, 1, 1)) from None
    except RecursionError:
        raise DslSyntaxError("the text is nested too deeply", a.Span(filename, 1, 1, 1, 1)) from None
    return a.Module(filename, tuple(declarations), comments_of(text))


def _check_nesting(tree: Tree, text: str, filename: str) -> None:
    """Reject trees deeper than :data:`MAX_NESTING` (iteratively, so the check itself cannot overflow)."""
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            meta = node.meta
            line, column = (meta.line, meta.column) if not getattr(meta, "empty", True) else (1, 1)
            raise DslSyntaxError(
                f"this expression is nested more than {MAX_NESTING} levels deep; split it into named rules",
                a.Span(filename, line, column, line, column + 1), source_line_of(text, line))
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def comments_of(text: str) -> tuple[tuple[int, int, str], ...]:
    """``(line, column, text)`` of each ``#`` comment (a ``#`` inside a quoted string is not one)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        in_string = escaped = False
        for index, char in enumerate(line):
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "#":
                found.append((number, index + 1, line[index:].rstrip()))
                break
    return tuple(found)


def _syntax_error(exc: UnexpectedInput, text: str, filename: str) -> DslSyntaxError:
    line = getattr(exc, "line", None) or 1
    column = getattr(exc, "column", None) or 1
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    width = 1
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        width = max(1, len(str(exc.token)))
    span = a.Span(filename, line, column, line, column + width)
    label = _match_example(exc)
    found = _describe_found(exc)
    expected = _describe_expected(exc)
    if label:
        message = f"{label} (found {found})"
    else:
        message = f"unexpected {found}" + (f"; expected {expected}" if expected else "")
    return DslSyntaxError(message, span, source_line_of(text, line), label)


def _match_example(exc: UnexpectedInput) -> str | None:
    """The common-mistake label whose example fails in the same parser state (and on the same kind of token).

    Lark's own ``match_examples`` also compares stack depth, so an example only matched at the top of a
    file; comparing the LALR state alone matches the mistake wherever it is made.
    """
    if isinstance(exc, UnexpectedCharacters):
        # the parser state says little about a stray character; the character itself says more
        return CHARACTER_LABELS.get(exc.char)
    position = _state_position(exc)
    token_type = exc.token.type if isinstance(exc, UnexpectedToken) else None
    loose = None
    for label, example_position, example_token in _example_states():
        if example_position == position:
            if example_token == token_type:
                return label
            loose = loose or label
    return loose


def _state_position(exc: UnexpectedInput) -> object:
    state = getattr(exc, "state", None)
    return getattr(state, "position", state)


_EARLIER_DECLARATION = 'headline EARLIER "An earlier declaration"\nend\n'


@lru_cache(maxsize=1)
def _example_states() -> tuple[tuple[str, object, str | None], ...]:
    found = []
    for label, examples in ERROR_EXAMPLES.items():
        # the parser is in different states for the first declaration of a file and for later ones
        for example in (text for ex in examples for text in (ex, _EARLIER_DECLARATION + ex)):
            try:
                get_parser().parse(example)
            except UnexpectedCharacters:
                continue
            except UnexpectedInput as exc:
                token = exc.token.type if isinstance(exc, UnexpectedToken) else None
                found.append((label, _state_position(exc), token))
    return tuple(found)


def _describe_found(exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char
        return "an opening `\"` with no closing `\"` on its line" if char == '"' else f"character {char!r}"
    if isinstance(exc, UnexpectedToken):
        tok: Token = exc.token
        if tok.type == "$END":
            return "end of file"
        return f"`{tok}`"
    return "end of file"


def _describe_expected(exc: UnexpectedInput) -> str:
    names = getattr(exc, "expected", None) or getattr(exc, "allowed", None) or set()
    display = _terminal_display()
    shown = sorted({display.get(n, n.lower()) for n in names if not n.startswith("__")})
    if not shown:
        return ""
    if len(shown) > 10:
        shown = shown[:10] + ["..."]
    return ", ".join(shown)
