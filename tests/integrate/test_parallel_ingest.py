"""Ingest with worker processes stores exactly what one process stores."""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from engine.integrate.ingest import ingest
from engine.storage.db import make_engine
from engine.storage.tables_ingest import batches, facts, quarantine, source_records
from workflows.pipeline import feeds_for_month
from tests.integrate.conftest import FEB, FEB_LOADED, JAN, JAN_LOADED


def _contents(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every ingest table, without autoincrement ids (their order depends on which feed wrote first)."""
    out = {}
    with engine.connect() as conn:
        for table in (batches, source_records, facts, quarantine):
            columns = [c for c in table.c if c.name != "id"]
            rows = conn.execute(sa.select(*columns)).all()
            out[table.name] = sorted((tuple(repr(v) for v in row) for row in rows))
    return out


def test_workers_store_the_same_rows_as_one_process(engine, demo, tmp_path: Path) -> None:
    """Both monthly extracts at once (each feed's February compared with its January in the worker) and
    then again (every file already loaded): same reports, same batches, records, facts and quarantine."""
    feeds = demo(JAN, FEB)
    reference = make_engine(f"sqlite:///{tmp_path / 'one-process.db'}")
    try:
        expected = [ingest(reference, feeds, loaded_at=JAN_LOADED, pivot_year=2024, workers=1) for _ in range(2)]
        got = [ingest(engine, feeds, loaded_at=JAN_LOADED, pivot_year=2024, workers=2) for _ in range(2)]
        assert got == expected
        assert {f.status for f in got[0].files} == {"loaded"} and {f.status for f in got[1].files} == {"already loaded"}
        assert len(got[0].files) == 6  # three feeds, two extracts each
        stored, wanted = _contents(engine), _contents(reference)
        assert stored == wanted
        assert len(stored["facts"]) > len({row[0] for row in stored["facts"]}), "February restates changed facts"
    finally:
        reference.dispose()


def test_workers_report_an_unreadable_feed_and_load_the_rest(engine, demo) -> None:
    """A feed whose files are missing is reported unreadable by its worker; the other feeds still load."""
    feeds = demo(JAN)
    broken = feeds.feeds[0].model_copy(update={"source": feeds.feeds[0].source.model_copy(
        update={"path": "extracts/*/no_such_file.csv"})})
    feeds = type(feeds)(path=feeds.path, feeds=[broken, *feeds.feeds[1:]], schemas=feeds.schemas)
    report = ingest(engine, feeds, loaded_at=JAN_LOADED, pivot_year=2024, workers=2)
    assert [f.status for f in report.files] == ["unreadable", "loaded", "loaded"]
    assert "no files match" in report.files[0].error
    assert [f.feed for f in report.files] == [f.name for f in feeds.feeds]


def test_reading_a_feed_whole_or_by_key_stores_the_same(engine, demo, tmp_path: Path, monkeypatch) -> None:
    """Stored versions and records are looked up by key for small files and read whole for big ones; the
    February load (changed, unchanged and new facts; moved and new records) comes out the same either way."""
    ingest_module = importlib.import_module("engine.integrate.ingest")  # the package re-exports ingest()

    feeds = demo(JAN, FEB)
    months = [(feeds_for_month(feeds, date.fromisoformat(month)), known)
              for month, known in ((JAN, JAN_LOADED), (FEB, FEB_LOADED))]
    by_key = make_engine(f"sqlite:///{tmp_path / 'by-key.db'}")
    try:
        for month, known in months:
            ingest(by_key, month, loaded_at=known, pivot_year=2024)
        monkeypatch.setattr(ingest_module, "KEYED_LOOKUP_LIMIT", 0)  # every file counts as big
        for month, known in months:
            ingest(engine, month, loaded_at=known, pivot_year=2024)
        assert _contents(engine) == _contents(by_key)
        with engine.connect() as conn:
            moved = conn.execute(sa.select(sa.func.count()).select_from(source_records)
                                 .where(source_records.c.address_since_batch != source_records.c.first_seen_batch)
                                 ).scalar_one()
        assert moved > 0, "the demo's February moves someone, so the place comparison is exercised"
    finally:
        by_key.dispose()
