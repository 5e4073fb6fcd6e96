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
import resource
import shutil
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
from workflows.worker import build_worker, connect, worker_gc  # noqa: E402


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (``pid=None``) or of another one (from /proc)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def bench(home: Path, count: int, framework_path: str, sandboxed: bool, trace: bool) -> None:
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
        cpu_before = cpu_seconds(), cpu_seconds(server.pid)
        started = time.perf_counter()
        report = await cases.start_cases(framework, batch, as_of=date(2024, 1, 15), run_id="bench")
        created = time.perf_counter() - started
        cpu_created = cpu_seconds(), cpu_seconds(server.pid)
        query = f"CaseState = '{initial}' AND FrameworkId = '{framework.header.id}'"
        waiting, last_trace = 0, 0.0
        while waiting < count:
            waiting = (await client.count_workflows(query)).count
            elapsed = time.perf_counter() - started
            if trace and elapsed - last_trace >= 5:
                last_trace = elapsed
                print(f"  {elapsed:5.1f} s: {waiting} waiting; CPU s: hearth {cpu_seconds() - cpu_before[0]:.1f}, "
                      f"server {cpu_seconds(server.pid) - cpu_before[1]:.1f}", flush=True)
            if elapsed > 300:
                break
            await asyncio.sleep(0.25)
        end_to_end = time.perf_counter() - started
        cpu_waiting = cpu_seconds(), cpu_seconds(server.pid)
        again = time.perf_counter()
        rerun = await cases.start_cases(framework, batch, as_of=date(2024, 1, 15), run_id="bench-2")
        rerun_seconds = time.perf_counter() - again
    print(f"worker sandbox: {'on' if sandboxed else 'off'}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"cases created:          {len(report.created)} in {created:.1f} s = {len(report.created) / created:.0f} cases/s")
    print(f"all waiting for attach: {waiting}/{count} after {end_to_end:.1f} s end to end "
          f"(target < 60 s: {'met' if waiting == count and end_to_end < 60 else 'NOT met'})")
    print(f"re-running the batch:   {len(rerun.created)} new, {len(rerun.existing)} existing in {rerun_seconds:.1f} s")
    for label, (own, srv) in (("creating", cpu_created), ("creating + until all waiting", cpu_waiting)):
        own, srv = own - cpu_before[0], srv - cpu_before[1]
        print(f"CPU s {label}: {own + srv:.1f} (hearth process {own:.1f}, temporal server {srv:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--framework", default=str(Path(__file__).resolve().parents[1] / "frameworks" / "phase3"))
    parser.add_argument("--unsandboxed", action="store_true", help="run the worker without the SDK sandbox")
    parser.add_argument("--trace", action="store_true", help="print progress and CPU every 5 s while waiting")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hearth-cases-bench-"))
    try:
        with worker_gc():  # as `hearth run` and `hearth worker` run theirs
            asyncio.run(bench(home, args.cases, args.framework, not args.unsandboxed, args.trace))
    finally:
        stop_dev_server(home)
        shutil.rmtree(home, ignore_errors=True)  # about 40 KB of Temporal database per case
    sys.stdout.flush()
    os._exit(0)  # sdk-python#300: avoid the interpreter's occasional crash while finalizing


if __name__ == "__main__":
    main()
