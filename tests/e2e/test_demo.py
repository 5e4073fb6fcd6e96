"""`hearth demo` end to end, as a newcomer runs it: a small borough generated around today, history loaded,
cases on the time-skipping Temporal server, a year of simulated casework, claims signed off by internal
audit, the exports and the report. The real console script in a subprocess; nothing is mocked."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.temporal]

HEARTH = str(Path(sys.executable).parent / "hearth")
CHARTS = {"feeds", "needs-count", "headlines", "eligibility", "rag", "funnel", "cases", "claims", "trend"}
CLAIMS_CAP = 50   # DemoSettings.claims_cap: the demo council's annual cap
AUDITOR = "ava.auditor"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    home = tmp_path_factory.mktemp("demo") / "home"
    result = subprocess.run(
        [HEARTH, "demo", "--home", str(home), "--residents", "1500", "--seed", "7", "--months", "12"],
        capture_output=True, text=True, timeout=900,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "COLUMNS": "200", "HOME": str(home.parent)})
    return home, result


@pytest.fixture(scope="module")
def db(demo):
    home, _ = demo
    conn = sqlite3.connect(home / "hearth.db")
    yield conn
    conn.close()


def test_demo_exits_cleanly_and_prints_its_summary(demo) -> None:
    _, result = demo
    assert result.returncode == 0, f"hearth demo failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert "temporalio_sdk_core" not in result.stdout + result.stderr  # no Temporal core log noise
    assert re.search(r"cases by state: .*claimed|closed", result.stdout)
    assert re.search(r"claims: [1-9]\d*", result.stdout)
    # no desktop in the subprocess: the report's address is printed instead of a browser being started
    assert (demo[0] / "report.html").resolve().as_uri() in result.stdout.replace("\n", "")


def test_report_has_every_chart(demo) -> None:
    home, _ = demo
    html = (home / "report.html").read_text(encoding="utf-8")
    assert set(re.findall(r'data-chart="([^"]+)"', html)) == CHARTS
    assert "<script" not in html


def test_families_are_claimed_after_sustainment_and_audit_sign_off(db) -> None:
    """At least one family went tracking -> sustaining -> claimable -> claimed, signed off by internal audit,
    and the claims stay within the annual cap."""
    signers = [s for (s,) in db.execute("select signed_off_by from claims")]
    assert signers, "no claim was made in the simulated months"
    assert set(signers) == {AUDITOR}
    assert len(signers) <= CLAIMS_CAP
    for (case_id,) in db.execute("select case_id from claims"):
        path = [to for (to,) in db.execute(
            "select to_state from case_audit where case_id = ? and kind = 'transition' order by seq", (case_id,))]
        steps = iter(path)   # each step of the claimed path, in order (a reopened case repeats some)
        assert all(step in steps for step in ("attached", "tracking", "sustaining", "claimable", "claimed")), \
            (case_id, path)


def test_claims_export_has_a_claim_file_and_an_audit_pack_per_claim(demo, db) -> None:
    home, _ = demo
    claim_ids = {c for (c,) in db.execute("select claim_id from claims")}
    folder = home / "outputs" / "claims"
    files = list(folder.glob("pbr-claims-*.csv"))
    assert len(files) == 1
    with files[0].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(claim_ids)
    for row in rows:
        pack = json.loads((folder / row["audit_pack"]).read_text(encoding="utf-8"))
        assert pack, row
    assert len(list((folder / "audit").glob("*.json"))) == len(claim_ids)


def test_an_auditor_replays_and_explains_each_claim_from_the_claim_file(demo, db) -> None:
    """Issue 4's "done": the claim file names the decision each claim rests on; replaying it gives the same
    decision, and explaining the family re-derives exactly what was recorded."""
    home, _ = demo
    (claim_file,) = (home / "outputs" / "claims").glob("pbr-claims-*.csv")
    with claim_file.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "COLUMNS": "200"}
    for row in rows:
        decision = row["decision_id"]
        family, as_of = db.execute("select family_id, as_of from decisions where decision_id = ?",
                                   (decision,)).fetchone()
        assert family == row["family_id"]
        assert str(as_of)[:10] <= row["claimed_on"], (decision, as_of, row["claimed_on"])  # not a later date's
        pack = json.loads((claim_file.parent / row["audit_pack"]).read_text(encoding="utf-8"))
        assert decision in {d["decision_id"] for d in pack["decisions"]}
        replay = subprocess.run([HEARTH, "replay", decision, "--home", str(home)], capture_output=True, text=True,
                                timeout=120, env=env)
        assert replay.returncode == 0 and "identical" in replay.stdout, replay.stdout + replay.stderr
        explain = subprocess.run([HEARTH, "explain", family, "--decision", decision, "--home", str(home)],
                                 capture_output=True, text=True, timeout=120, env=env)
        assert explain.returncode == 0 and "matches the record exactly" in explain.stdout, explain.stdout[-2000:]
        assert explain.stdout.startswith(f"Decision {decision} "), explain.stdout[:300]


def test_returns_and_extracts_are_written_and_logged(demo, db) -> None:
    home, _ = demo
    outputs = home / "outputs"
    for name in ("nis_extract.csv", "progress_return.csv", "analysis_extract.csv"):
        assert (outputs / name).stat().st_size > 0, name
    logged = {(kind, Path(path).name) for kind, path in db.execute("select kind, path from extract_log")}
    assert {("nis", "nis_extract.csv"), ("progress_return", "progress_return.csv"),
            ("pseudonymised", "analysis_extract.csv")} <= logged
