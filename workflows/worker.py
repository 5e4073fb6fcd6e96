"""Connecting to Temporal and running the case worker.

Every client uses ``pydantic_data_converter`` (workers inherit the client's converter), so workflow
inputs, signals, updates and activity payloads are the pydantic models of :mod:`workflows.models`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from workflows.activities import CaseActivities
from workflows.case_workflow import CaseWorkflow

TASK_QUEUE = "hearth-cases"
NAMESPACE = "default"
ADDRESS_ENV = "HEARTH_TEMPORAL_ADDRESS"


async def connect(address: str, namespace: str = NAMESPACE) -> Client:
    from engine.errors import ConfigError

    try:
        return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)
    except RuntimeError as exc:
        raise ConfigError(
            f"cannot reach Temporal at {address}: {exc}. Start the embedded server with `hearth server start` "
            f"or give a running cluster with --temporal-address (or ${ADDRESS_ENV})"
        ) from exc


def build_worker(client: Client, activities: CaseActivities, task_queue: str = TASK_QUEUE,
                 *, activity_threads: int = 16, sandboxed: bool = True) -> Worker:
    """A worker for the case workflow and its activities (sync activities run on a thread pool).

    ``sandboxed=False`` skips the SDK's per-run module sandbox (a large share of each new case's first
    workflow task); the workflow does no I/O and reads no clock either way, and replay tests guard it.
    """
    extra = {} if sandboxed else {"workflow_runner": UnsandboxedWorkflowRunner()}
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
        **extra,
    )


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

    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
