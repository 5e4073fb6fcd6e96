"""End to end, as a data officer would run it: a generated borough through `hearth run` (ingest, match,
families, profile per monthly extract, cases on the embedded Temporal dev server), then `hearth evaluate`,
the returns with a recorded opt-out, and the report. Every step is the real console script."""

from __future__ import annotations

import csv
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.temporal]

HEARTH = str(Path(sys.executable).parent / "hearth")


def hearth(*args: str, home: Path | None, check: bool = True) -> subprocess.CompletedProcess:
    extra = ["--home", str(home)] if home is not None else []
    result = subprocess.run([HEARTH, *args, *extra], capture_output=True, text=True, timeout=600,
                            env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "COLUMNS": "200",
                                 "HOME": str(home or Path.cwd())})
    if check:
        assert result.returncode == 0, f"hearth {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def run_home(tmp_path_factory) -> Path:
    """A borough of ~1,000 residents with two monthly extracts, run through `hearth run` with cases."""
    root = tmp_path_factory.mktemp("e2e")
    borough, home = root / "borough", root / "home"
    home.mkdir()
    hearth("borough", "generate", "--out", str(borough), "--residents", "1000", "--seed", "11", "--months", "2",
           home=None)
    result = hearth("run", str(borough), home=home)
    assert "Pipeline by monthly extract" in result.stdout
    assert re.search(r"cases: \d+ opened", result.stdout), result.stdout
    # the January profile follows the autumn term, whose attendance the census has not delivered yet
    assert "not delivered yet (2025-01-01): attendance for autumn term 2024" in result.stdout, result.stdout
    yield home
    hearth("server", "stop", home=home, check=False)
    shutil.rmtree(root, ignore_errors=True)


def _db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "hearth.db")


def test_run_reconciles_every_feed_and_profiles_each_month(run_home: Path) -> None:
    """Every batch reconciles, both extracts were profiled, and each eligible family has exactly one case."""
    with _db(run_home) as db:
        assert db.execute("select count(*) from batches where rows_in != accepted + quarantined").fetchone() == (0,)
        runs = db.execute("select as_of, families, eligible_met from decision_runs order by as_of").fetchall()
        assert len(runs) == 2 and all(families > 100 for _, families, _ in runs)
        last_run = db.execute("select run_id from decision_runs order by as_of desc limit 1").fetchone()[0]
        eligible = db.execute("select count(*) from decisions d where run_id = ? and family_id in "
                              "(select family_id from cases)", (last_run,)).fetchone()[0]
        cases = db.execute("select count(*), count(distinct family_id) from cases").fetchone()
    assert cases[0] == cases[1] == eligible
    assert runs[-1][2] == cases[0]


def test_matching_used_the_feeds_declared_populations(run_home: Path) -> None:
    """`hearth run` hands the feeds' declared age ranges (adults-only registers, school rolls) to the matcher."""
    import json

    with _db(run_home) as db:
        params = json.loads(db.execute("select params from match_runs order by started_at desc limit 1").fetchone()[0])
    bands = params["populations"]
    assert bands and all(len(band) == 2 for band in bands.values())
    assert any(low is not None and low >= 16 for low, _ in bands.values())  # an adults-only register


def test_rerun_adds_nothing_and_keeps_ids(run_home: Path, tmp_path: Path) -> None:
    """Running again on the same extracts loads nothing new, opens no second case and keeps person ids."""
    with _db(run_home) as db:
        before = db.execute("select count(*) from batches").fetchone(), db.execute("select count(*) from cases").fetchone()
        people = dict(db.execute("select record_key, person_id from person_links where run_id = "
                                 "(select max(run_id) from person_links)").fetchall())
    borough = next(run_home.parent.glob("borough"))
    hearth("run", str(borough), home=run_home)
    with _db(run_home) as db:
        after = db.execute("select count(*) from batches").fetchone(), db.execute("select count(*) from cases").fetchone()
        people_after = dict(db.execute("select record_key, person_id from person_links where run_id = "
                                       "(select max(run_id) from person_links)").fetchall())
    assert after == before
    assert people_after == people


def test_evaluate_against_truth(run_home: Path) -> None:
    """`hearth evaluate` prints matching, grouping and eligibility figures against the ground truth."""
    borough = next(run_home.parent.glob("borough"))
    out = hearth("evaluate", "--truth", str(borough / "truth"), home=run_home).stdout
    figures = {m.group(1).strip(): float(m.group(2)) for m in re.finditer(r"│ ([A-Za-z0-9 ()]+?)\s+│\s+([\d.]+)%", out)}
    assert set(figures) >= {"person matching recall", "family grouping F1 (pairwise)", "eligibility agreement"}
    assert figures["person matching recall"] >= 90
    assert figures["family grouping F1 (pairwise)"] >= 90


def test_returns_honour_opt_outs_and_are_logged(run_home: Path) -> None:
    """The NIS extract holds cohort members only; a recorded opt-out removes that person; every extract is logged."""
    out = run_home / "out"
    hearth("returns", "nis", "--out", str(out / "nis1.csv"), "--actor", "data.officer", home=run_home)
    first = list(csv.DictReader((out / "nis1.csv").open()))
    assert first, "the cohort of eligible families should not be empty"
    person = first[0]["la_person_id"]
    hearth("consent", "record", person, "--choice", "opt_out", "--by", "data.officer", "--reason", "asked", home=run_home)
    hearth("returns", "nis", "--out", str(out / "nis2.csv"), "--actor", "data.officer", home=run_home)
    second = list(csv.DictReader((out / "nis2.csv").open()))
    assert person not in {r["la_person_id"] for r in second} and len(second) == len(first) - 1
    hearth("returns", "pseudonymised", "--out", str(out / "pseudo.csv"), "--actor", "data.officer", home=run_home)
    text = (out / "pseudo.csv").read_text()
    assert first[0]["family_name"] not in text and person not in text
    hearth("returns", "progress", "--period-start", "2024-10-01", "--period-end", "2024-12-31", "--actor", "data.officer",
           "--out", str(out / "progress.csv"), home=run_home)
    with _db(run_home) as db:
        kinds = [k for (k,) in db.execute("select kind from extract_log order by id")]
    assert kinds == ["nis", "nis", "pseudonymised", "progress_return"]


def test_report_written_with_every_chart(run_home: Path) -> None:
    """The run wrote a self-contained report with the reconciliation table and all charts."""
    html = (run_home / "report.html").read_text()
    assert 'data-table="reconciliation"' in html
    assert len(set(re.findall(r'data-chart="([^"]+)"', html))) == 9
    assert "<script" not in html
