"""Replay: a recorded decision re-evaluates identically from its stored framework and knowledge state,
after new data loads and after the framework files change; altered records show every difference."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.decisions.overrides import set_override
from engine.decisions.profile import profile
from engine.decisions.records import stored_result
from engine.decisions.replay import replay_decision, replay_run
from engine.errors import NotFoundError
from engine.integrate.snapshot import load_families
from engine.storage.tables_decisions import decisions

from tests.decisions.pipeline import AS_OF, DECIDED_AT, FEB, JAN, DemoFeeds, forge_record, phase3
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
    target, original = run.decision_ids[0], run.evaluated[0].eligible
    forged = {"met": "not_met", "not_met": "met", "unknown": "met"}[original]

    def forge(data: dict) -> None:
        data["eligible"]["value"] = forged
        data["scores"]["vulnerability"]["score"] = 99

    forge_record(db, target, forge, digest=False)
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
    forged = forge_record(db, run.decision_ids[0], _flip_eligibility)["eligible"]["value"]
    explained = explain_recorded(db, family)
    assert "WARNING: re-evaluation no longer reproduces" in explained.heading()
    assert explained.result.eligible.value == forged and not explained.result.eligible.children


def test_a_whole_run_replays_identically_after_new_data_and_overrides(db: sa.Engine, feeds: DemoFeeds) -> None:
    """``replay_run`` re-evaluates every decision of a run (an overridden family's too) from the knowledge
    state the run had, as one decision's replay does, after later loads."""
    feeds.load(JAN)
    first = profile(db, phase3(), AS_OF, DECIDED_AT)
    overridden = first.evaluated[0].family_id
    with db.begin() as conn:
        set_override(conn, family_id=overridden, rule="CRIME_OFFENDING", value="met", reason="intelligence",
                     actor="j.smith", role="manager", at=DECIDED_AT + timedelta(minutes=5))
    run = profile(db, phase3(), AS_OF, DECIDED_AT + timedelta(minutes=10))
    assert dict(zip((e.family_id for e in run.evaluated), (e.override_ids for e in run.evaluated)))[overridden]
    feeds.load(FEB)
    for recorded in (first, run):
        counted: list[tuple[int, int]] = []
        report = replay_run(db, recorded.run_id, progress=lambda done, total: counted.append((done, total)))
        assert counted[0] == (0, len(recorded.decision_ids)) and counted[-1] == (len(recorded.decision_ids),) * 2
        assert (report.decisions, report.differing, report.batches_problem) == (len(recorded.decision_ids), [], None)
        assert report.identical and (report.as_of, report.known_at) == (recorded.as_of, recorded.known_at)


def test_a_run_replay_lists_each_altered_decision(db: sa.Engine, feeds: DemoFeeds) -> None:
    """An edited record is reported by its run's replay with its differences, the rest stay identical,
    whether a worker process or this one replays it; an unknown run id names the latest runs."""
    feeds.load(JAN)
    run = profile(db, phase3(), AS_OF, DECIDED_AT)
    target = run.decision_ids[2]
    forge_record(db, target, lambda data: data["scores"]["vulnerability"].update(score=99))
    for workers in (1, 2):  # (two: each batch replayed in a forked worker, on a connection of its own)
        report = replay_run(db, run.run_id, workers=workers)
        assert not report.identical and report.decisions == len(run.decision_ids)
        (found,) = report.differing
        assert found.decision_id == target and not found.record_intact  # (the chain's record hash differs)
        assert [(d.path, d.recorded) for d in found.differences] == [("$.scores.vulnerability.score", 99)]
    with pytest.raises(NotFoundError, match=f"no profile run 'R1'; the latest runs are {run.run_id}"):
        replay_run(db, "R1")


def _flip_eligibility(data: dict) -> None:
    data["eligible"]["value"] = "met" if data["eligible"]["value"] != "met" else "not_met"
