"""Read-only helpers over a framework's :class:`engine.rules.ir.Lifecycle`, shared by the workflow
(deterministic: no I/O, no clock) and the client helpers.

Nothing here names a state or transition of a particular framework: which transition attaches a
family, which one signs off a claim, which states are final, all come from the lifecycle itself.
The only fixed vocabulary is the rules engine's: a manual transition guarded by the ``claimable`` rule
is the claim sign-off, and the case fields ``reason`` and ``lead_practitioner`` have their usual meaning.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from engine.rules.ir import Duration, Lifecycle, LifecycleState, ParamRef, Timer, Transition

#: the rules engine's name for "this family's case may be claimed"
CLAIM_RULE = "claimable"
#: months in a school term, for durations written in terms (three terms a year)
MONTHS_PER_TERM = 4


class LifecycleSpecError(ValueError):
    """The lifecycle cannot be interpreted (no initial state, a timer naming an unknown transition)."""


def initial_state(lc: Lifecycle) -> LifecycleState:
    initial = [s for s in lc.states if s.initial]
    if len(initial) != 1:
        names = ", ".join(s.name for s in initial) or "none"
        raise LifecycleSpecError(f"a lifecycle needs exactly one initial state; found {names}")
    return initial[0]


def is_final(lc: Lifecycle, state: str) -> bool:
    return any(s.name == state and s.final for s in lc.states)


def transition(lc: Lifecycle, name: str) -> Transition | None:
    return next((t for t in lc.transitions if t.name == name), None)


def transitions_from(lc: Lifecycle, state: str) -> list[Transition]:
    return [t for t in lc.transitions if state in t.sources]


def manual_transitions_from(lc: Lifecycle, state: str) -> list[Transition]:
    return [t for t in transitions_from(lc, state) if not t.automatic]


def timer_states(timer: Timer) -> tuple[str, ...]:
    """The states a timer runs in: ``states`` when the compiler filled it, else ``state`` (which
    lifecycles pinned before ``states`` existed wrote as a comma list: ``attached, tracking``)."""
    return timer.states or tuple(part.strip() for part in timer.state.split(",") if part.strip())


def timer_reason(timer: Timer, failed: bool = False) -> str:
    """The reason recorded when a timer takes its transition: the framework's, else the timer's name."""
    reason = timer.fail_reason if failed else timer.reason
    return reason or f"timer {timer.name} {'failed' if failed else 'elapsed'}"


def timers_in(lc: Lifecycle, state: str) -> list[Timer]:
    return [t for t in lc.timers if state in timer_states(t)]


def timer(lc: Lifecycle, name: str) -> Timer | None:
    return next((t for t in lc.timers if t.name == name), None)


def timer_driven_transitions(lc: Lifecycle) -> set[str]:
    """Transitions a timer takes: they fire when the timer does, not whenever their guard holds."""
    names = {t.transition for t in lc.timers if t.transition}
    names |= {t.fail_transition for t in lc.timers if t.fail_transition}
    return names


def claim_transition(lc: Lifecycle) -> Transition | None:
    """The internal-audit sign-off: the manual transition guarded by the ``claimable`` rule."""
    return next((t for t in lc.transitions if not t.automatic and CLAIM_RULE in t.guard), None)


def allowed_reasons(lc: Lifecycle, t: Transition) -> tuple[str, ...]:
    """Reasons a transition accepts: its own list, else the closure reasons for one into a final state."""
    if t.reasons:
        return t.reasons
    if is_final(lc, t.target):
        return lc.closure_reasons
    return ()


def transitions_requiring(lc: Lifecycle, field: str) -> list[Transition]:
    return [t for t in lc.transitions if not t.automatic and field in t.requires]


def unresolved_timer_durations(lc: Lifecycle) -> list[tuple[str, str]]:
    """(timer, parameter) pairs whose duration must be resolved from the framework's parameters."""
    return [(t.name, t.after.name) for t in lc.timers if isinstance(t.after, ParamRef)]


def timer_duration(t: Timer, resolved: dict[str, Duration]) -> Duration | None:
    if isinstance(t.after, Duration):
        return t.after
    return resolved.get(t.name)


def add_duration(start: datetime, duration: Duration) -> datetime:
    """``start`` plus a calendar duration (months clamp to the month's last day; a term is 4 months).

    >>> add_duration(datetime(2024, 8, 31), Duration(amount=6, unit="months"))
    datetime.datetime(2025, 2, 28, 0, 0)
    >>> add_duration(datetime(2024, 1, 1), Duration(amount=2, unit="weeks"))
    datetime.datetime(2024, 1, 15, 0, 0)
    """
    if duration.unit == "days":
        return start + timedelta(days=duration.amount)
    if duration.unit == "weeks":
        return start + timedelta(weeks=duration.amount)
    months = {"months": 1, "years": 12, "terms": MONTHS_PER_TERM}[duration.unit] * duration.amount
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def check(lc: Lifecycle) -> list[str]:
    """Problems that would stop the workflow interpreting this lifecycle (empty when usable)."""
    problems: list[str] = []
    states = {s.name for s in lc.states}
    try:
        initial_state(lc)
    except LifecycleSpecError as exc:
        problems.append(str(exc))
    for t in lc.transitions:
        for name in (*t.sources, t.target):
            if name not in states:
                problems.append(f"transition {t.name} names unknown state {name!r}")
        for role in t.roles:
            if lc.actor_roles and role not in lc.actor_roles:
                problems.append(f"transition {t.name} names role {role!r} not in roles {list(lc.actor_roles)}")
    names = {t.name for t in lc.transitions}
    for tm in lc.timers:
        for state in timer_states(tm):
            if state not in states:
                problems.append(f"timer {tm.name} runs in unknown state {state!r}")
        for taken in (tm.transition, tm.fail_transition):
            if taken and taken not in names:
                problems.append(f"timer {tm.name} takes unknown transition {taken!r}")
    return problems
