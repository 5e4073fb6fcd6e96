"""One family read for explain and replay is exactly the family the whole snapshot holds, on databases
where membership's corner cases occur: a record listed by memberships of two people on the date, a
person in two families on the date, a membership ended by a build after the knowledge time, and a
membership without record keys.

The demo feeds are ingested and two builds run for real. Two more builds are then written row by row
the way :func:`engine.integrate.families.build_families` writes them after matching runs: the first
merges a Thompson child's school record with a social care record into one person; the second gives
that social care record to Yusuf's person in the same build as the child moves out, so from Yusuf's
start until the move both their memberships list it. Two rows no build writes today are added on top (a
person left in two families, a membership without record keys): the snapshot reads them, so one
family must read them alike."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine.integrate.snapshot import (
    families_on_date, load_batch, load_families, load_snapshot_families, plan_snapshot,
)
from engine.storage.db import make_engine
from engine.storage.tables_families import family_builds, family_memberships
from tests.decisions.pipeline import FEB, JAN, DemoFeeds

#: when the merging and the moving builds finished
MERGED, MOVED = datetime(2024, 3, 5, 10, 0), datetime(2024, 4, 1, 10, 0)
#: the record matching merges into a Thompson child's person, then moves to Yusuf's as the child moves out
MOVED_RECORD = "social_care:CS-601"
MOVED_OUT = date(2024, 3, 20)
#: before, between and after the builds (None: everything known)
KNOWN = (None, datetime(2024, 2, 15, 12, 0), datetime(2024, 3, 2), datetime(2024, 3, 10), MOVED)
DAYS = (date(2024, 2, 15), date(2024, 3, 1), date(2024, 3, 15), date(2024, 3, 25))


@pytest.fixture
def borough(db_url: str, tmp_path) -> sa.Engine:
    engine = make_engine(db_url)
    feeds = DemoFeeds(engine, tmp_path / "feeds")
    feeds.load(JAN)
    feeds.load(FEB)
    _matched_builds(engine)
    yield engine
    engine.dispose()


def _matched_builds(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        def build(finished: datetime) -> int:
            return conn.execute(family_builds.insert().values(
                started_at=finished, finished_at=finished, as_of=finished.date(), persons_from="matcher",
                rules={}, summary={})).inserted_primary_key[0]

        def open_row(family_id: str, person: str) -> sa.Row:
            return conn.execute(sa.select(family_memberships).where(
                family_memberships.c.layer == "household", family_memberships.c.family_id == family_id,
                family_memberships.c.person_id == person, family_memberships.c.ended_build.is_(None))).one()

        def end(row: sa.Row, to_date: date, build_id: int) -> None:
            conn.execute(family_memberships.update().where(family_memberships.c.id == row.id)
                         .values(to_date=to_date, ended_build=build_id))

        def start(family_id: str, person: str, since: date, keys: list[str] | None, build_id: int) -> None:
            conn.execute(family_memberships.insert().values(
                family_id=family_id, layer="household", person_id=person, from_date=since,
                started_build=build_id, record_keys=keys))

        merging = build(MERGED)  # both person ids are gone: their rows end where they began
        child, cared_for = open_row("F000001", "school_census:P1002"), open_row("F000006", MOVED_RECORD)
        end(child, child.from_date, merging)
        end(cared_for, cared_for.from_date, merging)
        start("F000001", "P000001", child.from_date, ["school_census:P1002", MOVED_RECORD], merging)

        moving = build(MOVED)
        end(open_row("F000001", "P000001"), MOVED_OUT, moving)
        start("F000008", "P000001", MOVED_OUT, ["school_census:P1002"], moving)
        yusuf = open_row("F000007", "school_census:P1003")
        end(yusuf, yusuf.from_date, moving)  # superseded by a row listing his new record, from the same day
        start("F000007", "school_census:P1003", yusuf.from_date, ["school_census:P1003", MOVED_RECORD], moving)
        start("F000001", "school_census:P1004", date(2024, 3, 1), ["school_census:P1004"], moving)  # also F000003
        start("F000004", "school_census:P1005", date(2024, 3, 1), None, moving)  # lists its person id


def _whole(engine: sa.Engine, day: date, known: datetime | None) -> dict[str, object]:
    return {family.family_id: family for family in load_families(engine, day, known)}


def test_the_corner_cases_occur(borough: sa.Engine) -> None:
    """The database holds what the other tests rely on: on 15 March the moved record's facts follow the
    membership read last (Yusuf's, in F000007, a family first read after the Thompsons), though the
    child's identity draws on it too; the person in two families draws on both memberships' records;
    before the moving build was known, the child stays for good and Yusuf has his own record only."""
    whole = _whole(borough, date(2024, 3, 15), None)
    thompsons, yusuf_family = whole["F000001"], whole["F000007"]
    assert any(f.source_record_id == "CS-601" for f in yusuf_family.facts)
    assert not any(f.source_record_id == "CS-601" for f in thompsons.facts)
    child = next(m for m in thompsons.members if m.person_id == "P000001")
    assert (child.left, child.attributes["record_keys"]) == (MOVED_OUT, ("school_census:P1002", MOVED_RECORD))
    (yusuf,) = yusuf_family.members
    assert yusuf.attributes["record_keys"] == ("school_census:P1003", MOVED_RECORD)
    in_two = [m for f in ("F000001", "F000003") for m in whole[f].members if m.person_id == "school_census:P1004"]
    assert len(in_two) == 2 and all(m.attributes["record_keys"] == ("school_census:P1004",) * 2 for m in in_two)
    before = _whole(borough, date(2024, 3, 15), datetime(2024, 3, 10))
    assert next(m for m in before["F000001"].members if m.person_id == "P000001").left is None
    assert "F000008" not in before
    assert before["F000007"].members[0].attributes["record_keys"] == ("school_census:P1003",)


def test_one_family_equals_the_whole_snapshot_for_every_family(borough: sa.Engine) -> None:
    """Every family, on every day and at every knowledge time, loads alike alone and in the whole
    snapshot; its plan (members, every record key of its people, which records' facts it gets) too.
    The family ids on the date, read without planning, are the whole snapshot's."""
    compared = 0
    for day in DAYS:
        for known in KNOWN:
            whole_plan = plan_snapshot(borough, day, known, batch_size=10**6)
            whole = _whole(borough, day, known)
            assert list(whole) == [f for batch in whole_plan.batches for f, _ in batch.families]
            assert families_on_date(borough, day, known) == list(whole), (day, known)
            batch_of = {f: batch for batch in whole_plan.batches for f, _ in batch.families}
            for family_id, family in whole.items():
                assert load_snapshot_families(borough, day, known, [family_id]) == [family], (day, known, family_id)
                (alone,) = plan_snapshot(borough, day, known, family_ids=[family_id]).batches
                batch = batch_of[family_id]
                assert alone.families == ((family_id, dict(batch.families)[family_id]),)
                assert alone.person_keys == {p: batch.person_keys[p] for p in alone.person_keys}
                assert alone.owners == {k: v for k, v in batch.owners.items() if v[0] == family_id}
                compared += 1
    assert compared > 100


def test_several_families_and_unknown_ids(borough: sa.Engine) -> None:
    """A few families asked for at once come back in id order, those without members on the date left
    out, each as the whole snapshot holds it; the batches of such a plan follow batch_size."""
    day, known = date(2024, 3, 15), MOVED
    whole = _whole(borough, day, known)
    asked = ["F000007", "F000002", "F-none", "F000001", "F000003"]
    assert load_snapshot_families(borough, day, known, asked) == [whole[f] for f in sorted(asked) if f in whole]
    plan = plan_snapshot(borough, day, known, batch_size=2, family_ids=asked)
    assert [len(batch.families) for batch in plan.batches] == [2, 2]
    with borough.connect() as conn:
        assert [f for batch in plan.batches for f in load_batch(conn, plan, batch)] == [
            whole[f] for f in sorted(asked) if f in whole]
    assert load_snapshot_families(borough, day, known, ["F-none"]) == []
    assert plan_snapshot(borough, day, known, family_ids=[]).batches == ()
