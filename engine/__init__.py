"""Hearth's engine: pure domain code (storage, integration, matching, rule evaluation).

The engine never imports :mod:`dsl`, :mod:`workflows` or anything under ``frameworks/``:
frameworks arrive as a compiled :class:`engine.rules.ir.Framework`.
"""

__version__ = "0.1.0"
__all__ = ("__version__",)
