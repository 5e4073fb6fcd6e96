"""The pipeline names per-term records that no feed has delivered by the profile date.

The generated school census reports a term 20-60 days after it ends, as real census returns do: on
2025-01-01 the autumn term 2024 has just ended and no extract holds its attendance, so every rule reading
"the last three terms" is unknown for every school-age child. That is the data's state; the pipeline must
say so (which fact type, which term, which feed, how many families) rather than leave a data officer to
wonder why unknowns tripled overnight.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from dsl import load_framework
from engine.decisions.batches import is_pointer
from engine.decisions.records import stored_result
from engine.storage.db import make_engine
from engine.storage.tables_decisions import decisions
from engine.storage.tables_ingest import facts
from workflows.cli.borough import load_generator
from workflows.pipeline import Pipeline, PeriodNotDelivered, find_feeds, periods_not_delivered

FRAMEWORK = Path(__file__).resolve().parents[2] / "frameworks" / "phase3"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("waiting")
    load_generator().generate(root / "borough", residents=1000, seed=3, months=2)
    engine = make_engine(f"sqlite:///{root / 'hearth.db'}")
    notes: list[str] = []
    framework = load_framework(FRAMEWORK)
    result = Pipeline(engine, framework, note=notes.append).run(find_feeds(root / "borough"))
    return engine, framework, result, notes


def test_the_month_before_the_term_ends_waits_for_nothing(run) -> None:
    _, _, result, _ = run
    december = result.months[0]
    assert december.extract_date == date(2024, 12, 1)
    assert december.waiting_for == []


def test_the_term_that_just_ended_is_named_with_the_families_it_leaves_unknown(run) -> None:
    engine, _, result, notes = run
    january = result.months[1]
    assert january.extract_date == date(2025, 1, 1)
    [gap] = january.waiting_for
    assert (gap.fact_type, gap.period, gap.period_ended) == ("attendance", "autumn term 2024", date(2024, 12, 31))
    assert gap.latest_delivered == "summer term 2024" and gap.feeds == ("school_attendance",)
    met, not_met, unknown = january.eligible
    assert 0 < gap.families_unknown <= gap.families_unknown_in_all == unknown
    assert gap.describe().startswith("attendance for autumn term 2024 (ended 2024-12-31) is not in the feeds yet")
    assert f"{gap.families_unknown:,} of the {unknown:,} families" in gap.describe()
    assert not any("autumn term" in note for note in notes)  # notes are stage starts to the benchmark
    with engine.connect() as conn:  # the premise: no autumn 2024 attendance has been loaded at all
        latest = conn.execute(sa.select(sa.func.max(facts.c.event_date))
                              .where(facts.c.fact_type == "attendance")).scalar_one()
    assert latest < date(2024, 9, 1)
    # the count is the records': the eligibility-unknown families of that run whose record names the term
    # (most stored as their batch's columns, read back through the decision rows)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(decisions).where(decisions.c.run_id == january.profile_run_id)).all()
        named = [row for row in rows if stored_result(row, conn)["eligible"]["value"] == "unknown"
                 and any("attendance for autumn term 2024" in r for r in stored_result(row, conn)["unknowns"])]
        assert sum(is_pointer(row.result_zlib) for row in named) > 0
    assert gap.families_unknown == len(named)


def test_a_delivered_term_is_not_reported(run) -> None:
    engine, framework, _, _ = run
    assert periods_not_delivered(engine, framework, date(2024, 12, 30)) == []  # autumn not over yet
    assert periods_not_delivered(engine, framework, date(2024, 9, 1)) == []    # summer 2024 is loaded
    [gap] = periods_not_delivered(engine, framework, date(2025, 4, 1))          # spring 2025 is due too
    assert gap == PeriodNotDelivered("attendance", "spring term 2025", date(2025, 3, 31), "summer term 2024",
                                     ("school_attendance",))
