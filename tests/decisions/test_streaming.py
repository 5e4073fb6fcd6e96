"""Profiling in batches: families read from the database a batch at a time (each batch by the worker
that evaluates it) give the same snapshot and the same decisions - ids, order and bytes - whatever the
batch size and the number of workers, and a run that fails part-way records nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa

from engine.columns.table import TableFacts
from engine.decisions.profile import ProfileRun, profile
from engine.decisions.records import stored_bytes, verify_chain
from engine.integrate.snapshot import load_batch, load_families, load_snapshot_families, plan_snapshot, tapered_sizes
from engine.rules.inputs import FamilyInput
from engine.storage.tables_decisions import decision_runs, decisions

from tests.decisions.builders import AS_OF as BUILT_AS_OF
from tests.decisions.builders import borough, framework
from tests.decisions.pipeline import AS_OF, DECIDED_AT, FEB, JAN, DemoFeeds, phase3

TODAY = date(2024, 3, 15)


@pytest.fixture
def loaded(db: sa.Engine, tmp_path) -> sa.Engine:
    """The demo feeds' two months loaded and families built after each."""
    feeds = DemoFeeds(db, tmp_path / "feeds")
    feeds.load(JAN)
    feeds.load(FEB)
    return db


def test_batches_together_are_the_whole_snapshot(loaded: sa.Engine) -> None:
    """Every batch size gives batches in family id order that, concatenated, equal load_families."""
    for as_of, known_at in ((TODAY, None), (AS_OF, DECIDED_AT)):
        whole = load_families(loaded, as_of, known_at)
        assert len(whole) > 5, "the demo borough should have several families"
        for batch_size in (1, 4, 10_000):
            plan = plan_snapshot(loaded, as_of, known_at, batch_size=batch_size)
            assert len(plan.batches) == -(-len(whole) // batch_size) and plan.families == len(whole)
            with loaded.connect() as conn:
                batched = [family for batch in plan.batches for family in load_batch(conn, plan, batch)]
            assert batched == whole, (as_of, known_at, batch_size)
            # (a batch's facts come as a fact table's views, the whole snapshot's as Fact objects: equal)
            assert all(isinstance(f.facts, TableFacts) for f in batched)
            assert all(isinstance(f.facts, tuple) for f in whole)
        tapered = plan_snapshot(loaded, as_of, known_at, batch_size=4, workers=2)
        sizes = [len(batch.families) for batch in tapered.batches]
        assert sizes == tapered_sizes(len(whole), 4, 2) and sizes[-1] < 4
        with loaded.connect() as conn:
            assert [family for batch in tapered.batches for family in load_batch(conn, tapered, batch)] == whole


def test_families_asked_for_by_id_are_the_whole_snapshots(loaded: sa.Engine) -> None:
    """Replay and explain read one family (or a few) exactly as the whole snapshot held it, in id order;
    families without members on the date are left out."""
    for as_of, known_at in ((TODAY, None), (AS_OF, DECIDED_AT)):
        whole = {f.family_id: f for f in load_families(loaded, as_of, known_at)}
        for family_id in whole:
            assert load_snapshot_families(loaded, as_of, known_at, [family_id]) == [whole[family_id]]
        some = sorted(whole)[::2]
        asked = [*reversed(some), "F-no-such-family"]
        assert load_snapshot_families(loaded, as_of, known_at, asked) == [whole[f] for f in some]
        assert load_snapshot_families(loaded, as_of, known_at) == list(whole.values())


def test_last_batches_shrink_when_workers_share_them() -> None:
    """Several workers get full batches until a few per worker are left, then ever smaller shares of the
    rest (never below a sixteenth of a batch, bar the remainder); one worker gets full batches."""
    sizes = tapered_sizes(42_294, 2000, 2)
    assert sum(sizes) == 42_294 and sizes == sorted(sizes, reverse=True)
    assert sizes[:18] == [2000] * 18 and sizes[18] < 2000
    assert all(size >= 125 for size in sizes[:-1]) and 0 < sizes[-1] <= 125
    left = 42_294 - sum(sizes[:18])
    assert sizes[18] == -(-left // 4)  # a quarter of what is left: half a batch each, twice over
    assert tapered_sizes(42_294, 2000, 1) == [2000] * 21 + [294]
    assert tapered_sizes(0, 2000, 2) == [] and tapered_sizes(3, 1, 2) == [1, 1, 1]


def test_min_batches_splits_small_snapshots(loaded: sa.Engine) -> None:
    """Asking for at least N batches makes them smaller than batch_size, never empty."""
    plan = plan_snapshot(loaded, TODAY, batch_size=10_000, min_batches=4)
    assert len(plan.batches) >= 4 and all(batch.families for batch in plan.batches)


def _decisions(engine: sa.Engine, run: ProfileRun) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(decisions).where(decisions.c.run_id == run.run_id)
                            .order_by(decisions.c.seq)).all()
        # (the record itself: a family stored as its batch's columns points to them, which depend on the batch)
        return [(r.family_id, r.person_ids, stored_bytes(r, conn), r.override_ids) for r in rows]


def _records(engine: sa.Engine, run: ProfileRun) -> list[tuple[str, bytes]]:
    return [(family_id, record) for family_id, _, record, _ in _decisions(engine, run)]


def test_decisions_are_identical_whatever_the_batch_size_and_worker_count(loaded: sa.Engine) -> None:
    """The database path in batches of 1, 3 or all, in one process or two, stores the same decisions as
    evaluating load_families' whole list, in family id order, with consecutive ids on an intact chain."""
    whole = load_families(loaded, AS_OF, DECIDED_AT)
    baseline = profile(loaded, phase3(), AS_OF, DECIDED_AT, families=whole)
    expected = _decisions(loaded, baseline)
    assert [d[0] for d in expected] == sorted(f.family_id for f in whole)
    runs = [baseline]
    for batch_size, workers in ((10_000, 1), (3, 1), (1, 2), (3, 2)):
        run = profile(loaded, phase3(), AS_OF, DECIDED_AT, workers=workers, batch_size=batch_size)
        assert _decisions(loaded, run) == expected, (batch_size, workers)
        assert run.summary == baseline.summary
        previous = int(runs[-1].decision_ids[-1][1:])
        assert run.decision_ids == [f"D{previous + i:09d}" for i in range(1, len(expected) + 1)]
        runs.append(run)
    with loaded.connect() as conn:
        assert verify_chain(conn).intact
        counts = dict(conn.execute(sa.select(decision_runs.c.run_id, decision_runs.c.families)).all())
    assert all(counts[run.run_id] == len(expected) for run in runs)


def test_given_families_in_batches_match_one_batch() -> None:
    """Families given directly are evaluated in batches too; the records do not depend on the size."""
    from engine.storage.db import make_engine

    results = []
    for batch_size, workers in ((100, 1), (1, 1), (3, 2)):
        engine = make_engine("sqlite://")
        run = profile(engine, framework(), BUILT_AS_OF, families=borough(), workers=workers, batch_size=batch_size)
        results.append(_records(engine, run))
        assert run.decision_ids == [f"D{i:09d}" for i in range(1, 9)]
        engine.dispose()
    assert results[0] == results[1] == results[2]


def test_a_run_that_fails_part_way_records_nothing(db: sa.Engine) -> None:
    """A family whose evaluation fails after earlier batches were written rolls the whole run back."""
    families = borough()
    last = families[-1]
    # attendance the evaluator cannot add up: it raises TypeError, as any bug in a late batch would
    unreadable = tuple(replace(f, fields={**f.fields, "attended_sessions": object()}) if f.fact_type == "attendance"
                       else f for f in last.facts)
    families[-1] = FamilyInput(last.family_id, last.members, unreadable, last.case, dict(last.coverage))
    for workers in (1, 2):
        with pytest.raises(TypeError):
            profile(db, framework(), BUILT_AS_OF, families=families, batch_size=2, workers=workers)
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(decision_runs)).scalar_one() == 0
