"""Match runs against the database: stable ids, review decisions across runs, identity events."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from engine.errors import NotFoundError
from engine.matching import store
from engine.matching.explain import explain
from engine.matching.pipeline import run_matching
from engine.matching.synthetic import generate
from engine.storage import tables_matching as t
from engine.storage.db import make_engine
from engine.storage.tables_ingest import source_records


@pytest.fixture(scope="module")
def people():
    return generate(1500, seed=5)


def _insert(engine, people, rows) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(source_records), [
            {"record_key": f"{feed}:{row['record_id']}", "feed": feed, "record_id": row["record_id"],
             "batch_id": "b1", "first_seen_batch": "b1",
             "given_name": row["given_name"] or None, "middle_names": row["middle_names"] or None,
             "family_name": row["family_name"] or None,
             "date_of_birth": date.fromisoformat(row["date_of_birth"]) if _valid(row["date_of_birth"]) else None,
             "sex": row["sex"] or None, "address": row["address"] or None, "postcode": row["postcode"] or None,
             "nhs_number": row["nhs_number"] or None}
            for row in rows
            for feed in ["school" if int(row["record_id"][1:]) % 2 else "police"]
        ])


def _valid(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _key(row) -> str:
    return f"{'school' if int(row['record_id'][1:]) % 2 else 'police'}:{row['record_id']}"


@pytest.fixture
def engine(sqlite_url):
    return make_engine(sqlite_url)


def test_ids_stay_stable_when_new_records_arrive(engine, people) -> None:
    """A re-run with new records keeps every existing person's id and never reuses one."""
    _insert(engine, people, people.rows[:1200])
    first = run_matching(engine)
    with engine.connect() as conn:
        before = store.current_assignments(conn)
        finished_first = store.latest_run(conn).finished_at
    _insert(engine, people, people.rows[1200:])
    second = run_matching(engine)
    with engine.connect() as conn:
        after = store.current_assignments(conn)
        as_of_first = store.current_assignments(conn, known_at=finished_first)
        created = set(conn.execute(sa.select(t.persons.c.person_id).where(t.persons.c.created_run == second.run_id))
                      .scalars())
    assert first.records == 1200 and second.records == 1500
    unchanged = sum(after[k] == p for k, p in before.items())
    assert unchanged / len(before) > 0.995
    assert as_of_first == before  # knowledge time: what we knew after the first run
    assert created and not created & set(before.values())
    # truth: records of one generated person mostly share an id
    truth = people.true_pairs()
    keys = {row["record_id"]: _key(row) for row in people.rows}
    same = sum(after[keys[a]] == after[keys[b]] for a, b in truth)
    assert same / len(truth) > 0.9


def test_review_decisions_hold_across_runs_and_emit_events(engine, people) -> None:
    """Confirm merges two persons (merge event), a later reject splits them (split event)."""
    rows = people.rows[:600]
    _insert(engine, people, rows)
    run_matching(engine)
    with engine.connect() as conn:
        people_of = store.current_assignments(conn)
    # two records of different persons with nothing in common
    a = _key(rows[0])
    b = next(_key(r) for r in rows if people_of[_key(r)] != people_of[a])
    with engine.begin() as conn:
        store.record_decision(conn, a, b, "confirm", "reviewer1", "same child, school confirmed by phone")
    merged = run_matching(engine)
    with engine.connect() as conn:
        now = store.current_assignments(conn)
        merge_events = conn.execute(sa.select(t.identity_events).where(
            t.identity_events.c.run_id == merged.run_id, t.identity_events.c.kind == "merge")).all()
    assert now[a] == now[b]
    assert merged.merges >= 1
    assert any(set(e.person_ids_before) == {people_of[a], people_of[b]} for e in merge_events)
    with engine.begin() as conn:
        store.record_decision(conn, a, b, "reject", "reviewer2", "different dates of birth on the birth certificate")
    split = run_matching(engine)
    again = run_matching(engine)  # and the rejection keeps holding
    with engine.connect() as conn:
        latest = store.current_assignments(conn)
        split_events = conn.execute(sa.select(t.identity_events).where(
            t.identity_events.c.run_id == split.run_id, t.identity_events.c.kind == "split")).all()
    assert latest[a] != latest[b]
    assert split.splits >= 1 and split_events[0].evidence["records"]
    assert again.merges == 0 and again.splits == 0


def test_review_queue_and_explanation(engine, people) -> None:
    """Possible matches are queued, and explain-match's waterfall adds up to its probability."""
    _insert(engine, people, people.rows[:800])
    summary = run_matching(engine)
    with engine.connect() as conn:
        queue = store.open_reviews(conn)
        run = store.latest_run(conn)
        keys = list(store.current_assignments(conn))
        found = explain(conn, keys[0], keys[1])
    assert summary.review_pairs == len(queue)
    settings = run.params["settings"]
    assert all(settings["review_low"] <= row.probability < settings["match_threshold"] for row in queue)
    assert {row.comparison for row in found.rows} >= {"prior", "family_name", "date_of_birth"}
    assert found.total_weight == pytest.approx(sum(r.weight + r.tf_adjustment for r in found.rows))
    assert 0.0 <= found.probability <= 1.0


def test_unknown_record_keys_are_named(engine, people) -> None:
    """Reviewing or explaining a key that does not exist says which key and what keys look like."""
    _insert(engine, people, people.rows[:50])
    run_matching(engine)
    with engine.begin() as conn, pytest.raises(NotFoundError, match="'school:nope'"):
        store.record_decision(conn, "school:nope", _key(people.rows[0]), "confirm", "r", "x")
    with engine.connect() as conn, pytest.raises(NotFoundError, match="<feed>:<record_id>"):
        explain(conn, "school:nope", _key(people.rows[0]))


def test_assignments_before_any_run_are_empty(engine) -> None:
    """current_assignments is empty until a run has finished at or before known_at."""
    with engine.connect() as conn:
        assert store.current_assignments(conn) == {}
        assert store.current_assignments(conn, known_at=store.utcnow() - timedelta(days=1)) == {}
