"""The data officer's commands, run in-process: feeds check, ingest, quarantine, families build/show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from engine.errors import HearthError
from tests.integrate.conftest import DEMO, JAN
from workflows.cli import build_app

HEARTH = Path(sys.executable).parent / "hearth"


def run(*args: str) -> tuple[int, str]:
    """Run a command in-process the way `hearth` does: a HearthError becomes its message and exit code.

    (``workflows.cli.main`` itself may leave with ``os._exit``, which would end the test session.)
    """
    result = CliRunner().invoke(build_app(), list(args))
    if isinstance(result.exception, HearthError):
        return result.exception.exit_code, result.output + "error: " + result.exception.render()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_feeds_check_lists_feeds_and_files() -> None:
    """`hearth feeds check` validates the demo and counts the files each feed would load."""
    code, out = run("feeds", "check", str(DEMO / "feeds.yaml"))
    assert code == 0
    assert "3 feed(s), declarations valid" in out and "school_census" in out and "rent_account" in out


def test_feeds_check_reports_position_without_traceback(tmp_path) -> None:
    """A broken feeds file exits 2 with file:line:col and no traceback."""
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - name: x\n    sauce: {}\n")
    code, out = run("feeds", "check", str(bad))
    assert code == 2 and f"{bad}:3:5" in out and "unknown key 'sauce'" in out and "Traceback" not in out


def test_ingest_quarantine_and_families(sqlite_url, demo) -> None:
    """Ingest prints reconciliation; a reload says already loaded; quarantine and families commands work."""
    feeds_file = str(demo(JAN).path)
    code, out = run("ingest", feeds_file, "--db", sqlite_url)
    assert code == 0 and out.count(" ok ") == 3 and "rows in = accepted + quarantined" in out
    code, out = run("ingest", feeds_file, "--db", sqlite_url)
    assert code == 0 and out.count("already loaded") == 3
    code, out = run("quarantine", "--feed", "social_care", "--db", sqlite_url)
    assert code == 0 and "team_around_family" in out and "mod-11" in out
    code, out = run("quarantine", "--feed", "social_care", "--no-warnings", "--db", sqlite_url)
    assert "team_around_family" in out and "mod-11" not in out
    code, out = run("families", "build", "--no-match", "--rules", str(DEMO / "families.yaml"), "--db", sqlite_url)
    assert code == 0 and "one person per record" in out and "household" in out and "extended_family" in out
    code, out = run("families", "build", "--rules", str(DEMO / "families.yaml"), "--db", sqlite_url)
    assert code == 0 and "matching run" in out and "persons: from the matcher" in out
    code, out = run("families", "show", "F000001", "--db", sqlite_url)
    assert code == 0 and "housing:H001" in out and "SALLY THOMPSON" in out and "created" in out
    code, out = run("families", "show", "F999999", "--db", sqlite_url)
    assert code == 2 and "no family 'F999999'" in out


def test_ingest_exits_1_when_a_file_is_unreadable_after_loading_others(sqlite_url, demo) -> None:
    """One corrupt workbook: the other feeds load, the table says UNREADABLE, the exit code is 1."""
    feeds = demo(JAN)
    workbook = feeds.base_dir / "extracts" / JAN / "housing.xlsx"
    workbook.write_bytes(b"PK\x03\x04 this is not really a workbook")
    code, out = run("ingest", str(feeds.path), "--db", sqlite_url)
    assert code == 1 and "UNREADABLE" in out and "not a readable Excel workbook" in out
    assert out.count(" ok ") == 2


def test_families_build_before_ingest_explains(sqlite_url) -> None:
    """Building families on an empty database says to ingest first."""
    code, out = run("families", "build", "--db", sqlite_url)
    assert code == 2 and "hearth ingest" in out



def test_real_command_exits_2_without_traceback(tmp_path) -> None:
    """The installed `hearth` prints a positioned error for a broken feeds file and exits 2."""
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - name: x\n    sauce: {}\n")
    done = subprocess.run([str(HEARTH), "feeds", "check", str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{bad}:3:5" in done.stderr and "Traceback" not in done.stderr + done.stdout
