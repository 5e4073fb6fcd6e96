"""A family build runs with the cyclic garbage collector off and gives it back as it found it."""

from __future__ import annotations

import gc
from datetime import datetime

import pytest
import sqlalchemy as sa

from engine.errors import DataError
from engine.integrate.families import build_families
from engine.integrate.grouping import load_grouping
from tests.integrate.conftest import DEMO, JAN

RULES = load_grouping(DEMO / "families.yaml")
BUILT = datetime(2024, 2, 1, 10, 0)


def _collector_state_per_statement(engine: sa.Engine) -> list[bool]:
    """Whether the collector was on as each SQL statement of the build ran (read through SQLAlchemy's own
    statement hook: the build's queries and writes are what it does while holding its records)."""
    seen: list[bool] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *_args: seen.append(gc.isenabled()))
    return seen


def test_build_runs_without_the_collector_and_turns_it_back_on(engine, loaded) -> None:
    loaded((JAN,))
    seen = _collector_state_per_statement(engine)
    assert gc.isenabled()
    report = build_families(engine, RULES, now=BUILT)
    assert report.layers["household"].families > 0
    assert seen and not any(seen)
    assert gc.isenabled()


def test_build_that_fails_turns_the_collector_back_on(engine) -> None:
    assert gc.isenabled()
    with pytest.raises(DataError):
        build_families(engine, RULES)  # nothing loaded yet
    assert gc.isenabled()


def test_build_leaves_a_collector_the_caller_turned_off_off(engine, loaded) -> None:
    loaded((JAN,))
    gc.disable()
    try:
        build_families(engine, RULES, now=BUILT)
        assert not gc.isenabled()
    finally:
        gc.enable()
