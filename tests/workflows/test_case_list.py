"""`hearth case list` on a council's caseload: filters a keyworker and a manager use, a bounded table,
and the counts by state (the list reads the database only; no server)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from typer.testing import CliRunner

from engine.storage.db import make_engine
from engine.storage.tables_cases import cases
from workflows.cli import build_app

STATES = ("identified", "attached", "sustaining")


def _caseload(url: str, count: int) -> None:
    engine = make_engine(url)
    at = datetime(2025, 1, 6, 9, 0)
    with engine.begin() as conn:
        conn.execute(sa.insert(cases), [{
            "case_id": f"case-F{i:04d}", "family_id": f"F{i:04d}", "framework_id": "sf_phase3", "phase": "3",
            "framework_hash": "0" * 64, "state": STATES[i % 3],
            "lead_practitioner": None if i % 3 == 0 else ("kim" if i % 2 else "lee"),
            "flags": json.dumps(["eligibility_lost"] if i % 10 == 0 else []),
            "opened_at": at, "updated_at": at + timedelta(minutes=i)} for i in range(count)])
    engine.dispose()


def _list(url: str, *args: str) -> str:
    result = CliRunner().invoke(build_app(), ["case", "list", *args, "--db", url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_long_caseload_is_bounded_and_counted(sqlite_url: str) -> None:
    _caseload(sqlite_url, 120)
    out = _list(sqlite_url)
    assert "case-F0049" in out and "case-F0050" not in out
    assert "50 of 120 cases (--limit N for more)" in out
    assert "all cases by state: attached 40, identified 40, sustaining 40" in out
    assert "case-F0119" in _list(sqlite_url, "--limit", "200")


def test_a_keyworkers_caseload_and_a_managers_flags(sqlite_url: str) -> None:
    _caseload(sqlite_url, 120)
    kim = _list(sqlite_url, "--lead-practitioner", "kim", "--limit", "200")
    expected = [i for i in range(120) if i % 3 and i % 2]
    assert f"{len(expected)} cases;" in kim
    assert all(f"case-F{i:04d}" in kim for i in expected) and "lee" not in kim
    flagged = _list(sqlite_url, "--flagged")
    assert "12 cases;" in flagged and "case-F0010" in flagged and "case-F0011" not in flagged
    sustaining = _list(sqlite_url, "--state", "sustaining", "--flagged")
    assert f"{sum(1 for i in range(0, 120, 10) if i % 3 == 2)} cases;" in sustaining


def test_a_state_nobody_is_in_is_named(sqlite_url: str) -> None:
    _caseload(sqlite_url, 6)
    out = _list(sqlite_url, "--state", "sustainning")
    assert "0 cases" in out and "no case is in state 'sustainning'" in out
    assert "states with cases: attached, identified, sustaining" in out
