"""Families as the rules engine sees them on a date, as known at a knowledge time.

``load_families(engine, as_of, known_at)`` answers "who was in which family on ``as_of``, and what did we
know about them at ``known_at``": memberships from builds finished by ``known_at``, the latest version
of each fact whose batch was loaded by ``known_at``, and per fact type the period its feeds cover.

Plain SQL selects and tuples throughout: a borough snapshot has millions of facts. Which families a
snapshot holds, and its batches, are planned in :mod:`engine.integrate.snapshot_plan` (its public names
are importable from here too).

Identity attributes (date of birth, sex, names) come from the current standardised records, which keep
only the latest values; records first seen after ``known_at`` are left out.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from operator import itemgetter

import sqlalchemy as sa

from engine.integrate.collector import collector_paused
from engine.integrate.snapshot_plan import (
    KEYS_PER_QUERY, DateCache, FamilyBatch, MemberRow, SnapshotPlan, as_date, batch_size_for, families_on_date,
    family_of_person, memberships_on_date, naive_utc, plan_snapshot, read_coverage, sorted_members, tapered_sizes,
)
from engine.integrate.snapshot_table import fact_table, fields_of
from engine.rules.inputs import Coverage, Fact, FamilyInput, Member
from engine.storage.tables_ingest import batches, facts, source_records

__all__ = [
    "BatchLoader", "FamilyBatch", "MemberRow", "SnapshotPlan", "batch_size_for", "facts_by_record",
    "families_on_date", "family_of_person", "load_batch", "load_families", "load_snapshot_families",
    "plan_snapshot", "tapered_sizes",
]

def load_families(
    engine: sa.Engine,
    as_of: date,
    known_at: datetime | None = None,
    fact_types: Collection[str] | None = None,
    *,
    layer: str = "household",
    family_ids: Collection[str] | None = None,
) -> list[FamilyInput]:
    """Every family of ``layer`` with members on ``as_of``, their facts and coverage as known at ``known_at``.

    ``family_ids`` restricts the snapshot to those families (a case workflow loads one); their records
    and facts are then read by record key instead of scanning every one. Sorted by family id; members by person id;
    facts by (date, fact type, fact id).
    """
    known = naive_utc(known_at) if known_at else None
    wanted = frozenset(fact_types) if fact_types is not None else None
    with engine.connect() as conn:
        loaded_at = {b: t for b, t in conn.execute(sa.select(batches.c.batch_id, batches.c.loaded_at))}
        members_of = memberships_on_date(conn, layer, as_of, known, family_ids)
        if not members_of:
            return []
        listed = None if family_ids is None else sorted({k for rows in members_of.values() for *_, keys in rows for k in keys})
        records = _records(conn, loaded_at, known, listed)
        # A membership lists the person's records as its build saw them, so the snapshot agrees with the
        # build even if matching has run again since.
        record_owner: dict[str, tuple[str, str]] = {}
        records_of: dict[str, list[tuple]] = defaultdict(list)
        for family_id, rows in members_of.items():
            for person, _, _, keys in rows:
                for key in keys:
                    if key in records:
                        record_owner[key] = (family_id, person)
                        records_of[person].append(records[key])
        facts_of = _facts(conn, record_owner, loaded_at, known, wanted, by_key=family_ids is not None)
        coverage = read_coverage(conn, known, wanted)

    ordered = ((family_id, sorted_members(members_of[family_id])) for family_id in sorted(members_of))
    return _family_inputs(ordered, records_of, facts_of, coverage)


def _family_inputs(families: Iterable[tuple[str, tuple[MemberRow, ...]]], records_of: Mapping[str, list[tuple]],
                   facts_of: Mapping[str, Sequence[Fact]], coverage: dict[str, Coverage]) -> list[FamilyInput]:
    result = []
    for family_id, rows in families:
        members = tuple(_member(person, joined, left, records_of.get(person, [])) for person, joined, left, _ in rows)
        family_facts = facts_of.get(family_id, ())  # already in (date, fact type, fact id) order
        result.append(FamilyInput(family_id=family_id, members=members, facts=family_facts, coverage=coverage))
    return result


def load_batch(conn: sa.Connection, plan: SnapshotPlan, batch: FamilyBatch) -> list[FamilyInput]:
    """One batch's families, exactly as :func:`load_families` builds them: records and facts read by
    record key (index lookups), so the cost follows the batch, not the borough.

    The garbage collector is paused meanwhile: a batch is tens of thousands of new objects without a
    cycle among them, and collections triggered while they pile up would walk them over and over (a
    quarter of the load's CPU at 100k residents)."""
    with collector_paused():
        return _load_batch(conn, plan, batch)


def _load_batch(conn: sa.Connection, plan: SnapshotPlan, batch: FamilyBatch) -> list[FamilyInput]:
    records = _records(conn, plan.loaded_at, plan.known, sorted({k for keys in batch.person_keys.values() for k in keys}))
    records_of = {person: [records[k] for k in keys if k in records] for person, keys in batch.person_keys.items()}
    owners = {key: mark for key, mark in batch.owners.items() if key in records}
    # the batch's facts as a table (a record is made a Fact only when a family is evaluated one by one)
    table = fact_table(_latest(conn, owners, plan.loaded_at, plan.known, plan.wanted, by_key=True, ordered=False),
                       owners, [family_id for family_id, _ in batch.families])
    return _family_inputs(batch.families, records_of, dict(zip(table.families, table.views())), plan.coverage)


def load_snapshot_families(engine: sa.Engine, as_of: date, known_at: datetime | None = None,
                           family_ids: Collection[str] | None = None) -> list[FamilyInput]:
    """These families exactly as :func:`load_families` loads them with the whole snapshot (for replaying
    or explaining a recorded decision). ``load_families(family_ids=...)`` decides which family a record's
    facts follow among the given families only, which differs when a person listed in another family on
    the date shares records with them; this plans a few families from the memberships that decide them
    (index lookups: :func:`engine.integrate.snapshot_plan._plan_few`), more from every membership, then
    reads only the families' own records and facts."""
    plan = plan_snapshot(engine, as_of, known_at, batch_size=len(family_ids) if family_ids else 2000,
                         family_ids=family_ids)
    with engine.connect() as conn:
        return [family for batch in plan.batches for family in load_batch(conn, plan, batch)]


class BatchLoader:
    """``loader(batch)``: :func:`load_batch` on a connection of its own, callable in forked worker
    processes: a worker drops the pool it inherited (without closing the parent's connections) and opens
    its own, since a database connection must never be shared across a fork."""

    def __init__(self, engine: sa.Engine, plan: SnapshotPlan) -> None:
        self.engine, self.plan, self._pid = engine, plan, os.getpid()

    def __call__(self, batch: FamilyBatch) -> list[FamilyInput]:
        if os.getpid() != self._pid:
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        with self.engine.connect() as conn:
            return load_batch(conn, self.plan, batch)


def facts_by_record(engine: sa.Engine, known_at: datetime | None = None,
                    ) -> tuple[dict[str, tuple[Fact, ...]], dict[str, Coverage]]:
    """Every source record's facts (latest versions known at ``known_at``) and the feeds' coverage, whoever
    the record's person and family are: the evaluation regroups them by the true people. Each fact's
    ``person_id`` is its record key."""
    known = naive_utc(known_at) if known_at else None
    with engine.connect() as conn:
        loaded_at = {b: t for b, t in conn.execute(sa.select(batches.c.batch_id, batches.c.loaded_at))}
        owner = {key: (key, key) for key in _records(conn, loaded_at, known)}
        return _facts(conn, owner, loaded_at, known, None, by_key=False), read_coverage(conn, known, None)


def _records(conn: sa.Connection, loaded_at: Mapping[str, datetime], known: datetime | None,
             keys: list[str] | None = None) -> dict[str, tuple]:
    """Source records known at ``known`` (all, or only ``keys``), as the tuples :func:`_member` reads."""
    if keys is None:
        columns = (source_records.c.record_key, source_records.c.date_of_birth, source_records.c.sex,
                   source_records.c.given_name_as_written, source_records.c.family_name,
                   source_records.c.batch_id, source_records.c.first_seen_batch)
        chunks: Iterable = conn.execute(sa.select(*columns)).partitions(50_000)
    else:
        chunks = _rows_by_key(conn, _RECORDS_BY_KEY, keys)
    records = {}
    when = loaded_at.get
    for chunk in chunks:
        for key, born, sex, given, family, batch_id, first_seen in chunk:
            if known is not None:
                first_known = when(first_seen)
                if first_known is None or first_known > known:
                    continue
            records[key] = (key, as_date(born), sex, given, family, when(batch_id))
    return records


#: a batch's records and facts, read by key on the driver's own cursor (see :func:`_rows_by_key`);
#: ``{keys}`` becomes the key list's placeholders
_RECORDS_BY_KEY = ("SELECT record_key, date_of_birth, sex, given_name_as_written, family_name, batch_id, "
                   "first_seen_batch FROM source_records WHERE record_key IN ({keys})")
_FACTS_BY_KEY = ("SELECT fact_id, fact_type, record_key, event_date, end_date, fields, batch_id, feed "
                 "FROM facts WHERE record_key IN ({keys})")


def _rows_by_key(conn: sa.Connection, sql: str, keys: list[str], extra: str = "",
                 extra_params: tuple = ()) -> Iterator[list[tuple]]:
    """The rows of ``sql`` (+ ``extra``) for ``keys``, in bounded ``IN`` lists, fetched with the DBAPI
    cursor: a batch runs a few queries of thousands of rows each, and SQLAlchemy's statement compiling
    (one bind per key) and row objects cost more than SQLite's index lookups. Values come back as the
    driver gives them: ISO text dates and JSON text on SQLite, ``date`` and parsed JSON on PostgreSQL."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.cursor()
    try:
        for start in range(0, len(keys), KEYS_PER_QUERY):
            chunk = keys[start:start + KEYS_PER_QUERY]
            cursor.execute(sql.format(keys=",".join([mark] * len(chunk))) + extra.format(mark=mark),
                           (*chunk, *extra_params))
            yield cursor.fetchall()
    finally:
        cursor.close()


def _best(values: list[tuple[object, datetime | None]]):
    """The most common non-empty value; ties go to the value from the most recently loaded batch."""
    present = [(v, t) for v, t in values if v is not None]
    if not present:
        return None
    first = present[0][0]
    if len(present) == 1 or all(v == first for v, _ in present):  # most people: their records agree
        return first
    counts = Counter(v for v, _ in present)
    latest = {}
    for value, when in present:
        latest[value] = max(latest.get(value, datetime.min), when or datetime.min)
    return max(counts, key=lambda v: (counts[v], latest[v], str(v)))


def _member(person: str, joined: date, left: date | None, rows: list[tuple]) -> Member:
    if len(rows) == 1:  # most people: one record, whose values are the best there are
        key, born, sex, given, family, _ = rows[0]
        return Member(person, born, sex, given, family, {"record_keys": (key,)}, joined, left)
    agreed = rows[0][1:5]
    if None not in agreed and all(row[1:5] == agreed for row in rows):  # most others: their records agree
        return Member(person, *agreed, {"record_keys": tuple(sorted(row[0] for row in rows))}, joined, left)

    def best(index: int):
        values = [row[index] for row in rows if row[index] is not None]
        if values and values.count(values[0]) == len(values):  # most people: their records agree
            return values[0]
        return _best([(row[index], row[5]) for row in rows])

    return Member(
        person_id=person, date_of_birth=best(1), sex=best(2), given_name=best(3), family_name=best(4),
        attributes={"record_keys": tuple(sorted(row[0] for row in rows))}, joined=joined, left=left,
    )


def _fact_rows(conn: sa.Connection, wanted: frozenset[str] | None, record_keys: list[str] | None):
    """All fact rows in partitions (of the ``wanted`` types), or only those of ``record_keys``."""
    if record_keys is not None:
        types = sorted(wanted) if wanted is not None else []
        extra = f" AND fact_type IN ({','.join(['{mark}'] * len(types))})" if wanted is not None else ""
        yield from _rows_by_key(conn, _FACTS_BY_KEY, record_keys, extra, tuple(types))
        return
    # Raw column values (no SQLAlchemy result processing): the loop runs once per fact, millions of times.
    query = sa.select(facts.c.fact_id, facts.c.fact_type, facts.c.record_key,
                      sa.type_coerce(facts.c.event_date, sa.String), sa.type_coerce(facts.c.end_date, sa.String),
                      sa.type_coerce(facts.c.fields, sa.Text), facts.c.batch_id, facts.c.feed)
    if wanted is not None:
        query = query.where(facts.c.fact_type.in_(sorted(wanted)))
    yield from conn.execute(query).partitions(50_000)  # fetchmany: far cheaper than row-by-row


#: a fact row's (event date, fact type, fact id): the order a family's facts are kept in
_FACT_ORDER = itemgetter(3, 1, 0)


def _latest(conn, record_owner, loaded_at, known, wanted, *, by_key: bool, ordered: bool = True) -> list[tuple]:
    """The fact rows of ``record_owner``'s records known at ``known``, the latest version of each fact id,
    ``ordered`` as a family's facts are kept in (date, fact type, fact id): ISO text dates (SQLite) sort as
    their days do. (A fact table needs no order: its columns are put in the evaluator's.)"""
    # Versions of one fact id are ordered by their batch's load time: rank the batches known at `known`
    # once (a SQL filter on batch ids would make SQLite walk the index instead of scanning).
    known_batches = sorted((t, b) for b, t in loaded_at.items() if known is None or t <= known)
    rank = {b: i for i, (_, b) in enumerate(known_batches)}
    latest: dict[str, tuple] = {}
    owned = record_owner.__contains__
    for chunk in _fact_rows(conn, wanted, sorted(record_owner) if by_key else None):
        if by_key:  # (read by the owners' record keys: every row is owned)
            chunk = [row for row in chunk if row[6] in rank]
        else:
            chunk = [row for row in chunk if owned(row[2]) and row[6] in rank]
        for row in chunk:
            previous = latest.setdefault(row[0], row)
            if previous is not row and rank[previous[6]] < rank[row[6]]:
                latest[row[0]] = row
    return sorted(latest.values(), key=_FACT_ORDER) if ordered else list(latest.values())


def _facts(conn, record_owner, loaded_at, known, wanted, *, by_key: bool) -> dict[str, tuple[Fact, ...]]:
    by_family: dict[str, list[Fact]] = defaultdict(list)
    dates = DateCache()
    # (in the order each family's facts are kept in, so no family's list needs sorting afterwards)
    for fact_id, fact_type, record_key, event_date, end_date, fields, batch_id, feed in _latest(
            conn, record_owner, loaded_at, known, wanted, by_key=by_key):
        family, person = record_owner[record_key]
        values = fields_of(fields, fact_type, dates)
        # positional (the order of Fact's fields): this runs once per fact
        by_family[family].append(Fact(fact_id, fact_type, dates[event_date], values, person, None, feed,
                                      record_key[len(feed) + 1:], batch_id, dates[end_date]))
    return {family: tuple(facts) for family, facts in by_family.items()}
