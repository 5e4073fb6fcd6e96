"""Which families a snapshot holds on a date, as known at a knowledge time, and how it splits into batches.

A family's members on ``as_of`` are its memberships begun by then in family builds finished by
``known_at`` and not ended by then in a build finished by ``known_at`` (:func:`_membership_query`
states it once). :func:`plan_snapshot` reads only memberships (and what every batch shares: batch load
times, coverage), so a plan is small beside the facts; :mod:`engine.integrate.snapshot` loads a planned
batch's records and facts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache

import orjson
import sqlalchemy as sa

from engine.rules.inputs import Coverage
from engine.storage.tables_families import family_builds, family_memberships
from engine.storage.tables_ingest import batches

#: one membership as the snapshot reads it: person, joined, left, the person's record keys at the build
MemberRow = tuple[str, date, date | None, tuple[str, ...]]


def naive_utc(moment: datetime) -> datetime:
    """``moment`` in naive UTC, as batches and builds record time. (Not ingest's ``as_naive_utc``: that
    module would load feed validation's libraries into explain and replay, which read one family.)"""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def sorted_members(rows: list[MemberRow]) -> tuple[MemberRow, ...]:
    return tuple(sorted(rows, key=lambda m: m[:3]))


@dataclass(frozen=True)
class FamilyBatch:
    """Consecutive families of a snapshot (by family id) and what loading them needs from the whole
    snapshot: every record key of their members over all their memberships, and which family and person
    each of their records' facts belong to (a record listed in two memberships goes to the last one read,
    as :func:`~engine.integrate.snapshot.load_families` decides), so a batch loads exactly what the
    whole snapshot would hold."""

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
    """The snapshot :func:`~engine.integrate.snapshot.load_families` would load, as batches of
    ``batch_size`` families in family id order (smaller if that makes fewer than ``min_batches``);
    :func:`~engine.integrate.snapshot.load_batch` loads one. Concatenated, the batches equal
    ``load_families``' result. Only memberships are read here, so the plan is
    small beside the facts. For several ``workers`` the last batches shrink (:func:`tapered_sizes`).
    ``family_ids`` plans only those families, each exactly as the whole snapshot holds it."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    known = naive_utc(known_at) if known_at else None
    wanted = frozenset(fact_types) if fact_types is not None else None
    with engine.connect() as conn:
        loaded_at = {b: t for b, t in conn.execute(sa.select(batches.c.batch_id, batches.c.loaded_at))}
        coverage = read_coverage(conn, known, wanted)
        if family_ids is not None and len(set(family_ids)) <= _FEW_FAMILIES:
            families, person_keys, owner = _plan_few(conn, layer, as_of, known, set(family_ids))
        else:
            families, person_keys, owner = _plan_all(memberships_on_date(conn, layer, as_of, known, None), family_ids)
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
    # membership's records (see snapshot.load_families): both are decided over the whole snapshot, never
    # per batch.
    owner: dict[str, tuple[str, str]] = {}
    person_keys: dict[str, tuple[str, ...]] = {}
    for family_id, rows in members_of.items():
        for person, _, _, keys in rows:
            mark = (family_id, person)
            for key in keys:
                owner[key] = mark
            person_keys[person] = person_keys[person] + keys if person in person_keys else keys
    ordered = sorted(members_of) if family_ids is None else sorted(members_of.keys() & set(family_ids))
    return tuple((f, sorted_members(members_of[f])) for f in ordered), person_keys, owner


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
    (:func:`memberships_on_date` groups rows by family), so every family met is read whole."""
    found: dict[int, tuple[str, MemberRow, tuple]] = {}

    def read(*where: sa.ColumnElement[bool], layer_index: bool = False) -> None:
        # unordered: ordering by (ended build, id) would lead SQLite to walk the layer's index for it
        query = _membership_query(layer, as_of, known, *where, layer_index=layer_index).order_by(None)
        for family_id, row, (ended_build, row_id) in _on_date(conn.execute(query), known):
            found[row_id] = (family_id, row, (ended_build is not None, ended_build or 0, row_id))

    def read_by(column: sa.Column, values: Collection[str]) -> None:
        ordered = sorted(values)
        for start in range(0, len(ordered), KEYS_PER_QUERY):
            read(column.in_(ordered[start:start + KEYS_PER_QUERY]))

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
    families = tuple((f, sorted_members(members_of[f])) for f in sorted(asked & members_of.keys()))
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


def family_of_person(conn: sa.Connection, as_of: date, known_at: datetime | None = None,
                     layer: str = "household") -> dict[str, str]:
    """person -> the family of ``layer`` they were in on ``as_of``, as the builds known at ``known_at`` said."""
    known = naive_utc(known_at) if known_at else None
    return {person: family for family, rows in memberships_on_date(conn, layer, as_of, known, None).items()
            for person, *_ in rows}


def families_on_date(engine: sa.Engine, as_of: date, known_at: datetime | None = None,
                     layer: str = "household") -> list[str]:
    """The ids of the families of ``layer`` with members on ``as_of`` as known at ``known_at``, sorted: the
    families :func:`plan_snapshot` plans, found by the same membership rules without reading record
    keys or planning anything (to name the closest family to an id that has none)."""
    known = naive_utc(known_at) if known_at else None
    family_id = family_memberships.c.family_id
    query = _membership_query(layer, as_of, known).with_only_columns(family_id).distinct()
    query = query.order_by(None).order_by(family_id)
    with engine.connect() as conn:
        return list(conn.scalars(query))


def memberships_on_date(conn: sa.Connection, layer: str, as_of: date, known: datetime | None,
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
    dates, decode = DateCache(), orjson.loads
    for family_id, person, joined, left, keys, ended_known, ended_build, row_id in rows:
        left = dates[left]
        if left is not None and known is not None and (ended_known is None or ended_known > known):
            left = None  # the move was not yet known at `known`
        if isinstance(keys, str):
            keys = decode(keys)
        yield family_id, (person, dates[joined], left, tuple(keys or (person,))), (ended_build, row_id)


#: record keys per ``IN`` list when reading by key: well inside SQLite's (32,766) and PostgreSQL's (65,535)
#: parameter limits; at 100k residents 2,000 cost 10% less CPU than 500 and no more than 8,000
KEYS_PER_QUERY = 2000


@lru_cache(maxsize=50_000)
def _iso_date(text: str) -> date:
    return date.fromisoformat(text)


def as_date(value: date | str | None) -> date | None:
    """Dates arrive as ``date`` (PostgreSQL) or ISO text (SQLite, read raw to skip per-row processing)."""
    if value is None or isinstance(value, date):
        return value
    return _iso_date(value)


class DateCache(dict):
    """``dates[value]``: :func:`as_date` of ``value``, remembered. A batch's millions of date values are
    a few thousand distinct days, and a hit is one dictionary lookup instead of a function call."""

    def __missing__(self, value: date | str | None) -> date | None:
        self[value] = converted = as_date(value)
        return converted


def read_coverage(conn: sa.Connection, known: datetime | None, wanted: frozenset[str] | None) -> dict[str, Coverage]:
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
