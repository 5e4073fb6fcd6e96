"""Returns read the cohort's latest decisions from the database: only families with a case, latest run wins."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from engine.decisions.profile import profile
from engine.returns.collect import family_progress, latest_results
from engine.storage.db import make_engine
from engine.storage.tables_cases import cases

from tests.decisions.pipeline import DECIDED_AT, JAN, DemoFeeds, phase3


def _open_case(conn: sa.Connection, family_id: str) -> None:
    at = datetime(2024, 2, 16, 9, 0)
    conn.execute(sa.insert(cases).values(
        case_id=f"case-{family_id}", family_id=family_id, framework_id="sf_phase3", phase="3",
        framework_hash="0" * 64, state="identified", opened_at=at, updated_at=at))


def test_latest_results_are_the_cohorts_latest_decisions(sqlite_url: str, tmp_path) -> None:
    """Two profiling runs over six families, cases for two: the two families' results from the later run,
    nobody else's (a borough's records are never all expanded for a return)."""
    engine = make_engine(sqlite_url)
    DemoFeeds(engine, tmp_path / "feeds").load(JAN)
    first = profile(engine, phase3(), date(2024, 2, 1), DECIDED_AT)
    second = profile(engine, phase3(), date(2024, 2, 15), DECIDED_AT)
    families = sorted(e.family_id for e in second.evaluated)
    assert len(families) == 6 and sorted(e.family_id for e in first.evaluated) == families
    with engine.begin() as conn:
        for family_id in families[:2]:
            _open_case(conn, family_id)
    with engine.connect() as conn:
        results = latest_results(conn)
        progress = family_progress(conn)
    assert sorted(results) == families[:2]
    assert all(r["as_of"] == "2024-02-15" for r in results.values())
    by_family = {e.family_id: e for e in second.evaluated}
    assert [(p.family_id, p.eligible) for p in progress] == [(f, by_family[f].eligible) for f in families[:2]]
