"""Decisions recorded by earlier versions of Hearth still read and replay as they were made: an auditor
checking a claim years later opens the council's database with whatever Hearth is installed then.

Each archive in ``tests/decisions/archive`` (see ``make_archive.py``) is a database an earlier version
wrote, with the sha256 of every record as that version read it back. Today's code must verify the chain,
read every record to the same digest, replay every run identically, and explain a decision as made; on
the archive's SQLite database and on a PostgreSQL copy of it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.decisions.batches import is_pointer, key_of
from engine.decisions.lookup import explain_recorded
from engine.decisions.profile import profile
from engine.decisions.records import canonical_json, decompress, stored_result, verify_chain
from engine.decisions.replay import json_differences, replay_run
from engine.decisions.store import load_stored_framework
from engine.integrate.snapshot import load_snapshot_families, plan_snapshot
from engine.storage.db import make_engine
from engine.storage.tables_decisions import decision_batches, decision_runs, decisions

ARCHIVE = Path(__file__).resolve().parent / "archive"
ARCHIVES = sorted(path.name.removesuffix(".sql.gz") for path in ARCHIVE.glob("*.sql.gz"))


def test_there_are_archives_to_check() -> None:
    assert ARCHIVES, f"no archive in {ARCHIVE}: make one with make_archive.py"


def _restored(name: str, folder: Path) -> sa.Engine:
    """Archive ``name``'s database restored to a SQLite file in ``folder``, opened as Hearth opens any
    database (upgrading its schema where it lacks a column)."""
    database = folder / "hearth.db"
    with sqlite3.connect(database) as conn:
        conn.executescript(gzip.decompress((ARCHIVE / f"{name}.sql.gz").read_bytes()).decode())
    return make_engine(f"sqlite:///{database}")


@pytest.fixture(scope="module", params=ARCHIVES)
def archive(request, tmp_path_factory) -> tuple[sa.Engine, dict]:
    """The archive's database, and what its version read back."""
    engine = _restored(request.param, tmp_path_factory.mktemp("archive"))
    yield engine, _expected(request.param)
    engine.dispose()


def _expected(name: str) -> dict:
    """What archive ``name``'s version read back: every record's digest, and a few records in full."""
    return json.loads(gzip.decompress((ARCHIVE / f"{name}.records.json.gz").read_bytes()))


def test_the_chain_still_verifies(archive) -> None:
    _assert_chain_verifies(*archive)


def test_every_record_reads_back_as_it_was_made(archive) -> None:
    """Each record's full form has the digest its own version read; where one differs, the archive's full
    copies of a few records show how."""
    _assert_records_read_back(*archive)
    assert len(archive[1]["sample"]) >= 2


def _assert_chain_verifies(engine: sa.Engine, expected: dict) -> None:
    with engine.connect() as conn:
        report = verify_chain(conn)
    assert report.intact, (report.broken_decision_id, report.problem)
    assert report.checked == len(expected["digests"])


def _assert_records_read_back(engine: sa.Engine, expected: dict) -> None:
    changed = []
    with engine.connect() as conn:
        for row in conn.execute(sa.select(decisions).order_by(decisions.c.seq)):
            text = canonical_json(stored_result(row, conn))
            if hashlib.sha256(text.encode()).hexdigest() != expected["digests"].get(row.decision_id):
                changed.append(row.decision_id)
            if row.decision_id in expected["sample"]:
                differences = json_differences(expected["sample"][row.decision_id], json.loads(text))
                assert not differences, (row.decision_id, differences[:5])
    assert not changed, f"{len(changed)} record(s) read back differently, first {changed[:5]}"


def test_the_archive_holds_every_form_of_record(archive) -> None:
    """Decisions stored as a record each, with sub-criteria trees, with an override in force and under two
    frameworks; and, from a version that stored batches' columns (format 5), decisions pointing to them."""
    engine, _ = archive
    with engine.connect() as conn:
        rows = conn.execute(sa.select(decisions.c.result_zlib, decisions.c.traced, decisions.c.override_ids,
                                      decisions.c.framework_hash)).all()
        batches = conn.execute(sa.select(sa.func.count()).select_from(decision_batches)).scalar_one()
    assert any(not is_pointer(row.result_zlib) for row in rows)
    assert any(row.traced for row in rows) and any(row.override_ids != "[]" for row in rows)
    assert len({row.framework_hash for row in rows}) == 2
    assert any(is_pointer(row.result_zlib) for row in rows) == (batches > 0)


def test_every_run_replays_identically(archive) -> None:
    """Every decision of every run - its batch's columns, a record each, sub-criteria trees, another
    framework - re-evaluates to the record under today's code, from the knowledge state it had."""
    _assert_runs_replay(*archive)


def _assert_runs_replay(engine: sa.Engine, expected: dict) -> None:
    with engine.connect() as conn:
        runs = conn.execute(sa.select(decision_runs.c.run_id).order_by(decision_runs.c.started_at)).scalars().all()
    replayed = 0
    for run_id in runs:
        report = replay_run(engine, run_id)
        first = report.differing[0] if report.differing else None
        assert report.identical, (run_id, report.batches_problem,
                                  first and (first.decision_id, first.record_intact, first.differences[:3]))
        replayed += report.decisions
    assert replayed == len(expected["digests"])


def test_explain_re_derives_an_overridden_decision_as_made(archive) -> None:
    """The decision with an override in force is explained with its sub-criteria re-derived (they
    reproduce the record exactly) and the override that was applied."""
    engine, _ = archive
    with engine.connect() as conn:
        row = conn.execute(sa.select(decisions).where(decisions.c.override_ids != "[]", ~decisions.c.traced)
                           .order_by(decisions.c.seq).limit(1)).one()
    explained = explain_recorded(engine, row.family_id, decision_id=row.decision_id)
    assert "matches the record exactly" in explained.heading()
    assert [record.override_id for record in explained.overrides] == json.loads(row.override_ids)
    assert any("override" in line.lower() for line in explained.override_lines())


def test_this_code_records_what_the_newest_archive_holds(tmp_path) -> None:
    """Each run of the newest archive, profiled again by today's code on its database (the same date,
    knowledge time, stored framework, families and sub-criteria trees; the overrides then in force),
    records every family as the archive holds it: the same record, or the same batch's columns. When a
    change records decisions differently, this fails until an archive of the new way is added
    (``make_archive.py``), so the old way stays tested. (Compressed bytes may differ with the compressor's
    version; what is compared is what they hold.)"""
    engine = _restored(ARCHIVES[-1], tmp_path)
    with engine.connect() as conn:
        runs = conn.execute(sa.select(decision_runs).order_by(decision_runs.c.started_at)).all()
        frameworks = {run.framework_hash: load_stored_framework(conn, run.framework_hash) for run in runs}
    changed = []
    for run in runs:
        recorded = _contents(engine, run.run_id)
        whole = plan_snapshot(engine, run.as_of, run.known_at).families == len(recorded)
        families = None if whole else load_snapshot_families(engine, run.as_of, run.known_at, sorted(recorded))
        again = profile(engine, frameworks[run.framework_hash], run.as_of, run.known_at, families=families,
                        trace=any(traced for _, traced in recorded.values()))
        now = _contents(engine, again.run_id)
        assert now.keys() == recorded.keys()
        changed += [(run.run_id, family) for family, content in recorded.items() if now[family] != content]
    assert not changed, (
        f"today's code records {len(changed)} decision(s) of archive {ARCHIVES[-1]} differently (first "
        f"{changed[:3]}): if that is intended, commit it and add an archive of the new way with "
        "tests/decisions/archive/make_archive.py (see its README)")


def _contents(engine: sa.Engine, run_id: str) -> dict[str, tuple[str, bool]]:
    """Each family of run ``run_id``: the digest of its record's JSON, or of its batch's stored columns
    uncompressed; and whether it keeps sub-criteria trees."""
    found, batches = {}, {}
    with engine.connect() as conn:
        for row in conn.execute(sa.select(decisions).where(decisions.c.run_id == run_id)):
            if is_pointer(row.result_zlib):
                key = key_of(row.result_zlib)
                if key not in batches:
                    stored = conn.execute(sa.select(decision_batches.c.stored)
                                          .where(decision_batches.c.batch_key == key)).scalar_one()
                    batches[key] = "batch " + hashlib.sha256(decompress(bytes(stored))).hexdigest()
                found[row.family_id] = (batches[key], bool(row.traced))
            else:
                found[row.family_id] = ("record " + row.result_sha256, bool(row.traced))
    return found


@pytest.mark.postgres
@pytest.mark.parametrize("name", ARCHIVES)
def test_an_archive_moved_to_postgresql_verifies_reads_and_replays_the_same(name: str, pg_url: str, tmp_path) -> None:
    """A council's SQLite database copied row for row into PostgreSQL: the chain still verifies (the hashes
    were computed from SQLite's values, checked against PostgreSQL's), every record reads back to its
    version's digest and every run replays identically there."""
    from engine.storage.db import metadata

    source, target = _restored(name, tmp_path), make_engine(pg_url)
    with source.connect() as read, target.begin() as write:
        for table in metadata.sorted_tables:  # (parents first: foreign keys hold at every insert)
            rows = [dict(row) for row in read.execute(table.select()).mappings()]
            if rows:
                write.execute(table.insert(), rows)
    source.dispose()
    expected = _expected(name)
    _assert_chain_verifies(target, expected)
    _assert_records_read_back(target, expected)
    _assert_runs_replay(target, expected)
    target.dispose()
