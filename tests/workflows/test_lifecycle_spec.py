"""Reading a lifecycle: the real Phase 3 framework's, and the mistakes that stop a case running."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

import dsl
from engine.errors import ConfigError
from engine.rules import ir
from tests.workflows import builders
from workflows import lifecycle as lcx
from workflows.cases import resolve_timer_durations

PHASE3 = Path(__file__).resolve().parents[2] / "frameworks" / "phase3"


@pytest.fixture(scope="module")
def phase3() -> ir.Framework:
    return dsl.load_framework(PHASE3)


def test_phase3_lifecycle_is_interpretable(phase3):
    """The shipped framework's lifecycle has one initial state, a claim sign-off and resolvable timers."""
    lc = phase3.lifecycle
    assert lcx.check(lc) == []
    assert lcx.initial_state(lc).name == "identified"
    assert lcx.claim_transition(lc).name == "sign_off"
    durations = resolve_timer_durations(phase3, date(2024, 1, 15))
    assert set(durations) == {t.name for t in lc.timers if isinstance(t.after, ir.ParamRef)}
    assert all(d.amount > 0 for d in durations.values())
    attach = lcx.transitions_requiring(lc, "lead_practitioner")
    assert [t.name for t in attach] == ["attach"]


@pytest.mark.parametrize(("start", "duration", "expected"), [
    (datetime(2024, 8, 31), ir.Duration(amount=6, unit="months"), datetime(2025, 2, 28)),
    (datetime(2024, 1, 31), ir.Duration(amount=1, unit="months"), datetime(2024, 2, 29)),
    (datetime(2024, 1, 1), ir.Duration(amount=2, unit="weeks"), datetime(2024, 1, 15)),
    (datetime(2024, 9, 1), ir.Duration(amount=3, unit="terms"), datetime(2025, 9, 1)),
    (datetime(2024, 2, 29), ir.Duration(amount=1, unit="years"), datetime(2025, 2, 28)),
])
def test_calendar_durations(start, duration, expected):
    """Months clamp to the month's end; a term is four months."""
    assert lcx.add_duration(start, duration) == expected


def test_check_names_every_problem():
    """Unknown states, roles and transitions are all reported, each naming the culprit."""
    lc = builders.LIFECYCLE.model_copy(update={
        "transitions": (*builders.LIFECYCLE.transitions,
                        ir.Transition(name="escalate", sources=("tracking",), target="escalated", roles=("director",))),
        "timers": (*builders.LIFECYCLE.timers,
                   ir.Timer(name="nudge", state="limbo", after=ir.Duration(amount=1, unit="days"), transition="poke")),
    })
    problems = lcx.check(lc)
    assert "transition escalate names unknown state 'escalated'" in problems
    assert any("role 'director'" in p for p in problems)
    assert "timer nudge runs in unknown state 'limbo'" in problems
    assert "timer nudge takes unknown transition 'poke'" in problems


def test_unresolvable_timer_parameter_is_a_config_error():
    """A timer whose duration parameter is missing is refused before any case starts."""
    framework = builders.framework().model_copy(update={"parameters": ()})
    with pytest.raises(ConfigError, match="parameter 'sustainment_period'"):
        resolve_timer_durations(framework, date(2024, 1, 1))
