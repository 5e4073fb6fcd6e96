"""Built-in functions rules may call (``days_between(a, b)``, ``age_on(date)``...).

The language grows by adding an entry to :data:`FUNCTIONS`, never by editing the evaluator. The DSL
checker reads the signatures to type-check calls; the evaluator calls ``fn``. Arguments arrive already
evaluated and known (an unknown argument makes the call unknown before ``fn`` runs); a function that
cannot produce a value raises :class:`~engine.rules.values.ValueUnknown` with the reason.

Functions with ``needs_context`` receive the evaluation context first; it offers ``person_age_on``
and ``all_outcomes`` (see :mod:`engine.rules.evaluator`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Protocol

from engine.rules.calendar import add_months
from engine.rules.values import ValueUnknown


class FunctionContext(Protocol):
    def person_age_on(self, day: date) -> Any: ...

    def all_outcomes(self, part: str) -> str: ...


@dataclass(frozen=True)
class Function:
    """A built-in: ``params`` are the argument units (``"number"`` accepts count/percent/money too;
    ``"*number"`` means one or more numbers), ``returns`` the result unit."""

    name: str
    fn: Callable[..., Any]
    params: tuple[str, ...]
    returns: str
    description: str
    needs_context: bool = False

    @property
    def variadic(self) -> bool:
        return bool(self.params) and self.params[-1].startswith("*")


def _days_between(start: date, end: date) -> int:
    return (end - start).days


def _months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and add_months(start, months) > end:
        months -= 1
    elif months < 0 and add_months(start, months) < end:
        months += 1
    return months


def _percent(part: float, whole: float) -> float:
    if whole == 0:
        raise ValueUnknown(f"percent({part}, {whole}) has no value: the whole is 0")
    return part / whole * 100


def _age_on_context(ctx: FunctionContext, day: date) -> Any:
    return ctx.person_age_on(day)


def _all_outcomes_achieved(ctx: FunctionContext) -> str:
    return ctx.all_outcomes("achieved")


def _all_outcomes_sustained(ctx: FunctionContext) -> str:
    return ctx.all_outcomes("sustained")


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("days_between", _days_between, ("date", "date"), "days",
                 "Days from the first date to the second (negative if the second is earlier)."),
        Function("months_between", _months_between, ("date", "date"), "months",
                 "Whole calendar months from the first date to the second."),
        Function("years_between", lambda a, b: _months_between(a, b) // 12, ("date", "date"), "years",
                 "Whole years from the first date to the second."),
        Function("age_on", _age_on_context, ("date",), "years",
                 "Age in whole years of the person in scope on the date.", needs_context=True),
        Function("min", lambda *xs: min(xs), ("*number",), "number", "The smallest of the numbers."),
        Function("max", lambda *xs: max(xs), ("*number",), "number", "The largest of the numbers."),
        Function("abs", abs, ("number",), "number", "The absolute value."),
        Function("percent", _percent, ("number", "number"), "percent",
                 "The first number as a percentage of the second (unknown when the second is 0)."),
        Function("all_outcomes_achieved", _all_outcomes_achieved, (), "boolean",
                 "Every identified need has its outcome achieved.", needs_context=True),
        Function("all_outcomes_sustained", _all_outcomes_sustained, (), "boolean",
                 "Every identified need has its outcome achieved and sustained.", needs_context=True),
    )
}
