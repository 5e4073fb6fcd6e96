"""Hearth's rule language: framework files -> checked AST -> compiled :class:`engine.rules.ir.Framework`.

Public API:
    load_framework(path) -> ir.Framework      a .hearth file or a folder of them; raises DslError
    check_paths(paths) -> list[Diagnostic]    every error and warning in one pass
    parse_text(text, filename) -> ast.Module  raises DslSyntaxError
    format_text(text, filename) -> str        canonical formatting (comments kept)
"""

from dsl.api import check_paths, load_framework
from dsl.errors import Diagnostic, DslCheckError, DslError, DslSyntaxError
from dsl.format import format_text
from dsl.parser import parse_text

__all__ = (
    "Diagnostic",
    "DslCheckError",
    "DslError",
    "DslSyntaxError",
    "check_paths",
    "format_text",
    "load_framework",
    "parse_text",
)
