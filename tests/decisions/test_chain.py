"""The decision hash chain: intact chains verify; any altered, inserted or deleted row is reported."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine.decisions.records import NewDecision, append_decisions, canonical_json, pack_result, verify_chain
from engine.decisions.store import load_stored_framework, store_framework
from engine.errors import IntegrityError
from engine.rules import ir
from engine.storage.tables_decisions import GENESIS_HASH, decision_runs, decisions, frameworks_store

FRAMEWORK = ir.Framework(
    header=ir.FrameworkHeader(id="chain_test", title="Chain test", phase="3", version="1"),
    sources={"chain.hearth": "framework chain_test \"Chain test\"\nend\n"},
)


def _write_run(conn: sa.Connection, run_id: str, families: list[str]) -> list[str]:
    digest = store_framework(conn, FRAMEWORK)
    now = datetime(2024, 1, 1, 9, 0)
    conn.execute(decision_runs.insert().values(
        run_id=run_id, framework_hash=digest, engine_version="test", as_of=date(2023, 9, 1), known_at=now,
        started_at=now, finished_at=now, families=len(families), eligible_met=0, eligible_not_met=0,
        eligible_unknown=len(families)))
    items = [NewDecision(f, (f"{f}-p1", f"{f}-p2"), *pack_result(canonical_json({"family_id": f, "eligible": "unknown"})))
             for f in families]
    return append_decisions(conn, run_id=run_id, framework_hash=digest, engine_version="test",
                            as_of=date(2023, 9, 1), known_at=now, items=items)


def test_chain_across_runs_verifies(db: sa.Engine) -> None:
    """Two runs append to one chain; the first record points at the genesis hash and all links hold."""
    with db.begin() as conn:
        first = _write_run(conn, "R1", ["F1", "F2", "F3"])
    with db.begin() as conn:
        second = _write_run(conn, "R2", ["F1", "F4"])
    assert first == ["D000000001", "D000000002", "D000000003"]
    assert second == ["D000000004", "D000000005"]
    with db.connect() as conn:
        report = verify_chain(conn, chunk=2)
        assert conn.execute(sa.select(decisions.c.prev_hash).where(decisions.c.seq == 1)).scalar() == GENESIS_HASH
    assert report.intact and report.checked == 5


def test_tampered_result_is_reported_at_that_decision(db: sa.Engine) -> None:
    """Editing a stored result makes verification fail at exactly the edited decision."""
    with db.begin() as conn:
        _write_run(conn, "R1", ["F1", "F2", "F3", "F4"])
        packed, digest = pack_result(canonical_json({"family_id": "F3", "eligible": "met"}))
        conn.execute(decisions.update().where(decisions.c.decision_id == "D000000003").values(result_zlib=packed))
    with db.connect() as conn:
        report = verify_chain(conn)
    assert not report.intact
    assert report.broken_decision_id == "D000000003" and report.checked == 2
    assert "altered" in report.problem
    with db.begin() as conn:  # a forger who also replaces the digest is caught by the record hash
        conn.execute(decisions.update().where(decisions.c.decision_id == "D000000003").values(result_sha256=digest))
    with db.connect() as conn:
        again = verify_chain(conn)
    assert again.broken_decision_id == "D000000003" and "does not match its record hash" in again.problem


def test_a_result_that_no_longer_decompresses_is_reported_as_altered(db: sa.Engine) -> None:
    """Stored results are zstd frames (zlib streams in older rows): a damaged one is an altered decision,
    not a crash."""
    with db.begin() as conn:
        _write_run(conn, "R1", ["F1", "F2", "F3"])
        stored = bytes(conn.execute(sa.select(decisions.c.result_zlib).where(decisions.c.seq == 2)).scalar())
        assert stored.startswith(b"\x28\xb5\x2f\xfd")
        conn.execute(decisions.update().where(decisions.c.seq == 2).values(result_zlib=stored[:-5]))
    with db.connect() as conn:
        report = verify_chain(conn)
    assert not report.intact and report.broken_decision_id == "D000000002" and "altered" in report.problem


def test_rehashed_tampering_breaks_the_next_link(db: sa.Engine) -> None:
    """A forger who also recomputes the edited row's hash is caught by the next row's prev_hash."""
    from engine.decisions.records import record_hash

    with db.begin() as conn:
        _write_run(conn, "R1", ["F1", "F2", "F3"])
        row = dict(conn.execute(sa.select(decisions).where(decisions.c.seq == 2)).first()._mapping)
        row["family_id"] = "F9"
        conn.execute(decisions.update().where(decisions.c.seq == 2)
                     .values(family_id="F9", record_hash=record_hash(row["prev_hash"], row)))
    with db.connect() as conn:
        report = verify_chain(conn)
    assert report.broken_decision_id == "D000000003"
    assert "previous hash" in report.problem


def test_deleted_rows_are_reported(db: sa.Engine) -> None:
    """Deleting a middle row breaks the sequence; deleting the newest row breaks the run's count."""
    with db.begin() as conn:
        _write_run(conn, "R1", ["F1", "F2", "F3"])
        conn.execute(decisions.delete().where(decisions.c.seq == 3))
    with db.connect() as conn:
        tail = verify_chain(conn)
    assert not tail.intact and "R1 recorded 3 decisions but 2" in tail.problem
    with db.begin() as conn:
        conn.execute(decisions.delete().where(decisions.c.seq == 1))
    with db.connect() as conn:
        middle = verify_chain(conn)
    assert middle.broken_decision_id == "D000000002" and "missing" in middle.problem


def test_framework_store_round_trips_and_detects_edits(db: sa.Engine) -> None:
    """A stored framework loads back equal (by full hash or prefix); an edited row is refused."""
    with db.begin() as conn:
        digest = store_framework(conn, FRAMEWORK)
        assert store_framework(conn, FRAMEWORK) == digest
    with db.connect() as conn:
        assert load_stored_framework(conn, digest) == FRAMEWORK
        assert load_stored_framework(conn, digest[:8]).sources == FRAMEWORK.sources
    with db.begin() as conn:
        edited = FRAMEWORK.model_copy(update={"sources": {"chain.hearth": "tampered"}})
        conn.execute(frameworks_store.update().values(ir_json=edited.canonical_json()))
    with db.connect() as conn, pytest.raises(IntegrityError, match="no longer hashes"):
        load_stored_framework(conn, digest)
