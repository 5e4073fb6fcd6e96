"""Families as the rules engine sees them on a date, as known at a knowledge time.

``load_families(engine, as_of, known_at)`` answers "who was in which family on ``as_of``, and what did we
know about them at ``known_at``": memberships from builds finished by ``known_at``, the latest version
of each fact whose batch was loaded by ``known_at``, and per fact type the period its feeds cover.

Plain SQL selects and tuples throughout: a borough snapshot has millions of facts.

Identity attributes (date of birth, sex, names) come from the current standardised records, which keep
only the latest values; records first seen after ``known_at`` are left out.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from operator import itemgetter

import orjson
import sqlalchemy as sa

from engine.integrate.catalogue import FACT_TYPES
from engine.integrate.collector import collector_paused
from engine.rules.inputs import Coverage, Fact, FamilyInput, Member
from engine.storage.tables_families import family_builds, family_memberships
from engine.storage.tables_ingest import batches, facts, source_records

_DATE_FIELDS = {name: tuple(f for f, spec in t.fields.items() if spec.kind == "date") for name, t in FACT_TYPES.items()}

#: one membership as the snapshot reads it: person, joined, left, the person's record keys at the build
MemberRow = tuple[str, date, date | None, tuple[str, ...]]


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
    known = _naive_utc(known_at) if known_at else None
    wanted = frozenset(fact_types) if fact_types is not None else None
    with engine.connect() as conn:
        loaded_at = {b: t for b, t in conn.execute(sa.select(batches.c.batch_id, batches.c.loaded_at))}
        members_of = _memberships(conn, layer, as_of, known, family_ids)
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
        coverage = _coverage(conn, known, wanted)

    ordered = ((family_id, _sorted_members(members_of[family_id])) for family_id in sorted(members_of))
    return _family_inputs(ordered, records_of, facts_of, coverage)


def _naive_utc(moment: datetime) -> datetime:
    """``moment`` in naive UTC, as batches and builds record time. (Not ingest's ``as_naive_utc``: that
    module would load feed validation's libraries into explain and replay, which read one family.)"""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _sorted_members(rows: list[MemberRow]) -> tuple[MemberRow, ...]:
    return tuple(sorted(rows, key=lambda m: m[:3]))


def _family_inputs(families: Iterable[tuple[str, tuple[MemberRow, ...]]], records_of: Mapping[str, list[tuple]],
                   facts_of: Mapping[str, list[Fact]], coverage: dict[str, Coverage]) -> list[FamilyInput]:
    result = []
    for family_id, rows in families:
        members = tuple(_member(person, joined, left, records_of.get(person, [])) for person, joined, left, _ in rows)
        family_facts = tuple(facts_of.get(family_id, ()))  # already in (date, fact type, fact id) order
        result.append(FamilyInput(family_id=family_id, members=members, facts=family_facts, coverage=coverage))
    return result


@dataclass(frozen=True)
class FamilyBatch:
    """Consecutive families of a snapshot (by family id) and what loading them needs from the whole
    snapshot: every record key of their members over all their memberships, and which family and person
    each of their records' facts belong to (a record listed in two memberships goes to the last one read,
    as :func:`load_families` decides), so a batch loads exactly what the whole snapshot would hold."""

    families: tuple[tuple[str, tuple[MemberRow, ...]], ...]
    person_keys: Mapping[str, tuple[str, ...]]
    owners: Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class SnapshotPlan:
    """A snapshot split into batches of families, to load (and evaluate) one batch at a time: what every
    batch shares (batch load times, coverage) is read once here."""

    as_of: date
    known: datetime | None
    wanted: frozenset[str] | None
    loaded_at: Mapping[str, datetime]
    coverage: dict[str, Coverage]
    batches: tuple[FamilyBatch, ...]

    @property
    def families(self) -> int:
        return sum(len(b.families) for b in self.batches)


def plan_snapshot(
    engine: sa.Engine,
    as_of: date,
    known_at: datetime | None = None,
    fact_types: Collection[str] | None = None,
    *,
    layer: str = "household",
    batch_size: int = 2000,
    min_batches: int = 1,
    workers: int = 1,
    family_ids: Collection[str] | None = None,
) -> SnapshotPlan:
    """The snapshot :func:`load_families` would load, as batches of ``batch_size`` families in family id
    order (smaller if that makes fewer than ``min_batches``); :func:`load_batch` loads one. Concatenated,
    the batches equal :func:`load_families`' result. Only memberships are read here, so the plan is
    small beside the facts. For several ``workers`` the last batches shrink (:func:`tapered_sizes`).
    ``family_ids`` plans only those families, each exactly as the whole snapshot holds it."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    known = _naive_utc(known_at) if known_at else None
    wanted = frozenset(fact_types) if fact_types is not None else None
    with engine.connect() as conn:
        loaded_at = {b: t for b, t in conn.execute(sa.select(batches.c.batch_id, batches.c.loaded_at))}
        coverage = _coverage(conn, known, wanted)
        if family_ids is not None and len(set(family_ids)) <= _FEW_FAMILIES:
            families, person_keys, owner = _plan_few(conn, layer, as_of, known, set(family_ids))
        else:
            families, person_keys, owner = _plan_all(_memberships(conn, layer, as_of, known, None), family_ids)
    planned = []
    start = 0
    for size in tapered_sizes(len(families), batch_size_for(len(families), batch_size, min_batches), workers):
        batch = families[start:start + size]
        start += size
        persons = {row[0] for _, rows in batch for row in rows}
        owners = {key: owner[key] for family_id, rows in batch for row in rows for key in row[3]
                  if owner[key][0] == family_id}
        planned.append(FamilyBatch(batch, {p: person_keys[p] for p in sorted(persons)}, owners))
    return SnapshotPlan(as_of, known, wanted, loaded_at, coverage, tuple(planned))


#: a plan's families (by id, each with its members sorted), every planned person's record keys over
#: all their memberships, and the family and person each record's facts follow
_Planned = tuple[tuple[tuple[str, tuple[MemberRow, ...]], ...], dict[str, tuple[str, ...]],
                 dict[str, tuple[str, str]]]


def _plan_all(members_of: Mapping[str, list[MemberRow]], family_ids: Collection[str] | None) -> _Planned:
    """The plan of ``family_ids`` (or every family) from every membership on the date, in reading order."""
    # Facts follow the last membership listing the record, and a person's identity draws on every
    # membership's records (see load_families): both are decided over the whole snapshot, never per batch.
    owner: dict[str, tuple[str, str]] = {}
    person_keys: dict[str, tuple[str, ...]] = {}
    for family_id, rows in members_of.items():
        for person, _, _, keys in rows:
            mark = (family_id, person)
            for key in keys:
                owner[key] = mark
            person_keys[person] = person_keys[person] + keys if person in person_keys else keys
    ordered = sorted(members_of) if family_ids is None else sorted(members_of.keys() & set(family_ids))
    return tuple((f, _sorted_members(members_of[f])) for f in ordered), person_keys, owner


#: up to this many families, a plan for some families reads only the memberships that can matter to
#: them (:func:`_plan_few`); for more, reading every membership once is cheaper
_FEW_FAMILIES = 200


def _plan_few(conn: sa.Connection, layer: str, as_of: date, known: datetime | None, asked: set[str]) -> _Planned:
    """The families ``asked`` for (those with members on ``as_of``) planned exactly as :func:`_plan_all`
    plans them from every membership, but from the few memberships that decide them, found by index: the
    families' own; their members' other memberships (a person's identity draws on all of them); and
    every other membership listing one of their record keys (a record's facts follow the last one read).

    Finding the last needs no scan of the borough, because of how builds write memberships
    (:func:`engine.integrate.families.build_families`): each build leaves one open membership per person,
    listing that person's records at the build, and a person's records are theirs alone, so the
    memberships open as known at any time (builds finish in the order they run) list every record at
    most once. A second membership listing a record on ``as_of`` must therefore be one a later build
    ended after ``as_of`` (when a record moved to another person in the same build as its old person
    moved home): those are read by the ended-build index. Only a record none of whose memberships read
    so far is open can be listed by an open membership elsewhere: those few keys are looked for in the
    record key lists themselves.

    Which of several memberships is read last depends on where their families are first read
    (:func:`_memberships` groups rows by family), so every family met is read whole."""
    found: dict[int, tuple[str, MemberRow, tuple]] = {}

    def read(*where: sa.ColumnElement[bool], layer_index: bool = False) -> None:
        # unordered: ordering by (ended build, id) would lead SQLite to walk the layer's index for it
        query = _membership_query(layer, as_of, known, *where, layer_index=layer_index).order_by(None)
        for family_id, row, (ended_build, row_id) in _on_date(conn.execute(query), known):
            found[row_id] = (family_id, row, (ended_build is not None, ended_build or 0, row_id))

    def read_by(column: sa.Column, values: Collection[str]) -> None:
        ordered = sorted(values)
        for start in range(0, len(ordered), _KEYS_PER_QUERY):
            read(column.in_(ordered[start:start + _KEYS_PER_QUERY]))

    read_by(family_memberships.c.family_id, asked)
    own = [row for family_id, row, _ in found.values() if family_id in asked]
    if not own:  # none of them has members on the date
        return (), {}, {}
    persons = {row[0] for row in own}
    keys = {key for row in own for key in row[3]}
    # members' other memberships, and any membership without record keys (it lists its person id)
    read_by(family_memberships.c.person_id, persons | keys)
    read(family_memberships.c.ended_build.is_not(None), sa.or_(family_memberships.c.to_date > as_of,
                                                               family_memberships.c.to_date.is_(None)),
         layer_index=True)
    listed_open = {key for _, (_, _, left, row_keys), _ in found.values() if left is None for key in row_keys}
    unsure = sorted(keys - listed_open)
    for start in range(0, len(unsure), _KEYS_PER_SCAN):
        read(sa.or_(*(_lists_key(key) for key in unsure[start:start + _KEYS_PER_SCAN])))
    read_by(family_memberships.c.family_id, {family_id for family_id, _, _ in found.values()} - asked)

    first_read: dict[str, tuple] = {}
    for family_id, _, position in found.values():
        first_read[family_id] = min(position, first_read.get(family_id, position))
    members_of: dict[str, list[MemberRow]] = defaultdict(list)
    owner: dict[str, tuple[str, str]] = {}
    person_keys: dict[str, tuple[str, ...]] = {}
    # in the whole snapshot's reading order: families by their first row read, each family's rows together
    for family_id, row, _ in sorted(found.values(), key=lambda item: (first_read[item[0]], item[2])):
        person, _, _, row_keys = row
        members_of[family_id].append(row)
        for key in row_keys:
            owner[key] = (family_id, person)
        person_keys[person] = person_keys[person] + row_keys if person in person_keys else row_keys
    families = tuple((f, _sorted_members(members_of[f])) for f in sorted(asked & members_of.keys()))
    return families, person_keys, owner


#: record keys looked for per scan of the record key lists (each a LIKE over every membership)
_KEYS_PER_SCAN = 50


def _lists_key(key: str) -> sa.ColumnElement[bool]:
    """A membership whose record key list may hold ``key`` (a prefilter: :func:`_on_date` decodes the
    list; SQLite's LIKE ignores case): its JSON text holds the key as a JSON string, with non-ASCII
    characters escaped (SQLAlchemy's serializer) or not."""
    text = sa.cast(family_memberships.c.record_keys, sa.Text)
    spellings = sorted({json.dumps(key), orjson.dumps(key).decode()})
    return sa.or_(*(text.contains(spelling, autoescape=True) for spelling in spellings))


def batch_size_for(count: int, batch_size: int, min_batches: int = 1) -> int:
    """``batch_size``, or less so that ``count`` items make at least ``min_batches`` batches."""
    return max(1, min(batch_size, -(-count // max(1, min_batches))))


def tapered_sizes(count: int, batch_size: int, workers: int = 1) -> list[int]:
    """Batch sizes for ``count`` items shared by ``workers`` taking the next batch as they finish one:
    ``batch_size`` until the rest is a few batches per worker, then each a share of what is left (down to
    a sixteenth of ``batch_size``), so the workers finish together instead of one idling while the other
    evaluates a whole last batch (guided scheduling). One worker takes whole batches throughout."""
    sizes, left = [], count
    smallest = max(1, batch_size // 16)
    while left > 0:
        size = batch_size if workers <= 1 else min(batch_size, max(smallest, -(-left // (2 * workers))))
        sizes.append(min(size, left))
        left -= sizes[-1]
    return sizes


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
    facts_of = _facts(conn, owners, plan.loaded_at, plan.known, plan.wanted, by_key=True)
    return _family_inputs(batch.families, records_of, facts_of, plan.coverage)


def load_snapshot_families(engine: sa.Engine, as_of: date, known_at: datetime | None = None,
                           family_ids: Collection[str] | None = None) -> list[FamilyInput]:
    """These families exactly as :func:`load_families` loads them with the whole snapshot (for replaying
    or explaining a recorded decision). ``load_families(family_ids=...)`` decides which family a record's
    facts follow among the given families only, which differs when a person listed in another family on
    the date shares records with them; this plans a few families from the memberships that decide them
    (:func:`_plan_few`, index lookups), more from every membership, then reads only the families' own
    records and facts."""
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
                    ) -> tuple[dict[str, list[Fact]], dict[str, Coverage]]:
    """Every source record's facts (latest versions known at ``known_at``) and the feeds' coverage, whoever
    the record's person and family are: the evaluation regroups them by the true people. Each fact's
    ``person_id`` is its record key."""
    known = _naive_utc(known_at) if known_at else None
    with engine.connect() as conn:
        loaded_at = {b: t for b, t in conn.execute(sa.select(batches.c.batch_id, batches.c.loaded_at))}
        owner = {key: (key, key) for key in _records(conn, loaded_at, known)}
        return _facts(conn, owner, loaded_at, known, None, by_key=False), _coverage(conn, known, None)


def family_of_person(conn: sa.Connection, as_of: date, known_at: datetime | None = None,
                     layer: str = "household") -> dict[str, str]:
    """person -> the family of ``layer`` they were in on ``as_of``, as the builds known at ``known_at`` said."""
    known = _naive_utc(known_at) if known_at else None
    return {person: family for family, rows in _memberships(conn, layer, as_of, known, None).items()
            for person, *_ in rows}


def families_on_date(engine: sa.Engine, as_of: date, known_at: datetime | None = None,
                     layer: str = "household") -> list[str]:
    """The ids of the families of ``layer`` with members on ``as_of`` as known at ``known_at``, sorted: the
    families :func:`plan_snapshot` plans, found by the same membership rules without reading record
    keys or planning anything (to name the closest family to an id that has none)."""
    known = _naive_utc(known_at) if known_at else None
    family_id = family_memberships.c.family_id
    query = _membership_query(layer, as_of, known).with_only_columns(family_id).distinct()
    query = query.order_by(None).order_by(family_id)
    with engine.connect() as conn:
        return list(conn.scalars(query))


def _memberships(conn: sa.Connection, layer: str, as_of: date, known: datetime | None,
                 family_ids: Collection[str] | None) -> dict[str, list[MemberRow]]:
    """family id -> its memberships on ``as_of`` as known at ``known``, families and each family's rows in
    the order they are first read (:func:`_membership_query`): a record listed twice follows the last."""
    where = () if family_ids is None else (family_memberships.c.family_id.in_(sorted(family_ids)),)
    query = _membership_query(layer, as_of, known, *where, layer_index=family_ids is None)
    members_of: dict[str, list[MemberRow]] = defaultdict(list)
    for family_id, row, _ in _on_date(conn.execute(query), known):
        members_of[family_id].append(row)
    return members_of


def _membership_query(layer: str, as_of: date, known: datetime | None, *where: sa.ColumnElement[bool],
                      layer_index: bool = True) -> sa.Select:
    """Memberships of ``layer`` begun by ``as_of`` in builds finished by ``known``, meeting ``where``, read
    open ones first, then by the build that ended them, then by id (each row ends with those two). That
    is the order SQLite's (layer, ended_build) index gives them, which the snapshot always followed: it
    is written out so that it holds on any database and query plan, and so that a one-family plan
    (:func:`_plan_few`) can tell which membership the whole snapshot reads last. Without
    ``layer_index`` the layer is compared in a form no index serves, so that SQLite (which, without
    statistics, prefers one equality to an ``IN`` list) looks ``where``'s ids up by their own index
    instead of walking every membership of the layer.

    A membership is on ``as_of`` unless it ended by then in a build finished by ``known``: an end
    recorded later was not yet known (:func:`_on_date` reads such a row as still open). This is the one
    statement of who is in a family on a date; :func:`families_on_date` asks it for family ids alone."""
    started = family_builds.alias("started")
    ended = family_builds.alias("ended")
    # Dates and record keys raw (ISO and JSON text on SQLite): a borough has hundreds of thousands of
    # memberships, and the plan is read before any worker can start.
    query = (
        sa.select(family_memberships.c.family_id, family_memberships.c.person_id,
                  sa.type_coerce(family_memberships.c.from_date, sa.String),
                  sa.type_coerce(family_memberships.c.to_date, sa.String),
                  sa.type_coerce(family_memberships.c.record_keys, sa.Text), ended.c.finished_at,
                  family_memberships.c.ended_build, family_memberships.c.id)
        .join(started, started.c.build_id == family_memberships.c.started_build)
        .outerjoin(ended, ended.c.build_id == family_memberships.c.ended_build)
        .where((family_memberships.c.layer if layer_index else family_memberships.c.layer + "") == layer,
               family_memberships.c.from_date <= as_of,
               started.c.finished_at.is_not(None), *where)
        .order_by(family_memberships.c.ended_build.asc().nulls_first(), family_memberships.c.id)
    )
    still_member = [family_memberships.c.to_date.is_(None), family_memberships.c.to_date > as_of]
    if known is not None:
        query = query.where(started.c.finished_at <= known)
        still_member += [ended.c.finished_at.is_(None), ended.c.finished_at > known]
    return query.where(sa.or_(*still_member))


def _on_date(rows: Iterable[tuple], known: datetime | None) -> Iterator[tuple[str, MemberRow, tuple]]:
    """(family id, member row, (ended build, membership id)) for each of :func:`_membership_query`'s rows
    (memberships on ``as_of`` as known at ``known``), with the end date as known then."""
    dates, decode = _Dates(), orjson.loads
    for family_id, person, joined, left, keys, ended_known, ended_build, row_id in rows:
        left = dates[left]
        if left is not None and known is not None and (ended_known is None or ended_known > known):
            left = None  # the move was not yet known at `known`
        if isinstance(keys, str):
            keys = decode(keys)
        yield family_id, (person, dates[joined], left, tuple(keys or (person,))), (ended_build, row_id)


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
            records[key] = (key, _as_date(born), sex, given, family, when(batch_id))
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
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start:start + _KEYS_PER_QUERY]
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

    def best(index: int):
        values = [row[index] for row in rows if row[index] is not None]
        if values and values.count(values[0]) == len(values):  # most people: their records agree
            return values[0]
        return _best([(row[index], row[5]) for row in rows])

    return Member(
        person_id=person, date_of_birth=best(1), sex=best(2), given_name=best(3), family_name=best(4),
        attributes={"record_keys": tuple(sorted(row[0] for row in rows))}, joined=joined, left=left,
    )


#: record keys per ``IN`` list when reading by key: well inside SQLite's (32,766) and PostgreSQL's (65,535)
#: parameter limits; at 100k residents 2,000 cost 10% less CPU than 500 and no more than 8,000
_KEYS_PER_QUERY = 2000


@lru_cache(maxsize=50_000)
def _iso_date(text: str) -> date:
    return date.fromisoformat(text)


def _as_date(value: date | str | None) -> date | None:
    """Dates arrive as ``date`` (PostgreSQL) or ISO text (SQLite, read raw to skip per-row processing)."""
    if value is None or isinstance(value, date):
        return value
    return _iso_date(value)


class _Dates(dict):
    """``dates[value]``: :func:`_as_date` of ``value``, remembered. A batch's millions of date values are
    a few thousand distinct days, and a hit is one dictionary lookup instead of a function call."""

    def __missing__(self, value: date | str | None) -> date | None:
        self[value] = converted = _as_date(value)
        return converted


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


def _facts(conn, record_owner, loaded_at, known, wanted, *, by_key: bool) -> dict[str, list[Fact]]:
    # Versions of one fact id are ordered by their batch's load time: rank the batches known at `known`
    # once (a SQL filter on batch ids would make SQLite walk the index instead of scanning).
    known_batches = sorted((t, b) for b, t in loaded_at.items() if known is None or t <= known)
    rank = {b: i for i, (_, b) in enumerate(known_batches)}
    latest: dict[str, tuple] = {}
    owned = record_owner.__contains__
    for chunk in _fact_rows(conn, wanted, sorted(record_owner) if by_key else None):
        for row in chunk:
            if not owned(row[2]) or row[6] not in rank:
                continue
            previous = latest.get(row[0])
            if previous is None or rank[previous[6]] < rank[row[6]]:
                latest[row[0]] = row
    by_family: dict[str, list[Fact]] = defaultdict(list)
    decode, as_date, date_fields = orjson.loads, _Dates(), _DATE_FIELDS
    # In the order each family's facts are kept in (date, fact type, fact id): ISO text dates (SQLite)
    # sort as their days do, so no family's list needs sorting afterwards.
    for fact_id, fact_type, record_key, event_date, end_date, fields, batch_id, feed in sorted(
            latest.values(), key=_FACT_ORDER):
        family, person = record_owner[record_key]
        values = decode(fields) if isinstance(fields, str) else dict(fields)
        for name in date_fields.get(fact_type, ()):
            value = values.get(name)
            if isinstance(value, str):
                values[name] = as_date[value]
        # positional (the order of Fact's fields): this runs once per fact
        by_family[family].append(Fact(fact_id, fact_type, as_date[event_date], values, person, None, feed,
                                      record_key[len(feed) + 1:], batch_id, as_date[end_date]))
    return by_family


def _coverage(conn: sa.Connection, known: datetime | None, wanted: frozenset[str] | None) -> dict[str, Coverage]:
    """Per fact type, the period every feed that supplies it (and declares coverage) is complete for.

    A feed covers from its declared ``coverage.from`` to its latest extract date known at ``known``.
    Several feeds supplying one type are intersected: absence of a record only means "none happened"
    where every such feed was looking.
    """
    query = sa.select(batches.c.feed, batches.c.fact_types, batches.c.coverage_from, batches.c.extract_date,
                      batches.c.loaded_at)
    if known is not None:
        query = query.where(batches.c.loaded_at <= known)
    feeds: dict[str, tuple[date | None, date, tuple[str, ...], datetime]] = {}
    for feed, types, start, extract, when in conn.execute(query):
        previous = feeds.get(feed)
        end = max(extract, previous[1]) if previous else extract
        if previous is None or when >= previous[3]:
            feeds[feed] = (start, end, tuple(types or ()), when)  # the latest declaration wins
        else:
            feeds[feed] = (*previous[:1], end, *previous[2:])
    windows: dict[str, list[tuple[date, date, str]]] = defaultdict(list)
    for feed, (start, end, types, _) in feeds.items():
        if start is None:
            continue
        for fact_type in types:
            if wanted is None or fact_type in wanted:
                windows[fact_type].append((start, end, feed))
    coverage = {}
    for fact_type, spans in sorted(windows.items()):
        start, end = max(s for s, _, _ in spans), min(e for _, e, _ in spans)
        if start <= end:
            coverage[fact_type] = Coverage(fact_type, start, end, tuple(sorted(f for _, _, f in spans)))
    return coverage
