"""Matching with forked workers gives the run one process gives; the faster paths give the slower ones' results."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pytest
import sqlalchemy as sa

from engine.matching import em, forked
from engine.matching.identities import assign_ids
from engine.matching.linker import link
from engine.matching.pipeline import load_records, run_matching
from engine.matching.population import AgeBand
from engine.matching.records import IDENTITY_FIELDS, RecordTable
from engine.matching.synthetic import generate
from engine.storage import tables_matching as t
from engine.storage.db import make_engine
from engine.storage.tables_ingest import batches, source_records


@pytest.fixture(scope="module")
def people():
    return generate(2500, seed=11)


@pytest.fixture
def forks_counted(monkeypatch):
    """Fork for any batch of pairs (the real thresholds wait for 200,000), counting the pools."""
    monkeypatch.setattr(em, "MIN_PAIRS_PER_WORKER", 50)
    monkeypatch.setattr(em, "WARM_UP_PAIRS", 100)
    pools = []
    real = forked.start_forked

    def counting(task, arguments, workers, state, combine=list):
        pools.append((workers, len(arguments)))
        return real(task, arguments, workers, state, combine)

    monkeypatch.setattr(forked, "start_forked", counting)
    return pools


def _table(people) -> RecordTable:
    return RecordTable.from_rows([{"record_key": f"s:{row['record_id']}", **{k: v or None for k, v in row.items()
                                                                             if k != "record_id"}}
                                  for row in people.rows])


def test_link_with_workers_gives_the_single_process_result(people, forks_counted) -> None:
    one = link(_table(people))
    assert forks_counted == []
    for workers in (2, 3):
        several = link(_table(people), workers=workers)
        assert np.array_equal(several.pairs.gamma, one.pairs.gamma)
        assert np.array_equal(several.pairs.weight, one.pairs.weight)
        assert np.array_equal(several.labels, one.labels)
        assert several.model.to_params() == one.model.to_params()
        assert several.em_sessions == one.em_sessions and several.namesake_joins == one.namesake_joins
    # per run, one pool for the u and household samples (while blocking) and one for the candidate pairs
    assert [workers for workers, _ in forks_counted] == [2, 2, 3, 3]
    assert [tasks // (workers * em.TASKS_PER_WORKER) for workers, tasks in forks_counted] == [2, 1, 2, 1]


def _insert(engine, rows: list[dict], start: int) -> None:
    """``rows`` as one extract would leave them; every third record first seen in an earlier extract."""
    with engine.begin() as conn:
        if start == 0:
            conn.execute(sa.insert(batches), [
                {"batch_id": batch, "feed": "x", "source_path": "x.csv", "checksum": batch * 32, "extract_date": day,
                 "loaded_at": datetime(2027, 1, 2), "rows_in": 1, "accepted": 1, "quarantined": 0, "fact_types": []}
                for batch, day in (("b1", date(2026, 1, 1)), ("b2", date(2027, 1, 1)))])
        conn.execute(sa.insert(source_records), [
            {"record_key": f"{feed}:{row['record_id']}", "feed": feed, "record_id": row["record_id"],
             "batch_id": "b2", "first_seen_batch": "b1" if index % 3 else "b2",
             "given_name": row["given_name"] or None, "family_name": row["family_name"] or None,
             "middle_names": row["middle_names"] or None, "sex": row["sex"] or None,
             "date_of_birth": _date(row["date_of_birth"]), "address": row["address"] or None,
             "postcode": row["postcode"] or None, "nhs_number": row["nhs_number"] or None,
             "extra_ids": {"case_ref": f"C{index % 700}"} if index % 4 == 0 else None}
            for index, row in enumerate(rows, start)
            for feed in ["council_tax" if index % 2 else "school"]])


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _stored_run(engine, run_id: int) -> dict:
    with engine.connect() as conn:
        links = dict(conn.execute(sa.select(t.person_links.c.record_key, t.person_links.c.person_id)
                                  .where(t.person_links.c.run_id == run_id)).all())
        events = [(e.kind, e.person_ids_before, e.person_ids_after, e.evidence) for e in conn.execute(
            sa.select(t.identity_events).where(t.identity_events.c.run_id == run_id).order_by(t.identity_events.c.id))]
        queue = sorted(tuple(r) for r in conn.execute(sa.select(t.review_queue).where(t.review_queue.c.run_id == run_id)))
        params = conn.execute(sa.select(t.match_runs.c.params).where(t.match_runs.c.run_id == run_id)).scalar_one()
    params.pop("timings_seconds")
    return {"links": links, "events": events, "queue": queue, "params": json.dumps(params, sort_keys=True)}


def test_run_matching_stores_the_same_runs_whatever_the_workers(tmp_path, forks_counted) -> None:
    """Two databases, the same records, two runs each (the second with more records, so ids carry
    over through merges and splits): every stored row is the same with one process and with two."""
    rows = generate(1800, seed=11).rows
    populations = {"council_tax": AgeBand(min_age=18)}
    stored = []
    for workers in (1, 2):
        engine = make_engine(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        _insert(engine, rows[:1300], 0)
        first = run_matching(engine, populations=populations, workers=workers)
        _insert(engine, rows[1300:], 1300)
        second = run_matching(engine, populations=populations, workers=workers)
        stored.append([_stored_run(engine, first.run_id), _stored_run(engine, second.run_id)])
        engine.dispose()
    assert stored[0] == stored[1]
    assert len(stored[0][1]["links"]) > len(stored[0][0]["links"]) and stored[0][1]["events"]
    assert forks_counted  # the two-worker runs did fork


def test_load_records_builds_what_one_dict_per_row_built(sqlite_url) -> None:
    """Column by column with each distinct value standardised once, the table equals the one built
    row by row from the same rows: accents, titles, dates, integer UPRNs, extra ids, age ranges."""
    engine = make_engine(sqlite_url)
    raw = [("council_tax", "1", {"given_name": "Zoë", "family_name": "O'Brien-Smith", "uprn": 100023,
                                 "postcode": "sw1a1aa", "extra_ids": {"case_ref": "c-1"}}, "b1", "b2"),
           ("council_tax", "2", {"given_name": "Dr. Anne", "family_name": "SMITH", "uprn": 100023,
                                 "date_of_birth": date(1980, 2, 29)}, "b2", "b2"),
           ("school", "3", {"given_name": "ZOE", "family_name": "OBRIEN SMITH", "date_of_birth": date(2015, 1, 9),
                            "nhs_number": "9434765919"}, "b1", "b1"),
           ("school", "4", {"given_name": "Zoë", "nhs_number": "9876544321", "extra_ids": {"upn2": 7}}, "b2", "b2")]
    with engine.begin() as conn:
        conn.execute(sa.insert(batches), [
            {"batch_id": batch, "feed": "x", "source_path": "x.csv", "checksum": batch * 32, "extract_date": day,
             "loaded_at": datetime(2027, 1, 2), "rows_in": 1, "accepted": 1, "quarantined": 0, "fact_types": []}
            for batch, day in (("b1", date(2026, 1, 1)), ("b2", date(2027, 3, 1)))])
        conn.execute(sa.insert(source_records), [
            {"record_key": f"{feed}:{rid}", "feed": feed, "record_id": rid, "first_seen_batch": first,
             "batch_id": last, **dict.fromkeys((*IDENTITY_FIELDS, "extra_ids")), **values}
            for feed, rid, values, first, last in raw])
        populations = {"council_tax": AgeBand(min_age=18), "school": AgeBand(min_age=2, max_age=19)}
        table = load_records(conn, populations)
    extracts = {"b1": date(2026, 1, 1), "b2": date(2027, 3, 1)}
    rows = [{"record_key": f"{feed}:{rid}", **values, "feed": feed,
             "first_extract": f"{feed} {extracts[first].isoformat()}"} for feed, rid, values, first, _ in raw]
    for row, (feed, _, _, first, last) in zip(rows, raw):
        row["born_after"], row["born_by"] = populations[feed].birth_range(extracts[first], extracts[last])
    expected = RecordTable.from_rows([{k: v for k, v in row.items() if k != "feed"} for row in rows])
    assert table.keys == expected.keys
    for name, values in expected.columns.items():
        assert table.values(name).tolist() == values.tolist(), name
    assert table.values("given_name").tolist() == ["ZOE", "ANNE", "ZOE", "ZOE"]
    assert table.values("extra:case_ref").tolist() == ["C1", None, None, None]
    assert table.values("born_by").tolist() == ["2008-01-01", "2009-03-01", "2024-01-01", "2025-03-01"]


def test_identity_events_name_the_merges_and_splits() -> None:
    """Ids carry over by overlap; a merge and a split are reported once each, with their records."""
    previous = {"a": "P1", "b": "P1", "c": "P2", "d": "P3", "e": "P3", "f": "P4"}
    clusters = [["a", "b", "c"], ["d"], ["e", "g"], ["f"], ["h"]]
    result = assign_ids(clusters, previous, 10, evidence=lambda groups: [{"groups": groups}])
    assert result.person_of == {"a": "P1", "b": "P1", "c": "P1", "d": "P3", "e": "P0000010", "g": "P0000010",
                                "f": "P4", "h": "P0000011"}
    assert result.created == ["P0000010", "P0000011"] and result.retired == ["P2"]
    merge, split = result.events
    assert (merge["kind"], merge["before"], merge["after"]) == ("merge", ["P1", "P2"], ["P1"])
    assert merge["evidence"] == {"records": {"P1": ["a", "b"], "P2": ["c"]}, "links": [{"groups": [["a", "b"], ["c"]]}]}
    assert (split["kind"], split["before"], split["after"]) == ("split", ["P3"], ["P0000010", "P3"])
    assert split["evidence"]["records"] == {"P3": ["d"], "P0000010": ["e"]}
