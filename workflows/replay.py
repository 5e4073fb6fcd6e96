"""Replaying case histories against the current code: is it still deterministic?

A case is a chain of runs (continue-as-new); each run's history is replayed with Temporal's
:class:`~temporalio.worker.Replayer`, using the same data converter as the workers. A change to the
workflow that is not behind ``workflow.patched()`` makes an old history fail here, before it can
fail a running case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.case_workflow import CaseWorkflow


@dataclass
class RunReplay:
    run_id: str
    events: int
    deterministic: bool
    error: str | None = None


@dataclass
class ReplayReport:
    case_id: str
    runs: list[RunReplay] = field(default_factory=list)

    @property
    def deterministic(self) -> bool:
        return bool(self.runs) and all(r.deterministic for r in self.runs)


def replayer() -> Replayer:
    return Replayer(workflows=[CaseWorkflow], data_converter=pydantic_data_converter)


async def replay_history(history: WorkflowHistory) -> RunReplay:
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    return RunReplay(run_id=history.workflow_id, events=len(history.events), deterministic=failure is None,
                     error=None if failure is None else f"{type(failure).__name__}: {failure}")


async def fetch_histories(client: Client, case_id: str) -> list[tuple[str, WorkflowHistory]]:
    """Every run of the case, oldest first, with its history: walks back from the latest run through
    each run's ``continued_execution_run_id`` (works without a visibility store)."""
    chain: list[tuple[str, WorkflowHistory]] = []
    run_id = (await client.get_workflow_handle(case_id).describe()).run_id
    while run_id:
        history = await client.get_workflow_handle(case_id, run_id=run_id).fetch_history()
        chain.append((run_id, history))
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
    return chain[::-1]


async def replay_case(client: Client, case_id: str) -> ReplayReport:
    report = ReplayReport(case_id)
    for run_id, history in await fetch_histories(client, case_id):
        outcome = await replay_history(history)
        outcome.run_id = run_id
        report.runs.append(outcome)
    return report


def load_history_file(path: Path) -> WorkflowHistory:
    """A history saved by ``WorkflowHistory.to_json()`` or ``temporal workflow show --output json``;
    the workflow id is the file's stem."""
    return WorkflowHistory.from_json(path.stem, path.read_text())
