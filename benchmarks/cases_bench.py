"""Open 5,000 cases from one profiling-like batch on the embedded dev server.

Prints cases created per second (workflow starts accepted, case rows and "opened" audit entries
written) and the end-to-end time until every case's workflow has run and is waiting for attachment
(its ``CaseState`` search attribute is set by the workflow itself). Target: under 60 s for 5,000.

    .venv/bin/python benchmarks/cases_bench.py [--cases 5000] [--framework frameworks/phase3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dsl  # noqa: E402
from engine.storage.db import make_engine  # noqa: E402
from workflows import lifecycle as lcx  # noqa: E402
from workflows.activities import CaseActivities  # noqa: E402
from workflows.cases import CaseClient, ProfiledFamily  # noqa: E402
from workflows.server import start_dev_server, stop_dev_server  # noqa: E402
from workflows.worker import build_worker, connect  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def bench(home: Path, count: int, framework_path: str, sandboxed: bool) -> None:
    framework = dsl.load_framework(framework_path)
    initial = lcx.initial_state(framework.lifecycle).name
    clock = time.perf_counter()
    server = start_dev_server(home, free_port())
    print(f"embedded server up in {time.perf_counter() - clock:.1f} s ({server.address})")
    engine = make_engine(f"sqlite:///{home / 'hearth.db'}")
    client = await connect(server.address)
    cases = CaseClient(client, engine, "bench-cases")
    batch = [ProfiledFamily(f"B{i:05d}", "met", None) for i in range(count)]
    async with build_worker(client, CaseActivities(engine), "bench-cases", sandboxed=sandboxed):
        started = time.perf_counter()
        report = await cases.start_cases(framework, batch, as_of=date(2024, 1, 15), run_id="bench")
        created = time.perf_counter() - started
        query = f"CaseState = '{initial}' AND FrameworkId = '{framework.header.id}'"
        waiting = 0
        while waiting < count:
            waiting = (await client.count_workflows(query)).count
            if time.perf_counter() - started > 300:
                break
            await asyncio.sleep(0.25)
        end_to_end = time.perf_counter() - started
        again = time.perf_counter()
        rerun = await cases.start_cases(framework, batch, as_of=date(2024, 1, 15), run_id="bench-2")
        rerun_seconds = time.perf_counter() - again
    print(f"worker sandbox: {'on' if sandboxed else 'off'}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"cases created:          {len(report.created)} in {created:.1f} s = {len(report.created) / created:.0f} cases/s")
    print(f"all waiting for attach: {waiting}/{count} after {end_to_end:.1f} s end to end "
          f"(target < 60 s: {'met' if waiting == count and end_to_end < 60 else 'NOT met'})")
    print(f"re-running the batch:   {len(rerun.created)} new, {len(rerun.existing)} existing in {rerun_seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--framework", default=str(Path(__file__).resolve().parents[1] / "frameworks" / "phase3"))
    parser.add_argument("--unsandboxed", action="store_true", help="run the worker without the SDK sandbox")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hearth-cases-bench-"))
    try:
        asyncio.run(bench(home, args.cases, args.framework, not args.unsandboxed))
    finally:
        stop_dev_server(home)
    sys.stdout.flush()
    os._exit(0)  # sdk-python#300: avoid the interpreter's occasional crash while finalizing


if __name__ == "__main__":
    main()
