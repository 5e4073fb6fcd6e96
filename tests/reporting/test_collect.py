"""Collecting report data from a real database: feed reconciliation, cases, claims and the trend."""

from __future__ import annotations

from datetime import date, datetime

from engine.reporting.collect import collect_report
from engine.storage.db import make_engine, metadata


def _insert(conn, table: str, rows: list[dict]) -> None:
    conn.execute(metadata.tables[table].insert(), rows)


def _batch(feed: str, n: int, rows_in: int, accepted: int, quarantined: int) -> dict:
    return dict(batch_id=f"{feed}-{n}", feed=feed, source_path=f"/x/{feed}-{n}.csv", checksum=f"{feed}{n}".ljust(64, "0"),
                extract_date=date(2024, n, 1), loaded_at=datetime(2024, n, 2), rows_in=rows_in, accepted=accepted,
                quarantined=quarantined, warnings=0, fact_types=[], coverage_from=None)


def test_collect_reconciles_feeds_and_counts_cases(tmp_path) -> None:
    """Feeds sum over batches with their main quarantine reasons; cases, claims and trend come from case tables."""
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    with engine.begin() as conn:
        _insert(conn, "batches", [_batch("police", 1, 10, 9, 1), _batch("police", 2, 5, 5, 0), _batch("school", 1, 7, 5, 2)])
        _insert(conn, "quarantine", [
            dict(batch_id="school-1", feed="school", row_number=3, raw={}, field="dob", reason="row 3: unparseable date: 31/02/2010", severity="rejected"),
            dict(batch_id="school-1", feed="school", row_number=4, raw={}, field="dob", reason="unparseable date: 'x'", severity="rejected"),
            dict(batch_id="police-1", feed="police", row_number=2, raw={}, field="nhs", reason="bad check digit", severity="warning"),
        ])
        now = datetime(2024, 3, 5)
        _insert(conn, "cases", [
            dict(case_id=f"case-F{i}", family_id=f"F{i}", framework_id="sf", phase="3", framework_hash="h" * 64, state=s,
                 opened_at=now, updated_at=now)
            for i, s in enumerate(["identified", "attached", "attached", "claimed"])
        ])
        _insert(conn, "case_audit", [
            dict(case_id=f"case-F{i}", seq=1, kind="transition", name="attach", from_state="identified", to_state="attached",
                 actor="mgr", at=datetime(2024, 2, 10))
            for i in (1, 2, 3)
        ])
    report = collect_report(engine, claims_cap=10)
    feeds = {f.feed: f for f in report.feeds}
    assert (feeds["police"].batches, feeds["police"].rows_in, feeds["police"].accepted) == (2, 15, 14)
    assert feeds["school"].top_reasons == [("unparseable date", 2)]
    assert feeds["police"].top_reasons == []  # warnings are not quarantined rows
    assert all(f.reconciles for f in report.feeds)
    assert {c.label: c.value for c in report.cases_by_state} == {"attached": 2, "claimed": 1, "identified": 1}
    assert [c.value for c in report.funnel] == [4, 3, 0]
    assert [(p.month, p.attached) for p in report.trend] == [("2024-02", 3)]


def test_reason_kind_drops_the_row_and_values() -> None:
    """Quarantine reasons are summarised by kind, not by the row they name."""
    from engine.reporting.collect import reason_kind

    assert reason_kind("row 12: schema: required column 'dob' is missing") == "schema"
    assert reason_kind("unparseable date: '31/02/2010'") == "unparseable date"
