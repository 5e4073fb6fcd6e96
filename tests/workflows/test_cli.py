"""The ``hearth`` case commands as a user runs them, against the embedded server they start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from engine.decisions.profile import profile
from engine.storage.db import make_engine
from tests.workflows import builders
from tests.workflows.test_dev_server import free_port
from workflows.server import stop_dev_server

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

HEARTH = str(Path(sys.executable).parent / "hearth")


def hearth(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HEARTH_DB_URL", "HEARTH_TEMPORAL_ADDRESS")}
    env.update(HEARTH_HOME=str(home), COLUMNS="200")
    return subprocess.run([HEARTH, *args], env=env, capture_output=True, text=True, timeout=120)


def test_profile_open_attach_audit_replay(tmp_path):
    """Profiling run -> cases opened for eligible families -> attach (refused, then done) -> history,
    replay and a bad date, all with readable output and no tracebacks."""
    today = date.today()
    families = builders.ready_families(1, prefix="E", today=today)
    families.add_family("N0", today - timedelta(days=800), covered_from=today - timedelta(days=1000))
    engine = make_engine(f"sqlite:///{tmp_path / 'hearth.db'}")
    run = profile(engine, builders.framework(), today,
                  families=[families.load(engine, f, today) for f in ("E0", "N0")])
    try:
        started = hearth(tmp_path, "server", "start", "--port", str(free_port()))
        assert started.returncode == 0, started.stderr
        opened = hearth(tmp_path, "case", "open", run.run_id)
        assert "1 cases opened" in opened.stdout, opened.stdout + opened.stderr
        listed = hearth(tmp_path, "case", "list")
        case_id = "case-E0-test_phase3-3"
        assert case_id in listed.stdout and "N0" not in listed.stdout

        refused = hearth(tmp_path, "case", "attach", case_id, "--lead-practitioner", "kim", "--actor", "kim",
                         "--role", "keyworker")
        assert refused.returncode == 2
        assert "role 'keyworker' may not take attach" in refused.stdout + refused.stderr
        assert "Traceback" not in refused.stdout + refused.stderr
        attached = hearth(tmp_path, "case", "attach", case_id, "--lead-practitioner", "kim", "--actor", "mo")
        assert attached.returncode == 0 and "now attached" in attached.stdout, attached.stdout + attached.stderr

        history = hearth(tmp_path, "case", "history", case_id)
        assert re.search(r"transition.*attach.*identified.*attached.*mo", history.stdout), history.stdout
        replayed = hearth(tmp_path, "case", "replay", case_id)
        assert replayed.returncode == 0 and f"{case_id}: deterministic" in replayed.stdout, replayed.stdout
        bad = hearth(tmp_path, "claims", "export", "--period-start", "2024-13-01", "--period-end", "2025-03-31",
                     "--out", str(tmp_path / "out"))
        assert bad.returncode == 2 and "'2024-13-01' is not a date" in bad.stderr + bad.stdout
        stopped = hearth(tmp_path, "server", "stop")
        assert "stopped" in stopped.stdout
    finally:
        stop_dev_server(tmp_path)
