"""A case waiting on a guard re-checks it as of a profiling run's date, where the feeds have coverage.

Between monthly extracts the feeds stop short of "today", so the weekly re-check of a sustained case
reads the claim rule as unknown; the ``profiled`` signal a profiling run sends makes the case evaluate
as of the run's evaluation date instead (time-skipping server, fresh task queue per test)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.workflows.helpers import audit_rows, request_and_sign_off, to_sustaining, wait_for, wait_until

pytestmark = pytest.mark.temporal


async def sustained_past_coverage(h, family_id: str):
    """A case whose six-month sustainment timer fired while the feeds covered only its first 170 days:
    the claim rule reads unknown. Returns the case id and the day it entered sustaining."""
    case_id = await h.open_case(family_id)
    await to_sustaining(h, case_id, family_id)
    start = await h.today()
    h.families.covered_to = start + timedelta(days=170)  # the last extract before the window ends
    await h.skip(days=195)  # the timer fired; its guard and the weekly re-checks: unknown
    view = await h.cases.view(case_id)
    assert (view.state, view.guard_values["claimable"]) == ("sustaining", "unknown")
    return case_id, start


async def test_waiting_case_rechecks_as_of_the_profiling_date(harness):
    h = harness
    framework_id, phase = h.framework.header.id, h.framework.header.phase
    case_id, start = await sustained_past_coverage(h, "P1")

    extract = start + timedelta(days=189)  # the next extract arrives and is profiled as of its date
    h.families.covered_to = extract
    await h.skip(days=3)  # a weekly re-check asks as of today, past the coverage: still unknown
    view = await h.cases.view(case_id)
    assert (view.state, view.guard_values["claimable"]) == ("sustaining", "unknown")

    # a run dated before the wait began says nothing about it: no evaluation
    assert await h.cases.recheck_waiting_cases(framework_id, phase, "run-old", start + timedelta(days=100)) == [case_id]
    assert await h.cases.recheck_waiting_cases(framework_id, phase, "run-189", extract) == [case_id]
    await wait_for(h.cases, case_id, "claimable")

    sustained = [r for r in audit_rows(h.engine, case_id) if r.kind == "transition" and r.name == "sustained"]
    assert len(sustained) == 1
    assert sustained[0].reason == f"guard met as of {extract.isoformat()} (profiling run run-189): claimable"
    assert sustained[0].actor == "system"
    asked = [as_of for family, as_of in h.families.loads if family == "P1"]
    assert asked.count(extract) == 1
    assert start + timedelta(days=100) not in asked

    # internal audit's sign-off re-checks the claim rule: unknown as of today, met as of the run's date
    result = await request_and_sign_off(h.cases, case_id)
    assert result.state == "claimed"
    (sign_off,) = [r for r in audit_rows(h.engine, case_id) if r.kind == "transition" and r.name == "sign_off"]
    details = json.loads(sign_off.details)
    assert (details["as_of"], details["claimable"]) == (extract.isoformat(), "met")


async def test_profiling_signal_is_deduplicated_and_ignored_when_nothing_waits(harness):
    """The same run twice evaluates once; a case whose state has no guarded automatic exit is not told."""
    h = harness
    framework_id, phase = h.framework.header.id, h.framework.header.phase
    waiting, start = await sustained_past_coverage(h, "P2")
    identified = await h.open_case("P3")  # open, but nothing in its state waits on a rule
    day = start + timedelta(days=192)  # after the wait began, not a weekly re-check date, still unknown
    asked = lambda: [as_of for family, as_of in h.families.loads if family == "P2"].count(day)  # noqa: E731
    for _ in range(2):
        told = await h.cases.recheck_waiting_cases(framework_id, phase, "run-192", day)
        assert told == [waiting] and identified not in told
    await wait_until(h.cases, waiting, lambda _: asked() > 0, "an evaluation as of the run's date")
    await h.skip(days=1)
    assert asked() == 1
    assert (await h.cases.view(waiting)).state == "sustaining"
    assert (await h.cases.view(identified)).state == "identified"
