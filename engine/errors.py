"""The one exception root for Hearth.

Every error a user can cause subclasses :class:`HearthError` and, where the meaning fits, the builtin
(``ValueError`` for bad values, ``LookupError`` for unknown ids, ``SyntaxError`` for rule text).
Messages say what was given, what is valid and how to fix it; the CLI prints them without a traceback.
"""

from __future__ import annotations


class HearthError(Exception):
    """Root of every error Hearth raises on purpose."""

    exit_code: int = 2

    def render(self) -> str:
        """The text shown to a user (no traceback)."""
        return str(self)


class ConfigError(HearthError, ValueError):
    """A configuration file or option is wrong (feed declaration, database URL, CLI option)."""


class NotFoundError(HearthError, LookupError):
    """An id given by the user (family, person, decision, case) does not exist."""


class NotAuthorisedError(HearthError, PermissionError):
    """A role the framework does not authorise for an action (an override of a criterion's result)."""


class DataError(HearthError, ValueError):
    """Input data is unusable as a whole (an unreadable feed file, a missing sheet)."""


class EvaluationError(HearthError, ValueError):
    """A rule could not be evaluated for reasons other than missing data (a type error at run time)."""


class IntegrityError(HearthError, ValueError):
    """Stored records fail verification (a broken decision hash chain, a tampered framework text)."""
