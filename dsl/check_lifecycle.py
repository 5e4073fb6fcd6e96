"""Checks for the ``lifecycle`` block: states, transitions, timers and who may act.

A lifecycle is what the workflow engine runs, so mistakes here strand real cases: a state nothing
leads to, a state a case can never leave, a timer that takes a transition not available in its state.
"""

from __future__ import annotations

from typing import Iterable

from dsl import ast as a
from dsl.check_expr import ExprChecker, Reporter, did_you_mean, type_of_unit
from dsl.compose import Model


def check_lifecycle(lc: a.LifecycleDecl, model: Model, report: Reporter, exprs: ExprChecker,
                    builtin_guards: Iterable[str]) -> None:
    states: dict[str, a.StateDecl] = {}
    for state in lc.states:
        if state.name in states:
            report.error(f"state `{state.name}` is declared twice", state.span, [("the first", states[state.name].span)])
        states[state.name] = state
    initial = [s for s in lc.states if s.initial]
    if not initial:
        report.error("the lifecycle needs one `initial` state (where new cases start)", lc.span)
    for extra in initial[1:]:
        report.error(f"only one state may be initial; `{initial[0].name}` already is", extra.span,
                     [("the first initial state", initial[0].span)])
    if lc.states and not any(s.final for s in lc.states):
        report.error("the lifecycle needs at least one `final` state (where cases end)", lc.span)

    actors = {r.name for r in lc.actor_roles}
    reasons = {r.name for r in lc.closure_reasons}
    guards = {*builtin_guards, *exprs.rules, *exprs.needs}

    def known_state(ref: a.Name) -> bool:
        if ref.name not in states:
            report.error(f"unknown state `{ref.name}`{did_you_mean(ref.name, states)}", ref.span)
            return False
        return True

    _check_roles(lc.override_roles, actors, report)  # (who may override a criterion: see docs/language.md)
    transitions: dict[str, a.TransitionDecl] = {}
    for tr in lc.transitions:
        if tr.name in transitions:
            report.error(f"transition `{tr.name}` is declared twice", tr.span, [("the first", transitions[tr.name].span)])
        transitions[tr.name] = tr
        for ref in (*tr.sources, tr.target):
            known_state(ref)
        if not tr.roles and not tr.automatic:
            report.error(f"transition `{tr.name}` must say who takes it: `by ROLE, ...` or `automatically`", tr.span)
        _check_roles(tr.roles, actors, report)
        for guard in tr.guards:
            if guard.name not in guards:
                report.error(f"unknown guard `{guard.name}`: a guard names a rule, a need or one of "
                             f"{', '.join(builtin_guards)}{did_you_mean(guard.name, guards)}", guard.span)
            else:
                exprs.references.setdefault("lifecycle", set()).add(guard.name)
        _check_reasons(tr.reasons, reasons, report)

    for timer in lc.timers:
        for ref in timer.states:
            known_state(ref)
        if isinstance(timer.length, a.Name):
            param = exprs.params.get(timer.length.name)
            if param is None:
                report.error(f"unknown parameter `{timer.length.name}`{did_you_mean(timer.length.name, exprs.params)}",
                             timer.length.span)
            else:
                exprs.used_params.add(param.name)
                exprs.resolved[id(timer.length)] = "param"
                if type_of_unit(param.unit) != "duration":
                    report.error(f"timer length `{param.name}` is a {param.unit}; it must be a duration",
                                 timer.length.span)
        for action in (timer.take, timer.fail_take):
            if action is None:
                continue
            tr = transitions.get(action.transition.name)
            if tr is None:
                report.error(f"timer `{timer.name}` takes unknown transition `{action.transition.name}`"
                             f"{did_you_mean(action.transition.name, transitions)}", action.transition.span)
            else:
                leaving = {s.name for s in tr.sources}
                for state in timer.states:
                    if state.name in states and state.name not in leaving:
                        report.error(f"timer `{timer.name}` runs in `{state.name}` but transition `{tr.name}` does "
                                     f"not leave `{state.name}` (it leaves {', '.join(sorted(leaving))})",
                                     action.transition.span)
            if action.reason is not None:
                _check_reasons((action.reason,), reasons, report)
        for fact in (*timer.restart_on, *timer.fail_on):
            if fact.name not in exprs.facts:
                report.error(f"unknown fact type `{fact.name}`{did_you_mean(fact.name, exprs.facts)}", fact.span)

    _check_reachability(lc, states, report)


def _check_roles(given: Iterable[a.Name], actors: set[str], report: Reporter) -> None:
    for role in given:
        if role.name not in actors:
            report.error(f"unknown role `{role.name}` (the lifecycle's roles: {', '.join(sorted(actors)) or 'none'})"
                         f"{did_you_mean(role.name, actors)}", role.span)


def _check_reasons(given: Iterable[a.Name], reasons: set[str], report: Reporter) -> None:
    for reason in given:
        if reason.name not in reasons:
            report.error(f"unknown closure reason `{reason.name}` (declared: {', '.join(sorted(reasons)) or 'none'})"
                         f"{did_you_mean(reason.name, reasons)}", reason.span)


def _check_reachability(lc: a.LifecycleDecl, states: dict[str, a.StateDecl], report: Reporter) -> None:
    into: dict[str, set[str]] = {name: set() for name in states}
    out_of: dict[str, set[str]] = {name: set() for name in states}
    for tr in lc.transitions:
        for source in tr.sources:
            if source.name in states and tr.target.name in states:
                out_of[source.name].add(tr.target.name)
                into[tr.target.name].add(source.name)
    for name, state in states.items():
        if not state.initial and not into[name]:
            report.error(f"state `{name}` has no way in: no transition leads to it", state.span)
        if not state.final and not out_of[name]:
            report.error(f"state `{name}` has no way out: no transition leaves it, so a case there is stuck", state.span)
    start = next((s.name for s in lc.states if s.initial), None)
    if start is None:
        return
    seen, todo = {start}, [start]
    while todo:
        for nxt in out_of[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    for name, state in states.items():
        if name not in seen and into[name]:
            report.error(f"state `{name}` cannot be reached from the initial state `{start}`", state.span)
