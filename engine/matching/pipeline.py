"""Match every source record and store the run: ``run_matching(engine) -> MatchRunSummary``.

Steps: read ``source_records``, apply reviewers' decisions as constraints, link, carry person ids
over from the previous run (:mod:`engine.matching.identities`), then write ``person_links``,
``persons``, ``identity_events`` and ``review_queue`` and mark the run finished, all in one
transaction so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import sqlalchemy as sa

from engine.errors import DataError
from engine.matching import store
from engine.matching.identities import assign_ids
from engine.matching.linker import LinkerSettings, LinkResult, link
from engine.matching.namesakes import FIRST_EXTRACT
from engine.matching.population import BORN_AFTER, BORN_BY, AgeBand
from engine.matching.records import IDENTITY_FIELDS, RecordTable, parse_extra
from engine.storage import tables_matching as t

_INSERT_CHUNK = 5000


@dataclass(frozen=True)
class MatchRunSummary:
    run_id: int
    records: int
    candidate_pairs: int
    persons: int
    created: int
    retired: int
    merges: int
    splits: int
    review_pairs: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def load_records(conn: sa.Connection, populations: Mapping[str, AgeBand] | None = None) -> RecordTable:
    """Every source record as a matching table (standardising again is harmless: it is idempotent).

    Each record also gets its source and first extract date (``first_extract``, used to join
    namesakes, :mod:`engine.matching.namesakes`) and, where ``populations`` (feed name -> age band,
    from feeds.yaml via ``engine.matching.population.feed_populations``) declare one, the birth dates its feed allows.

    Built column by column, each distinct value standardised once (a borough's 900k records hold far
    fewer distinct names, dates and postcodes than values): the same table as one dict per row gave.
    """
    from engine.storage.tables_ingest import batches, source_records

    first, last = batches.alias("first"), batches.alias("last")
    columns = [source_records.c.record_key, *(source_records.c[f] for f in IDENTITY_FIELDS),
               source_records.c.extra_ids, source_records.c.feed,
               first.c.extract_date.label("first_seen"), last.c.extract_date.label("last_seen")]
    query = (sa.select(*columns)
             .outerjoin(first, first.c.batch_id == source_records.c.first_seen_batch)
             .outerjoin(last, last.c.batch_id == source_records.c.batch_id)
             .order_by(source_records.c.record_key))
    columns = store.fetch_columns(conn, query, as_stored=("extra_ids",))  # parse_extra reads the JSON text
    keys, *identity, extra_ids, feeds, first_seen, last_seen = columns
    if not keys:
        return RecordTable(keys=[], columns={})
    values: dict[str, list[object]] = dict(zip(IDENTITY_FIELDS, identity))
    values.update(_extra_columns(extra_ids))
    values.update(_birth_ranges(populations or {}, feeds, first_seen, last_seen))
    extract_of: dict[tuple[str, object], str | None] = {}
    values[FIRST_EXTRACT] = [
        extract_of[pair] if pair in extract_of else extract_of.setdefault(pair, _first_extract(*pair))
        for pair in zip(feeds, first_seen)]
    return RecordTable.from_columns([str(k) for k in keys], values)


def _first_extract(feed: str, first_seen) -> str | None:
    return f"{feed} {first_seen.isoformat()}" if first_seen else None


def _extra_columns(extra_ids: list[object]) -> dict[str, list[object]]:
    """``extra:<name>`` columns from each record's ``extra_ids`` (None where a record lacks one)."""
    found: dict[str, list[object]] = {}
    for index, value in enumerate(extra_ids):
        if not value:
            continue
        for name, id_value in parse_extra(value).items():
            found.setdefault(f"extra:{name}", [None] * len(extra_ids))[index] = id_value
    return found


def _birth_ranges(populations: Mapping[str, AgeBand], feeds: list[str], first_seen: list, last_seen: list
                  ) -> dict[str, list[str | None]]:
    """``born_after`` / ``born_by`` per record whose feed declares a population (none for the others),
    each (feed, first extract, last extract) worked out once."""
    ranges: dict[tuple, tuple[str | None, str | None] | None] = {}
    after: list[str | None] = []
    by: list[str | None] = []
    for feed, first, last in zip(feeds, first_seen, last_seen):
        key = (feed, first, last)
        if key not in ranges:
            band = populations.get(feed)
            ranges[key] = band.birth_range(first, last or first) if band is not None and first else None
        found = ranges[key]
        after.append(found[0] if found else None)
        by.append(found[1] if found else None)
    return {BORN_AFTER: after, BORN_BY: by} if ranges and any(ranges.values()) else {}


def run_matching(
    engine: sa.Engine, settings: LinkerSettings = LinkerSettings(), populations: Mapping[str, AgeBand] | None = None,
    *, workers: int = 1,
) -> MatchRunSummary:
    """Match all source records and store the run (see module docstring).

    ``populations`` are the feeds' declared age ranges (``feed_populations(load_feeds(path).feeds)``),
    used as evidence. They are stored with the run, and ``None`` means "as the previous run had
    them", so a later run that has no feeds file at hand (``hearth families build``) keeps them;
    ``{}`` drops them. ``workers`` (``Pipeline.workers``) > 1 compares pairs in that many forked
    processes; the run is the same for any number.
    """
    clock = time.perf_counter()
    with engine.begin() as conn:
        if populations is None:
            populations = stored_populations(conn)
        table = load_records(conn, populations)
        if len(table) < 2:
            raise DataError(f"matching needs at least two source records; the database holds {len(table)}. "
                            "Load feeds first with `hearth ingest FEEDS.yaml`.")
        run_id = conn.execute(sa.insert(t.match_runs).values(
            started_at=store.utcnow(), params={}, counts={})).inserted_primary_key[0]
        earlier: list = []

        def read_earlier_runs() -> None:  # while the workers compare pairs: this process would wait
            earlier.extend((store.current_assignments(conn), store.next_person_number(conn)))

        result = link(table, settings, store.constraints(conn), workers=workers, while_comparing=read_earlier_runs)
        previous, first_number = earlier
        clusters = _clusters(result)
        assignment = assign_ids(clusters, previous, first_number, _evidence_finder(result))
        _write_links(conn, run_id, assignment.person_of)
        if assignment.created:
            conn.execute(sa.insert(t.persons), [{"person_id": p, "created_run": run_id} for p in assignment.created])
        if assignment.retired:
            conn.execute(sa.update(t.persons).where(t.persons.c.person_id.in_(assignment.retired))
                         .values(retired_run=run_id))
        if assignment.events:
            conn.execute(sa.insert(t.identity_events), [
                {"run_id": run_id, "kind": e["kind"], "person_ids_before": e["before"],
                 "person_ids_after": e["after"], "evidence": e["evidence"]} for e in assignment.events])
        reviews = _write_review_queue(conn, run_id, result)
        summary = MatchRunSummary(
            run_id=run_id, records=len(table), candidate_pairs=len(result.pairs.left),
            persons=len(clusters), created=len(assignment.created), retired=len(assignment.retired),
            merges=sum(e["kind"] == "merge" for e in assignment.events),
            splits=sum(e["kind"] == "split" for e in assignment.events),
            review_pairs=reviews, seconds=round(time.perf_counter() - clock, 3))
        params = {**result.params(), "populations": {feed: [band.min_age, band.max_age]
                                                     for feed, band in sorted((populations or {}).items())}}
        conn.execute(sa.update(t.match_runs).where(t.match_runs.c.run_id == run_id).values(
            finished_at=store.utcnow(), params=_json_ready(params), counts=summary.to_dict()))
    return summary


def stored_populations(conn: sa.Connection) -> dict[str, AgeBand]:
    """The age ranges the latest finished match run used (empty before any run declared them)."""
    run = store.latest_run(conn)
    stored = (run.params or {}).get("populations", {}) if run is not None else {}
    return {feed: AgeBand(*band) for feed, band in stored.items()}


def _clusters(result: LinkResult) -> list[list[str]]:
    groups: dict[int, list[str]] = defaultdict(list)
    for key, label in zip(result.table.keys, result.labels.tolist()):
        groups[label].append(key)
    return list(groups.values())


def _evidence_finder(result: LinkResult):
    """Scored pairs spanning groups of records: why a merge happened or a split was kept apart."""
    index = {key: i for i, key in enumerate(result.table.keys)}
    pairs = result.pairs
    threshold = result.settings.match_threshold
    # pair positions grouped by left record, built at the first event: a nightly run with thousands
    # of merge/split events searched all (millions of) scored pairs once per event before
    by_left: list[np.ndarray] = []

    def pairs_from(records: np.ndarray) -> np.ndarray:
        if not by_left:
            by_left.append(np.argsort(pairs.left, kind="stable"))
            by_left.append(np.searchsorted(pairs.left[by_left[0]], np.arange(len(result.table) + 1)))
        order, starts = by_left
        spans = [order[starts[r]:starts[r + 1]] for r in records.tolist()]
        return np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)

    def evidence(groups: list[list[str]]) -> list[dict]:
        group_of = {index[k]: g for g, keys in enumerate(groups) for k in keys if k in index}
        members = np.fromiter(group_of, dtype=np.int64)
        touching = pairs_from(members)
        inside = np.sort(touching[np.isin(pairs.right[touching], members)])
        found = []
        for k in inside.tolist():
            i, j = int(pairs.left[k]), int(pairs.right[k])
            if group_of[i] != group_of[j]:
                found.append({"record_a": result.table.keys[i], "record_b": result.table.keys[j],
                              "match_weight": round(float(pairs.weight[k]), 3),
                              "probability": round(float(pairs.probability[k]), 6),
                              "linked": bool(pairs.probability[k] >= threshold)})
        found.sort(key=lambda e: -e["match_weight"])
        return found[:20]

    return evidence


def _write_links(conn: sa.Connection, run_id: int, person_of: dict[str, str]) -> None:
    _insert_many(conn, t.person_links, ("run_id", "record_key", "person_id"),
                 [(run_id, key, person) for key, person in person_of.items()])


def _insert_many(conn: sa.Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert plain-value rows through the driver's executemany: a run writes a link per source record
    (900k at 300,000 residents), and building SQLAlchemy's bound parameters row by row cost more
    than the database's own work. The statement is compiled for the connection's dialect."""
    compiled = sa.insert(table).values({c: sa.bindparam(c) for c in columns}).compile(dialect=conn.dialect)
    if compiled.positional:
        order = [columns.index(name) for name in compiled.positiontup]
        params: list = [tuple(row[i] for i in order) for row in rows] if order != list(range(len(columns))) else rows
    else:
        params = [dict(zip(columns, row)) for row in rows]
    for start in range(0, len(params), _INSERT_CHUNK):
        conn.exec_driver_sql(str(compiled), params[start:start + _INSERT_CHUNK])


def _write_review_queue(conn: sa.Connection, run_id: int, result: LinkResult) -> int:
    decided = store.decisions(conn)
    rows = []
    for i, j, weight, prob in result.review_pairs():
        a, b = store.ordered_pair(result.table.keys[i], result.table.keys[j])
        if (a, b) not in decided:
            rows.append({"run_id": run_id, "record_key_a": a, "record_key_b": b,
                         "match_weight": weight, "probability": prob})
    for start in range(0, len(rows), _INSERT_CHUNK):
        conn.execute(sa.insert(t.review_queue), rows[start:start + _INSERT_CHUNK])
    return len(rows)


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
