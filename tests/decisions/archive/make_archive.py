"""Make an archive: a Hearth database as this version leaves it, with the decisions it recorded.

    .venv/bin/python tests/decisions/archive/make_archive.py [--families N]

An auditor replays a decision years after it was made, with whatever Hearth is installed then. Each
archive here holds a database written by an earlier version of Hearth, as SQL text
(``DATE-COMMIT.sql.gz``), and what that version read back from every decision it recorded
(``DATE-COMMIT.records.json.gz``: the sha256 of each record's full JSON form, and a few
records in full). ``test_archives.py`` checks that today's code still verifies the chain, reads every
old record exactly as it was made, and replays each one identically.

The database holds a small generated borough put through the nightly pipeline month by month (each
month's decisions made before the next month was loaded), then a run in every other form a run records
decisions: its batches' columns, a record each (a family with an override in force), sub-criteria
trees, and a Phase 2 run. Archives are never remade: a change that stores decisions differently adds a
new archive beside the old ones, which must keep passing. All data is synthetic (``examples/borough``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from dsl import load_framework  # noqa: E402
from engine import __version__  # noqa: E402
from engine.decisions.overrides import set_override  # noqa: E402
from engine.decisions.records import canonical_json, stored_result  # noqa: E402
from engine.integrate.snapshot import load_families, load_snapshot_families  # noqa: E402
from engine.storage.db import make_engine  # noqa: E402
from engine.storage.tables_decisions import decisions  # noqa: E402

# (the module: the package's name ``profile`` is the function)
profiles = importlib.import_module("engine.decisions.profile")

#: the generated borough: small enough to keep, large enough that runs store batches of columns
RESIDENTS, SEED, MONTHS = 1000, 23, 2
#: the code that writes a database (an archive is made from committed code only)
WRITERS = ("engine", "dsl", "frameworks", "workflows")
#: families of the run that stores sub-criteria trees
TRACED = 25
#: the override an archive records (a manager's, after the pipeline's runs)
OVERRIDDEN_RULE = "CRIME_OFFENDING"


def make(database: Path, families: int | None = None) -> list[str]:
    """Record the archive's decisions in ``database``; the runs' ids, in order. With ``families``, every run
    decides only that many families (for an older version, whose records were up to ten times larger)."""
    from borough.generator import generate  # examples/ is not an installed package

    from workflows.pipeline import Pipeline, extract_dates

    borough = database.parent / "borough"
    generate(borough, residents=RESIDENTS, seed=SEED, months=MONTHS)
    engine = make_engine(f"sqlite:///{database}")
    if families is not None:
        _profile_only_the_first(families)
    profile = profiles.profile  # (what the pipeline calls too)
    phase3 = load_framework(ROOT / "frameworks" / "phase3")
    pipeline = Pipeline(engine, phase3)
    # a profile per monthly extract: each month's decisions were made before the next month was loaded
    runs = [month.profile_run_id for month in pipeline.run(borough / "feeds.yaml").months]
    as_of = extract_dates(borough / "feeds.yaml")[-1]
    first = profile(engine, phase3, as_of)
    family = next(e.family_id for e in first.evaluated if e.eligible != "met")
    with engine.begin() as conn:
        set_override(conn, family_id=family, rule=OVERRIDDEN_RULE, value="met", actor="a.archivist",
                     role="manager", reason="police intelligence not in the feed (synthetic)")
    # (sub-criteria trees make a record ten times larger: a few families' are enough to keep)
    traced = load_snapshot_families(engine, as_of, None, family_ids=[e.family_id for e in first.evaluated[:TRACED]])
    later = [profile(engine, phase3, as_of), profile(engine, phase3, as_of, families=traced, trace=True),
             profile(engine, load_framework(ROOT / "frameworks" / "phase2"), as_of)]
    engine.dispose()
    return runs + [first.run_id] + [run.run_id for run in later]


def _profile_only_the_first(count: int) -> None:
    """Make each profile run decide the first ``count`` families only (by id; read from the whole snapshot,
    as replay reads a run's families)."""
    real = profiles.profile

    def profile(engine, framework, as_of, known_at=None, **given):
        if given.get("families") is None:
            known = sorted(load_families(engine, as_of, known_at), key=lambda family: family.family_id)
            given["families"] = known[:count]
        return real(engine, framework, as_of, known_at, **given)

    profiles.profile = profile


def records(database: Path) -> dict[str, Any]:
    """What this version reads back from every decision: the sha256 of each record's canonical JSON (in
    its full form), and a few records in full (each run's first, and the first with an override) to show
    what changed should a digest ever differ."""
    engine = make_engine(f"sqlite:///{database}")
    digests: dict[str, str] = {}
    sample: dict[str, Any] = {}
    runs, overridden = set(), False
    with engine.connect() as conn:
        for row in conn.execute(sa.select(decisions).order_by(decisions.c.seq)):
            text = canonical_json(stored_result(row, conn))
            digests[row.decision_id] = hashlib.sha256(text.encode()).hexdigest()
            if row.run_id not in runs or (row.override_ids != "[]" and not overridden):
                sample[row.decision_id] = json.loads(text)
                runs.add(row.run_id)
                overridden = overridden or row.override_ids != "[]"
    engine.dispose()
    return {"digests": digests, "sample": sample}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, help="decide only this many families in each run")
    args = parser.parse_args(argv)
    git = lambda *args: subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    if git("status", "--porcelain", "--", *WRITERS):
        print(f"commit first: an archive names the commit whose code wrote it ({', '.join(WRITERS)} have "
              "uncommitted changes)", file=sys.stderr)
        return 1
    # named after the last commit that changed the writing code, by its date first (names sort by age)
    commit, day = git("log", "-1", "--format=%h %cd", "--date=format:%Y%m%d-%H%M", "--", *WRITERS).split()
    name = f"{day}-{commit}"
    if any((HERE / f"{name}{suffix}").exists() for suffix in (".sql.gz", ".records.json.gz")):
        print(f"archive {name} exists: archives are never remade", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "hearth.db"
        runs = make(database, args.families)
        found = records(database)
        with sqlite3.connect(database) as conn:
            dump = "\n".join(conn.iterdump()) + "\n"
    made = f"Hearth {__version__} at commit {commit}: {len(runs)} runs, {len(found['digests'])} decisions"
    (HERE / f"{name}.sql.gz").write_bytes(gzip.compress(f"-- {made} (make_archive.py)\n{dump}".encode(), mtime=0))
    (HERE / f"{name}.records.json.gz").write_bytes(
        gzip.compress(json.dumps(found, sort_keys=True, indent=0).encode(), mtime=0))
    print(f"archive {name}: {made}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
