"""Record real case histories as replay fixtures (``tests/workflows/histories/*.json``).

Run after a deliberate change to the workflow's shape, then commit the new files next to the old ones
(old ones stay: they are what running cases look like)::

    .venv/bin/python -m tests.workflows.record_histories [--tag v1]

Each scenario runs on the time-skipping test server with the real worker, activities and evaluator.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.workflows import builders
from tests.workflows.conftest import CaseHarness, binary, make_harness_engine
from workflows.server import register_search_attributes
from tests.workflows.helpers import request_and_sign_off, to_sustaining, wait_for
from workflows.activities import CaseActivities, RulesEngineGuards
from workflows.cases import CaseClient
from workflows.models import ActionRequest, FactSignal
from workflows.replay import fetch_histories
from workflows.worker import build_worker

HISTORIES = Path(__file__).parent / "histories"


async def claim_and_close(h: CaseHarness) -> str:
    case_id = await h.open_case("H1")
    await to_sustaining(h, case_id, "H1")
    await h.skip(days=186)
    await wait_for(h.cases, case_id, "claimable")
    await request_and_sign_off(h.cases, case_id)
    await h.cases.act(case_id, ActionRequest(transition="close", actor="mo", role="manager", reason="claimed"))
    await h.cases.outcome(case_id)
    return case_id


async def regression_then_close(h: CaseHarness) -> str:
    case_id = await h.open_case("H2")
    await to_sustaining(h, case_id, "H2")
    await h.skip(days=60)
    day = await h.today()
    h.families.add_fact("H2", "offence", day, outcome="caution")
    await h.cases.send_fact(case_id, FactSignal(event_id="off-1", fact_type="offence", occurred_on=day))
    await h.cases.send_fact(case_id, FactSignal(event_id="off-1", fact_type="offence", occurred_on=day))
    await h.skip(days=100)
    await h.cases.act(case_id, ActionRequest(transition="close", actor="kim", role="keyworker",
                                             reason="moved_out_of_area"))
    await h.cases.outcome(case_id)
    return case_id


async def continued_as_new(h: CaseHarness) -> str:
    case_id = await h.open_case("H3", max_events_per_run=40)
    await to_sustaining(h, case_id, "H3")
    day = await h.today()
    for i in range(25):
        await h.cases.send_fact(case_id, FactSignal(event_id=f"hr-{i}", fact_type="health_referral", occurred_on=day))
    await h.skip(days=200)
    await h.cases.act(case_id, ActionRequest(transition="close", actor="mo", role="manager", reason="declined_support"))
    await h.cases.outcome(case_id)
    return case_id


async def recheck_after_profiling(h: CaseHarness) -> str:
    """v3: the feeds stop short of today, so the claim rule waits unknown until a profiling run's
    ``profiled`` signal has the case re-check as of the run's date."""
    case_id = await h.open_case("H4")
    await to_sustaining(h, case_id, "H4")
    start = await h.today()
    h.families.covered_to = start + timedelta(days=170)
    await h.skip(days=195)
    extract = start + timedelta(days=189)
    h.families.covered_to = extract
    await h.cases.recheck_waiting_cases(h.framework.header.id, h.framework.header.phase, "run-h4", extract)
    await wait_for(h.cases, case_id, "claimable")
    await request_and_sign_off(h.cases, case_id)
    await h.cases.act(case_id, ActionRequest(transition="close", actor="mo", role="manager", reason="claimed"))
    await h.cases.outcome(case_id)
    return case_id


SCENARIOS = (claim_and_close, regression_then_close, continued_as_new, recheck_after_profiling)


async def record_scenario(scenario, tag: str) -> list[Path]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter)
    written: list[Path] = []
    try:
        await register_search_attributes(env.client)
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_harness_engine(Path(tmp))
            families = builders.FamilySource()
            activities = CaseActivities(engine, family_loader=families.load, guard_evaluator=RulesEngineGuards())
            queue = f"record-{uuid.uuid4()}"
            async with build_worker(env.client, activities, queue):
                h = CaseHarness(env, engine, families, CaseClient(env.client, engine, queue),
                                builders.framework(), queue)
                case_id = await scenario(h)
                for index, (_, history) in enumerate(await fetch_histories(env.client, case_id)):
                    path = HISTORIES / f"{tag}-{scenario.__name__}-run{index + 1}.json"
                    path.write_text(history.to_json())
                    written.append(path)
            engine.dispose()
    finally:
        await env.shutdown()
    return written


async def record(tag: str, only: list[str] | None = None) -> list[Path]:
    chosen = [s for s in SCENARIOS if not only or s.__name__ in only]
    return [path for scenario in chosen for path in await record_scenario(scenario, tag)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="v1", help="prefix of the written files (the code version)")
    parser.add_argument("--only", action="append", choices=[s.__name__ for s in SCENARIOS],
                        help="record just this scenario (repeatable); default: all")
    args = parser.parse_args()
    HISTORIES.mkdir(exist_ok=True)
    for path in asyncio.run(record(args.tag, args.only)):
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    sys.stdout.flush()
    os._exit(0)  # sdk-python#300: the interpreter can crash while finalizing after Temporal use


if __name__ == "__main__":
    main()
