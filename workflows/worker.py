"""Connecting to Temporal and running the case worker.

Every client uses :data:`CASE_DATA_CONVERTER` (workers inherit the client's converter): the JSON of
``temporalio.contrib.pydantic``, so workflow inputs, signals, updates and activity payloads are the
pydantic models of :mod:`workflows.models`.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import ClassVar, Iterator

from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import CompositePayloadConverter, DataConverter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.activities import CaseActivities
from workflows.case_workflow import CaseWorkflow

TASK_QUEUE = "hearth-cases"
NAMESPACE = "default"
ADDRESS_ENV = "HEARTH_TEMPORAL_ADDRESS"


class SharedPydanticPayloadConverter(CompositePayloadConverter):
    """``pydantic_data_converter``'s payload converter, with its encoders built once per process.

    A worker makes a payload converter for every workflow run; the stock pydantic one then builds a
    fresh serializer and type-adapter cache each time, and inside the sandbox that was about a tenth
    of a new case's CPU (measured). The encoders hold no state but that cache, so runs share them.
    Same encoding and JSON, so payloads written by either converter read with the other.
    """

    _encoders: ClassVar[tuple] = tuple(PydanticPayloadConverter().converters.values())

    def __init__(self) -> None:
        super().__init__(*self._encoders)


CASE_DATA_CONVERTER = DataConverter(payload_converter_class=SharedPydanticPayloadConverter)


async def connect(address: str, namespace: str = NAMESPACE) -> Client:
    from engine.errors import ConfigError

    try:
        return await Client.connect(address, namespace=namespace, data_converter=CASE_DATA_CONVERTER)
    except RuntimeError as exc:
        raise ConfigError(
            f"cannot reach Temporal at {address}: {exc}. Start the embedded server with `hearth server start` "
            f"or give a running cluster with --temporal-address (or ${ADDRESS_ENV})"
        ) from exc


def workflow_runner(*, sandboxed: bool = True, strict_sandbox: bool = False):
    """How the worker runs the case workflow.

    The default is the SDK sandbox with the workflow's own module passed through. The sandbox normally
    re-imports ``workflows.case_workflow`` for every workflow run (fresh module globals), which was
    most of a new case's first workflow task (measured: about 5 ms of the worker's 11 ms per case).
    The module keeps no mutable global state (constants only), so a re-import isolates nothing; the
    sandbox still isolates every other module and still restricts builtins (``open``...) at run time.
    What passing it through gives up is the import-time proxying of the modules the workflow file
    itself imports (a ``datetime.now()`` written in case_workflow.py would not be refused), so the
    tests run the workflow with ``strict_sandbox=True`` (the SDK's default sandbox, re-importing the
    module for each run), and replay tests use the Replayer's default sandbox too.
    ``sandboxed=False`` runs without any sandbox (benchmark comparison only).
    """
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    if strict_sandbox:
        return SandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(CaseWorkflow.__module__))


def build_worker(client: Client, activities: CaseActivities, task_queue: str = TASK_QUEUE,
                 *, activity_threads: int = 16, sandboxed: bool = True, strict_sandbox: bool = False) -> Worker:
    """A worker for the case workflow and its activities (sync activities run on a thread pool).

    Cases started through :class:`workflows.cases.CaseClient` on the same client ask for eager start,
    so this worker receives each new case's first workflow task in the start response (no task queue
    round trip); see :func:`workflow_runner` for the sandbox settings.
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[CaseWorkflow],
        activities=activities.all(),
        activity_executor=ThreadPoolExecutor(max_workers=activity_threads),
        max_concurrent_activities=activity_threads,
        # many cases start at once after a profiling run: poll for their first tasks in parallel
        max_concurrent_workflow_task_polls=16,
        # let in-flight audit/claim writes finish on SIGTERM instead of cancelling them at once
        graceful_shutdown_timeout=timedelta(seconds=10),
        # a dead worker's cached cases move to another worker after this long
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
        workflow_runner=workflow_runner(sandboxed=sandboxed, strict_sandbox=strict_sandbox),
    )


@contextmanager
def worker_gc(first_generation_threshold: int = 20_000) -> Iterator[None]:
    """Garbage collector settings for a process running a case worker (restored on exit).

    A worker keeps thousands of long-lived objects (cached workflow runs, their sandboxes), and with
    the default thresholds (700 allocations) the collector re-scanned them over a thousand times while
    2,000 cases started: a quarter of the worker's CPU (measured with ``gc.callbacks``). Freezing what
    exists at start and collecting the youngest generation less often keeps that under 3%; the older
    generations keep their defaults, so cycles (evicted runs, finished tasks) are still collected.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(first_generation_threshold, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


async def run_worker(client: Client, activities: CaseActivities, task_queue: str = TASK_QUEUE,
                     stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set), then shut down gracefully."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with build_worker(client, activities, task_queue):
        await stop.wait()


def worker_main(address: str, task_queue: str, db_url: str | None, claim_cap: int | None) -> None:
    """Entry point of ``hearth worker``: leaves with ``os._exit`` (sdk-python#300 exit crash)."""
    import sys

    from engine.storage.db import make_engine

    engine = make_engine(db_url)
    activities = CaseActivities(engine, claim_cap=claim_cap)

    async def main() -> None:
        client = await connect(address)
        print(f"worker on {address}, task queue {task_queue}, claim cap {claim_cap or 'none'}", flush=True)
        await run_worker(client, activities, task_queue)

    with worker_gc():
        asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
