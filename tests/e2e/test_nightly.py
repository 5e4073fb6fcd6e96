"""`hearth run` as a nightly job: each night decides only what is new. A re-run with nothing new decides
nothing again; a new extract is profiled alone; anything new known (an override) or a new framework
re-decides the newest extract only; --rerun decides the whole history again. Every step is the real
console script."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_pipeline import hearth
from tests.fixtures.frameworks import copy_framework

pytestmark = [pytest.mark.slow]


def _runs(home: Path) -> list[str]:
    with sqlite3.connect(home / "hearth.db") as db:
        return [as_of for (as_of,) in db.execute("select as_of from decision_runs order by started_at, run_id")]


def test_a_nightly_run_decides_only_what_is_new(tmp_path: Path) -> None:
    borough, home = tmp_path / "borough", tmp_path / "home"
    home.mkdir()
    hearth("borough", "generate", "--out", str(borough), "--residents", "1000", "--seed", "5", "--months", "3",
           home=None)
    extracts = sorted(p.name for p in (borough / "extracts").iterdir())
    assert len(extracts) == 3
    run = ("run", str(borough), "--no-cases", "--no-open")

    hearth(*run, "--until", extracts[1], home=home)
    assert _runs(home) == extracts[:2]

    # the next night brings the third extract: only it is loaded, matched, grouped and profiled
    out = hearth(*run, home=home).stdout
    assert _runs(home) == extracts
    assert "up to date: 2 extract(s)" in out and f"({extracts[0]} .. {extracts[1]})" in out
    assert "ingest" in out and f"profile as of {extracts[2]}" in out and f"profile as of {extracts[0]}" not in out

    # nothing new: nothing is decided again, and the table still shows every extract's counts
    out = hearth(*run, home=home).stdout
    assert _runs(home) == extracts and "up to date: every extract" in out
    assert out.count("up to date") >= 4  # three rows and the note

    # something new is known (an override): the newest extract is decided again, the history is not
    with sqlite3.connect(home / "hearth.db") as db:
        (family,) = db.execute("select family_id from decisions order by seq desc limit 1").fetchone()
    hearth("override", "set", family, "eligible", "met", "--reason", "manager's judgement after review",
           "--actor", "a.khan", "--role", "manager", home=home)
    hearth(*run, home=home)
    assert _runs(home) == [*extracts, extracts[2]]

    # a new framework (a local threshold changed): the newest extract is decided under it, the history stands
    local = copy_framework("phase3", tmp_path / "local", with_tests=False)
    parameters = local / "parameters.hearth"
    parameters.write_text(parameters.read_text().replace("3 from 2022-10-03", "2 from 2022-10-03", 1))
    hearth(*run, "--framework", str(local), home=home)
    assert _runs(home) == [*extracts, extracts[2], extracts[2]]
    hearth(*run, "--framework", str(local), home=home)
    assert len(_runs(home)) == 5

    # --rerun decides the whole history again with what is known now
    hearth(*run, "--framework", str(local), "--rerun", home=home)
    assert _runs(home) == [*extracts, extracts[2], extracts[2], *extracts]

    # the report goes to the data directory it was made from, as `hearth run` writes it
    (home / "report.html").unlink()
    out = hearth("report", home=home).stdout
    assert (home / "report.html").is_file() and str(home / "report.html") in out.replace("\n", "")
