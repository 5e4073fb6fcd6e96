"""Committed histories recorded from real runs replay against the current workflow code."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.case_workflow import CaseWorkflow
from workflows.models import CaseInput, CaseOutcome
from workflows.replay import load_history_file, replay_history

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_fixtures_exist():
    """The recorded histories cover the claim path, a regression and continue-as-new (both runs)."""
    names = {p.stem.split("-", 1)[1] for p in HISTORIES}
    assert {"claim_and_close-run1", "regression_then_close-run1", "continued_as_new-run1",
            "continued_as_new-run2"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_deterministically(path):
    """Current code makes exactly the commands each recorded run made."""
    outcome = await replay_history(load_history_file(path))
    assert outcome.deterministic, outcome.error
    assert outcome.events > 20


@workflow.defn(name="CaseWorkflow", sandboxed=False)
class UnpatchedChange(CaseWorkflow):
    """The case workflow as if someone dropped the search-attribute upsert without a patch."""

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseOutcome:
        return await super().run(inp)

    def _upsert_state(self) -> None:
        pass


async def test_unpatched_change_is_caught():
    """Replay reports a code change that alters the workflow's commands."""
    history = load_history_file(HISTORIES[0])
    result = await Replayer(workflows=[UnpatchedChange], data_converter=pydantic_data_converter).replay_workflow(
        history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()
