"""Run-time values the evaluator passes between compiled expressions.

Booleans are the strings ``"met"`` / ``"not_met"`` / ``"unknown"``. Numbers, dates, codes and
durations are plain Python values. Two extra shapes:

- :data:`UNK`: a non-boolean value we cannot know (a missing field, a missing term of attendance).
  The reason is recorded in the evaluation's collector, not on the value, so the value stays a cheap
  singleton.
- :class:`Range`: a count we only know within bounds (3 needs met and 2 unknown is "3 to 5"), so a
  comparison such as ``count of needs >= 3`` can still be decided when every value in the range agrees.
- :class:`NoRecord`: ``latest X.field`` (or ``earliest``) when the sources cover the period and hold no
  such record - the person has no X, which is known, not unknown. A comparison reading it is a statement
  about a record that does not exist: ``=``, ``in``, ``<``... are not met, ``!=`` and ``not in`` are met.
"""

from __future__ import annotations

from dataclasses import dataclass


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNK"

    def __bool__(self) -> bool:  # unknown is never truthy by accident
        raise TypeError("an unknown value has no truth value; use three-valued logic")


UNK = _Unknown()


@dataclass(frozen=True, slots=True)
class Range:
    """A number known to lie in ``[lo, hi]``; ``hi=None`` means no upper bound."""

    lo: float
    hi: float | None

    def __str__(self) -> str:
        return f"{_num(self.lo)} to {_num(self.hi) if self.hi is not None else 'more'}"


@dataclass(frozen=True, slots=True)
class NoRecord:
    """There is no record to read a field from; ``what`` says which (for explanations)."""

    what: str

    def __str__(self) -> str:
        return f"none ({self.what})"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def bounded(lo: float, hi: float | None) -> float | Range:
    """``lo`` itself when the bounds agree, else a :class:`Range`."""
    return lo if hi is not None and lo == hi else Range(lo, hi)


class ValueUnknown(Exception):
    """Raised by a built-in function whose result cannot be known (the reason says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
