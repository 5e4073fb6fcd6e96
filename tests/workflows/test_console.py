"""Command output written to a log file or pipe keeps its tables readable (no 80-column squeeze)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workflows.cli.console import LOG_WIDTH, cli_console

HEARTH = str(Path(sys.executable).parent / "hearth")


def test_piped_output_is_wide_unless_columns_says_otherwise(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert cli_console().width == LOG_WIDTH           # pytest's captured stdout is not a terminal
    monkeypatch.setenv("COLUMNS", "90")
    assert cli_console().width == 90
    assert cli_console(width=50).width == 50


def test_a_table_in_a_log_keeps_its_headers(tmp_path):
    """`hearth ingest` piped to a file (as a nightly job logs it) prints whole column headers."""
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)}
    feeds = Path(__file__).resolve().parents[2] / "examples" / "feeds-demo" / "feeds.yaml"
    result = subprocess.run([HEARTH, "ingest", str(feeds), "--db", f"sqlite:///{tmp_path / 'h.db'}"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "quarantined" in result.stdout and "…" not in result.stdout
