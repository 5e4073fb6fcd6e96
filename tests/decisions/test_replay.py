"""Replay: a recorded decision re-evaluates identically from its stored framework and knowledge state,
after new data loads and after the framework files change; altered records show every difference."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from engine.decisions.profile import profile
from engine.decisions.records import canonical_json, pack_result, stored_result
from engine.decisions.replay import replay_decision
from engine.errors import NotFoundError
from engine.integrate.snapshot import load_families
from engine.storage.tables_decisions import decisions

from tests.decisions.pipeline import AS_OF, DECIDED_AT, FEB, JAN, DemoFeeds, phase3
from tests.fixtures.frameworks import copy_framework


@pytest.fixture
def feeds(db: sa.Engine, tmp_path) -> DemoFeeds:
    return DemoFeeds(db, tmp_path / "feeds")


def test_replay_is_identical_after_new_data_is_loaded(db: sa.Engine, feeds: DemoFeeds) -> None:
    """Decisions made before February's load replay identically after it, though today's data differs."""
    feeds.load(JAN)
    before = profile(db, phase3(), AS_OF, DECIDED_AT)
    feeds.load(FEB)
    for decision_id in before.decision_ids:
        report = replay_decision(db, decision_id)
        assert report.identical, (decision_id, report.differences[:3])
        assert report.record_intact
    # February's corrections and new members are visible to a decision made now: replay had to ignore them
    now = profile(db, phase3(), AS_OF)
    then = {e.family_id: e.result_sha256 for e in before.evaluated}
    changed = [e.family_id for e in now.evaluated if then.get(e.family_id) != e.result_sha256]
    assert changed, "the February load should change at least one family's result"


def test_replay_uses_the_stored_framework_not_the_working_tree(db: sa.Engine, feeds: DemoFeeds, tmp_path) -> None:
    """Editing (even deleting) the framework files after a decision does not change its replay."""
    from dsl import load_framework

    from tests.decisions.pipeline import PHASE3

    copy = tmp_path / "phase3"
    copy_framework(PHASE3.name, copy)
    feeds.load(JAN)
    run = profile(db, load_framework(copy), AS_OF, DECIDED_AT)
    parameters = copy / "parameters.hearth"
    parameters.write_text(parameters.read_text().replace("3 from 2022-10-03", "1 from 2022-10-03", 1))
    assert load_framework(copy).content_hash() != run.framework_hash
    shutil.rmtree(copy)
    assert all(replay_decision(db, d).identical for d in run.decision_ids)


def test_replay_lists_every_difference_when_the_record_was_altered(db: sa.Engine, feeds: DemoFeeds) -> None:
    """A stored result edited after the fact is reported path by path, and the record flagged."""
    feeds.load(JAN)
    run = profile(db, phase3(), AS_OF, DECIDED_AT)
    target = run.decision_ids[0]
    with db.begin() as conn:
        row = conn.execute(sa.select(decisions).where(decisions.c.decision_id == target)).one()
        data = stored_result(row, conn)
        original = data["eligible"]["value"]
        forged = {"met": "not_met", "not_met": "met", "unknown": "met"}[original]
        data["eligible"]["value"] = forged
        data["scores"]["vulnerability"]["score"] = 99
        packed, _ = pack_result(canonical_json(data))
        conn.execute(decisions.update().where(decisions.c.decision_id == target).values(result_zlib=packed))
    report = replay_decision(db, target)
    assert not report.identical and not report.record_intact
    found = {d.path: (d.recorded, d.replayed) for d in report.differences}
    assert found["$.eligible.value"] == (forged, original)
    assert found["$.scores.vulnerability.score"][0] == 99
    assert len(found) == 2


def test_unknown_decision_says_what_exists(db: sa.Engine, feeds: DemoFeeds) -> None:
    """An id that was never recorded names the recorded range."""
    with pytest.raises(NotFoundError, match="no decisions are recorded yet"):
        replay_decision(db, "D000000001")
    feeds.load(JAN)
    profile(db, phase3(), AS_OF, DECIDED_AT)
    families = len(load_families(db, AS_OF, DECIDED_AT))
    with pytest.raises(NotFoundError, match=f"run from D000000001 to D{families:09d}"):
        replay_decision(db, "D999")


def test_traced_records_replay_identically(db: sa.Engine, feeds: DemoFeeds) -> None:
    """A run that stores each rule's sub-criteria tree replays identically, tree included."""
    feeds.load(JAN)
    run = profile(db, phase3(), AS_OF, DECIDED_AT, trace=True)
    with db.connect() as conn:
        row = conn.execute(sa.select(decisions).where(decisions.c.decision_id == run.decision_ids[0])).one()
    assert row.traced and stored_result(row, phase3())["eligible"]["children"], "a traced record keeps the tree"
    feeds.load(FEB)
    assert all(replay_decision(db, d).identical for d in run.decision_ids)


def test_explain_rederives_the_tree_only_when_it_reproduces_the_record(db: sa.Engine, feeds: DemoFeeds) -> None:
    """Explaining a record stored without its tree shows the re-derived tree when it matches the record,
    and the record itself, with a warning, when it does not."""
    from engine.decisions.lookup import explain_recorded

    feeds.load(JAN)
    run = profile(db, phase3(), AS_OF, DECIDED_AT)
    family = run.evaluated[0].family_id
    feeds.load(FEB)
    explained = explain_recorded(db, family)
    assert "matches the record exactly" in explained.heading()
    assert explained.result.eligible.children, "the explanation has the sub-criteria"
    with db.begin() as conn:
        row = conn.execute(sa.select(decisions).where(decisions.c.decision_id == run.decision_ids[0])).one()
        data = stored_result(row, conn)
        forged = "met" if data["eligible"]["value"] != "met" else "not_met"
        data["eligible"]["value"] = forged
        packed, digest = pack_result(canonical_json(data))
        conn.execute(decisions.update().where(decisions.c.seq == row.seq).values(result_zlib=packed,
                                                                                   result_sha256=digest))
    explained = explain_recorded(db, family)
    assert "WARNING: re-evaluation no longer reproduces" in explained.heading()
    assert explained.result.eligible.value == forged and not explained.result.eligible.children
