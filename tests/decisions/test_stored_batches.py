"""Profile runs store the families their batch's columns decide entirely as the batch's columns (format 5):
the records read back are the same whatever the batching, the chain covers them, and an altered or
missing batch is reported."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from dsl.api import load_framework
from engine.decisions import batches
from engine.decisions.batches import is_pointer
from engine.decisions.profile import profile
from engine.decisions.records import decision_summary, pack_result, stored_bytes, stored_result, verify_chain
from engine.errors import IntegrityError
from engine.storage.db import make_engine
from engine.storage.tables_decisions import decision_batches, decisions
from tests.rules.test_columns import _crafted, bench

ROOT = Path(__file__).resolve().parents[2]

AS_OF = date(2023, 9, 1)


@pytest.fixture(scope="module")
def phase3():
    return load_framework(ROOT / "frameworks" / "phase3")


def _run(engine: sa.Engine, framework, families, batch_size: int, workers: int, as_of: date = AS_OF):
    run = profile(engine, framework, as_of, families=families, batch_size=batch_size, workers=workers)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(decisions).where(decisions.c.run_id == run.run_id).order_by(decisions.c.seq)).all()
        return run, rows, [(r.family_id, stored_bytes(r, conn)) for r in rows]


def test_records_read_back_the_same_whatever_the_batching(phase3, tmp_path):
    families = bench.synthetic_families(60, seed=3)
    engine = make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    first, rows, records = _run(engine, phase3, families, 100, 1)
    pointing = [r for r in rows if is_pointer(r.result_zlib)]
    assert len(families) // 2 < len(pointing) < len(families)
    # the format 4 run (traced off, nothing stored as columns) writes the same records
    for batch_size, workers in ((7, 1), (9, 2)):
        again, again_rows, again_records = _run(engine, phase3, families, batch_size, workers)
        assert again_records == records and again.summary == first.summary
        assert {r.result_zlib for r in again_rows if is_pointer(r.result_zlib)} != {r.result_zlib for r in pointing}
    with engine.connect() as conn:
        assert verify_chain(conn).intact
        assert conn.execute(sa.select(sa.func.count()).select_from(decision_batches)).scalar() > 3
        full = stored_result(pointing[0], conn)
        assert full["family_id"] == pointing[0].family_id and full["eligible"]["value"] in ("met", "not_met")
    with pytest.raises(IntegrityError, match="connection it was read on"):
        stored_result(pointing[0], phase3)


def test_a_reports_figures_read_from_the_columns_are_the_records(phase3, tmp_path):
    """A report counts each decision's eligibility, needs, headlines and RAG rating; for a family stored as
    its batch's columns they are read from the columns, not from its derived record, and are the record's."""
    engine = make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    families = bench.synthetic_families(60, seed=3) + bench.synthetic_families(40, seed=8, start=100) + _crafted()
    _, rows, records = _run(engine, phase3, families, 25, 1)
    batches._READ.clear(), batches._ASKED.clear(), batches._FIGURES.clear()
    with engine.connect() as conn:
        summaries = [decision_summary(row, conn) for row in rows]
        assert batches._FIGURES and not batches._ASKED  # (the columns were read, no record derived first)
    assert summaries == [decision_summary(pack_result(record)[0]) for _, record in records]
    assert {s.eligible for s in summaries} >= {"met", "not_met"} and any(s.needs_met for s in summaries)
    assert all(s.scored for s in summaries) and {s.rag for s in summaries} - {None}


def test_an_altered_or_missing_batch_breaks_the_chain(phase3, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    run, rows, _ = _run(engine, phase3, bench.synthetic_families(30, seed=4), 100, 1)
    key = next(r for r in rows if is_pointer(r.result_zlib)).result_zlib[len(b"HEARTH-BATCH:"):].decode()
    with engine.begin() as conn:
        stored = conn.execute(sa.select(decision_batches.c.stored).where(decision_batches.c.batch_key == key)).scalar()
        conn.execute(decision_batches.update().where(decision_batches.c.batch_key == key)
                     .values(stored=stored[:-3] + b"\x00\x00\x00"))
    with engine.connect() as conn:
        report = verify_chain(conn)
    assert not report.intact and "does not hash to its key" in report.problem
    with engine.begin() as conn:
        conn.execute(decision_batches.delete())
    with engine.connect() as conn:
        report = verify_chain(conn)
        assert not report.intact and "is missing" in report.problem
        row = next(r for r in rows if is_pointer(r.result_zlib))
        batches._READ.clear(), batches._ASKED.clear(), batches._FIGURES.clear()  # (batches read are kept by key, which is their content's digest: as a new process)
        with pytest.raises(IntegrityError, match="which is missing"):
            stored_bytes(row, conn)
