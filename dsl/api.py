"""The rule language's public operations: load (parse, compose, check, compile), check, format."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from dsl.check import CheckResult, check_model
from dsl.compile import compile_model
from dsl.compose import framework_files, load_model
from dsl.errors import Diagnostic, DslCheckError, DslSyntaxError
from engine.rules import ir

_HEADER = re.compile(r"^\s*framework\s", re.MULTILINE)
_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"', re.MULTILINE)


def check_framework(path: str | Path) -> CheckResult | list[Diagnostic]:
    """Parse, compose and check one framework; the diagnostics alone when it could not be composed."""
    model, diagnostics = load_model(Path(path))
    if model is None or any(d.kind == "syntax" for d in diagnostics):
        # semantic checks over a half-parsed framework would only report echoes of the syntax errors
        return diagnostics
    return check_model(model, diagnostics)


def load_framework(path: str | Path) -> ir.Framework:
    """Load a framework (a ``.hearth`` file or a folder of them) and compile it to the IR.

    Raises:
        DslSyntaxError: when the one problem is a file that does not parse.
        DslCheckError: with every diagnostic (errors and warnings) when there is any other error.
    """
    result = check_framework(path)
    diagnostics = result if isinstance(result, list) else result.diagnostics
    errors = [d for d in diagnostics if d.is_error]
    if isinstance(result, list) or errors:
        if len(errors) == 1 and errors[0].kind == "syntax" and errors[0].span is not None:
            raise DslSyntaxError(errors[0].message, errors[0].span, errors[0].source_line)
        raise DslCheckError(diagnostics or [Diagnostic("error", f"{path}: the framework could not be loaded")])
    return compile_model(result)


def framework_roots(paths: Iterable[str | Path]) -> list[Path]:
    """The frameworks named by ``paths``: folders as given; a file alone if it has a ``framework`` header,
    otherwise the folder it belongs to. Duplicates removed, order kept."""
    roots: list[Path] = []
    for raw in _expand(paths):
        path = Path(raw)
        if path.is_file() and path.suffix == ".hearth" and not _declares_header(path):
            siblings = framework_files(path.parent)
            if len(siblings) > 1:
                path = path.parent
        resolved = path.resolve()
        if resolved not in {r.resolve() for r in roots}:
            roots.append(path)
    return roots


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    """A folder with no .hearth files of its own stands for the framework folders below it, except
    what those frameworks ``include`` (such as ``frameworks/shared``): that is checked as part of them."""
    expanded: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not framework_files(path):
            files = list(path.rglob("*.hearth"))
            included = {(f.parent / target).resolve() for f in files if _declares_header(f)
                        for target in _INCLUDE.findall(f.read_text(encoding="utf-8", errors="replace"))}
            below = sorted({p.parent for p in files if not _only_included(p.parent, included)})
            expanded.extend(below or [path])
        else:
            expanded.append(path)
    return expanded


def _declares_header(path: Path) -> bool:
    try:
        return bool(_HEADER.search(path.read_text(encoding="utf-8", errors="replace")[:200_000]))
    except OSError:
        return True


def _only_included(folder: Path, included: set[Path]) -> bool:
    """Whether ``folder`` (or every file in it) is something another framework includes."""
    return folder.resolve() in included or all(f.resolve() in included for f in framework_files(folder))


def check_paths(paths: Iterable[str | Path]) -> list[Diagnostic]:
    """Every problem in the frameworks at ``paths`` (files or folders), errors and warnings, in one pass."""
    found: list[Diagnostic] = []
    for root in framework_roots(paths):
        result = check_framework(root)
        found.extend(result if isinstance(result, list) else result.diagnostics)
    return found
