"""Reliability on the embedded dev server (a real Temporal server with SQLite persistence).

- A worker killed (SIGKILL) in the middle of a batch of case transitions and replaced: every case ends
  in the right state, each transition once in the audit trail, one claim per case.
- The server stopped and started again on the same database file: running cases continue.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from temporalio.service import RPCError

from engine.storage.db import make_engine
from engine.storage.tables_cases import cases as cases_table
from engine.storage.tables_cases import claims
from tests.workflows import builders
from tests.workflows.helpers import transitions, wait_for
from workflows.activities import CaseActivities
from workflows.cases import CaseClient, ProfiledFamily
from workflows.models import ActionRequest, ClaimRequest
from workflows.server import running_server, start_dev_server, stop_dev_server
from workflows.worker import build_worker, connect

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ["attach", "start_plan", "outcomes_achieved", "sustained", "sign_off"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def home(tmp_path):
    yield tmp_path
    stop_dev_server(tmp_path)


def spawn_worker(address: str, queue: str, db_url: str, families: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.workflows.worker_process", address, queue, db_url, str(families)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdout.readline().strip() == "worker ready"
    return proc


async def retrying(action, attempts: int = 40):
    """Retry an action whose RPC failed while no worker was up; the same update id makes a retry of an
    already-applied action return its first answer instead of applying it again."""
    for attempt in range(attempts):
        try:
            return await action()
        except RPCError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)


async def attach(cases: CaseClient, case_id: str) -> None:
    await retrying(lambda: cases.act(case_id, ActionRequest(
        transition="attach", actor="mo", role="manager", fields={"lead_practitioner": "kim"}), f"{case_id}/attach"))


async def drive_to_claim(cases: CaseClient, case_id: str, *, attached: bool = False) -> None:
    if not attached:
        await attach(cases, case_id)
    await retrying(lambda: cases.act(case_id, ActionRequest(
        transition="start_plan", actor="kim", role="keyworker", fields={"assessment": "a", "plan": "p"}),
        f"{case_id}/plan"))
    await wait_for(cases, case_id, "claimable", timeout=90)
    await retrying(lambda: cases.request_claim(case_id, ClaimRequest(actor="kim", role="keyworker"),
                                               f"{case_id}/request"))
    await retrying(lambda: cases.sign_off(case_id, actor="ava", role="auditor", update_id=f"{case_id}/sign-off"))


async def test_killed_worker_loses_and_repeats_nothing(home):
    """SIGKILL the worker while 20 cases are mid-flight; a new worker finishes every one exactly once."""
    server = start_dev_server(home, free_port())
    db_url = f"sqlite:///{home / 'hearth.db'}"
    engine, queue, count = make_engine(db_url), f"kill-{uuid.uuid4()}", 20
    client = await connect(server.address)
    cases = CaseClient(client, engine, queue)
    framework = builders.framework(builders.QUICK_LIFECYCLE)
    first = spawn_worker(server.address, queue, db_url, count)
    try:
        report = await cases.start_cases(framework, [ProfiledFamily(f"K{i}", "met") for i in range(count)],
                                         as_of=builders.date.today())
        batch = asyncio.gather(*(drive_to_claim(cases, case_id) for case_id in report.created))
        await asyncio.sleep(1.0)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        await asyncio.sleep(1.0)
        second = spawn_worker(server.address, queue, db_url, count)
        started = time.monotonic()
        await asyncio.wait_for(batch, timeout=150)
        print(f"batch finished {time.monotonic() - started:.1f} s after the kill")
    finally:
        for proc in (first, locals().get("second")):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
    for case_id in report.created:
        assert [name for name, _, _ in transitions(engine, case_id)] == EXPECTED, case_id
    with engine.connect() as conn:
        rows = conn.execute(sa.select(claims.c.case_id)).scalars().all()
        states = conn.execute(sa.select(cases_table.c.state)).scalars().all()
    assert states == ["claimed"] * count
    assert sorted(rows) == sorted(report.created)
    assert max(Counter(rows).values()) == 1


async def test_cases_survive_a_server_restart(home):
    """Cases started before a stop/start of the embedded server on the same DB file carry on."""
    port = free_port()
    server = start_dev_server(home, port)
    engine, queue = make_engine(f"sqlite:///{home / 'hearth.db'}"), f"restart-{uuid.uuid4()}"
    families = builders.ready_families(3, prefix="S")
    activities = CaseActivities(engine, family_loader=families.load)
    framework = builders.framework(builders.QUICK_LIFECYCLE)
    client = await connect(server.address)
    cases = CaseClient(client, engine, queue)
    async with build_worker(client, activities, queue):
        report = await cases.start_cases(framework, [ProfiledFamily(f"S{i}", "met") for i in range(3)],
                                         as_of=builders.date.today())
        await attach(cases, report.created[0])
        deadlines = await cases.deadlines(report.created[1])
    assert stop_dev_server(home) and running_server(home) is None

    server = start_dev_server(home, port)
    assert server.db_file == (home / "temporal.db").resolve()
    client = await connect(server.address)
    cases = CaseClient(client, engine, queue)
    async with build_worker(client, activities, queue):
        assert (await cases.view(report.created[0])).state == "attached"
        assert await cases.deadlines(report.created[1]) == deadlines
        for case_id in report.created:
            await drive_to_claim(cases, case_id, attached=case_id == report.created[0])
            assert (await cases.view(case_id)).state == "claimed"
