"""Build families from source records and persons, keeping family ids stable across builds.

Each build: take every record's current place and stated relationships, map records to persons
(:mod:`engine.integrate.persons`), group persons per layer with the layer's rules
(:mod:`engine.integrate.grouping`), then reconcile with the open memberships of the previous build:

* a new group takes the id of the previous family it shares most members with (each old id used once);
* a member who moved ends their old membership and starts a new one, dated from the extract in which
  their address changed; nothing is rewritten, memberships are only ended;
* merges, splits, new and dissolved families are recorded in ``family_events``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa

from engine.errors import DataError, NotFoundError
from engine.integrate.collector import collector_paused
from engine.integrate.grouping import GroupingConfig, Layer, RecordPlace, group_persons
from engine.integrate.ingest import as_naive_utc, utc_now
from engine.integrate.persons import PersonAssignments, assign_persons
from engine.storage.tables_families import families, family_builds, family_events, family_memberships
from engine.storage.tables_ingest import batches, source_records


@dataclass(frozen=True)
class LayerSummary:
    families: int
    persons: int
    created: int
    merged: int
    split: int
    dissolved: int
    members_moved: int


@dataclass(frozen=True)
class BuildReport:
    build_id: int
    as_of: date
    persons: str
    layers: dict[str, LayerSummary]


@dataclass
class _PersonDates:
    """Extract dates of the batches that first placed a person's records where they are now."""

    since: list[date] = field(default_factory=list)

    @property
    def earliest(self) -> date:
        return min(self.since)

    @property
    def latest(self) -> date:
        return max(self.since)


def build_families(engine: sa.Engine, config: GroupingConfig, *, now: datetime | None = None) -> BuildReport:
    """Run every layer of ``config`` over the current records and persons; returns what changed.

    ``now`` fixes the build's knowledge time (tests, back-fills); by default it is the clock.
    """
    started = as_naive_utc(now) if now else utc_now()
    with collector_paused(), engine.begin() as conn:
        extract_of = dict(conn.execute(sa.select(batches.c.batch_id, batches.c.extract_date)).all())
        if not extract_of:
            raise DataError("no feeds are loaded yet: run `hearth ingest FEEDS.yaml` before building families")
        as_of = max(extract_of.values())
        # Plain tuples, JSON decoded only where present: a borough has hundreds of thousands of records,
        # and SQLAlchemy's per-row processing and attribute access cost more than the grouping itself.
        rows = conn.execute(sa.select(
            source_records.c.record_key, source_records.c.address, source_records.c.postcode,
            source_records.c.uprn, source_records.c.household_ref,
            sa.type_coerce(source_records.c.parent_record_keys, sa.Text), source_records.c.address_since_batch,
        ).order_by(source_records.c.record_key)).all()
        assignments = assign_persons(conn, (r[0] for r in rows), known_at=started)
        records, dates = _places(rows, assignments, extract_of)
        build_id = conn.execute(family_builds.insert().values(
            started_at=started, as_of=as_of, persons_from=assignments.source,
            rules=config.model_dump(mode="json"),
        )).inserted_primary_key[0]
        summaries = {
            layer.name: _build_layer(conn, layer, build_id, as_of, records, dates) for layer in config.layers
        }
        conn.execute(family_builds.update().where(family_builds.c.build_id == build_id).values(
            finished_at=started if now else max(utc_now(), started), summary={k: vars(v) for k, v in summaries.items()},
        ))
    return BuildReport(build_id, as_of, assignments.describe(), summaries)


_JSON = json.JSONDecoder()


def _json_list(value: str | list | None) -> tuple:
    """A JSON list column read raw: text on SQLite (decoded here), already a list on PostgreSQL."""
    if value is None or value in ("null", "[]"):
        return ()
    if isinstance(value, str):  # raw_decode skips json.loads' two whitespace scans (a regex each)
        return tuple(_JSON.raw_decode(value.strip())[0])
    return tuple(value)


def _raw_date(value: str | date) -> date:
    """A date column read raw: ISO text on SQLite, already a date on PostgreSQL."""
    return _iso_date(value) if isinstance(value, str) else value


@lru_cache(maxsize=10_000)
def _iso_date(text: str) -> date:
    return date.fromisoformat(text)


def _places(rows, assignments: PersonAssignments, extract_of: dict[str, date]):
    records = []
    since_of: dict[str, list[date]] = defaultdict(list)
    newest = max(extract_of.values())  # once, not per record: there are hundreds of thousands
    person_of = assignments.person_of
    for key, address, postcode, uprn, household_ref, parents, since_batch in rows:
        person = person_of[key]
        records.append(RecordPlace(key, person, address, postcode, uprn, household_ref, _json_list(parents)))
        since_of[person].append(extract_of.get(since_batch, newest))
    dates = defaultdict(_PersonDates, ((person, _PersonDates(since)) for person, since in since_of.items()))
    return _without_superseded_places(records, dates), dates


def _has_place(record: RecordPlace) -> bool:
    return record.uprn is not None or bool(record.address and record.postcode)


def _elsewhere(a: RecordPlace, b: RecordPlace) -> bool:
    """Clearly different homes: different UPRNs, postcodes or house numbers. Spelling alone is not enough:
    one system writes "43 BIRCH ROAD", another "43 BIRCH ROAD HEARTHWICK" with a UPRN, for the same home."""
    if a.uprn is not None and b.uprn is not None:
        return a.uprn != b.uprn
    if a.postcode and b.postcode and a.postcode != b.postcode:
        return True
    return bool(a.address and b.address) and a.numbers != b.numbers


def _place_key(record: RecordPlace) -> tuple:
    if record.address and record.postcode:
        return (record.postcode, record.numbers)
    return ("uprn", record.uprn)


def _without_superseded_places(records: list[RecordPlace], dates: dict[str, _PersonDates]) -> list[RecordPlace]:
    """Records placing someone where newer records show they have left say nothing about where (or with
    whom) they live, unless their household moved with them: their address and stated household are
    dropped, their parent links kept.

    After a move, one system updates the address (council tax), another registers the person afresh at the
    new address and keeps the old entry (the electoral roll): without this, the old entry would keep someone
    who moved out in the family they left. A place counts as newer when the extract that first showed it is
    later, and as left only when it is clearly elsewhere; places first shown in the same extract are all
    kept (nothing says which is current). When at least as many people left a place as still show there
    (the household moved; a child's nursery record just has not caught up), the old place still links them.
    """
    # Only people whose records were first placed in different extracts can have left a place: most were not.
    shown_twice = {person for person, placed in dates.items() if len(set(placed.since)) > 1}
    index_of_person: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        if record.person_id in shown_twice:
            index_of_person[record.person_id].append(i)
    superseded: set[int] = set()
    for person, indices in index_of_person.items():
        since = dates[person].since
        placed = [(i, day) for i, day in zip(indices, since) if _has_place(records[i])]
        if not placed:
            continue
        latest = max(day for _, day in placed)
        current = [records[i] for i, day in placed if day == latest]
        superseded.update(i for i, day in placed if day < latest and all(_elsewhere(records[i], c) for c in current))
    if not superseded:
        return records
    left: dict[tuple, set[str]] = defaultdict(set)
    there: dict[tuple, set[str]] = defaultdict(set)
    # only places someone left matter; a record elsewhere (another postcode and UPRN) cannot share one
    postcodes = {records[i].postcode for i in superseded}
    uprns = {records[i].uprn for i in superseded}
    for i, record in enumerate(records):
        if (record.postcode in postcodes or record.uprn in uprns) and _has_place(record):
            (left if i in superseded else there)[_place_key(record)].add(record.person_id)
    out = list(records)
    for i in superseded:
        key = _place_key(records[i])
        if len(left[key]) < len(there[key] - left[key]):
            out[i] = records[i]._replace(address=None, postcode=None, uprn=None, household_ref=None)
    return out


class _OpenMembership(NamedTuple):
    """A membership row no build has ended yet (a plain tuple: there is one per person in the borough)."""

    id: int
    family_id: str
    person_id: str
    from_date: date
    record_keys: tuple[str, ...]


def _open_memberships(conn: sa.Connection, layer: Layer) -> list[_OpenMembership]:
    rows = conn.execute(sa.select(
        family_memberships.c.id, family_memberships.c.family_id, family_memberships.c.person_id,
        sa.type_coerce(family_memberships.c.from_date, sa.String),
        sa.type_coerce(family_memberships.c.record_keys, sa.Text),
    ).where(family_memberships.c.layer == layer.name, family_memberships.c.ended_build.is_(None))).all()
    return [_OpenMembership(row_id, family_id, person, _raw_date(since), _json_list(keys))
            for row_id, family_id, person, since, keys in rows]


def _next_number(conn: sa.Connection, layer: Layer) -> int:
    ids = conn.execute(sa.select(families.c.family_id).where(families.c.layer == layer.name)).scalars()
    numbers = [int(i[len(layer.prefix):]) for i in ids if i[len(layer.prefix):].isdigit()]
    return max(numbers, default=0) + 1


def _build_layer(
    conn: sa.Connection, layer: Layer, build_id: int, as_of: date,
    records: list[RecordPlace], dates: dict[str, _PersonDates],
) -> LayerSummary:
    groups = group_persons(layer, records)
    records_of: dict[str, list[str]] = defaultdict(list)
    for record in records:
        records_of[record.person_id].append(record.record_key)
    open_rows = _open_memberships(conn, layer)
    # Overlap is counted in source records, not person ids: person ids change when matching first runs
    # or merges two people, but a record stays the same record.
    old_family_of_record: dict[str, str] = {}
    old_ids: set[str] = set()
    for row in open_rows:
        old_ids.add(row.family_id)
        for key in row.record_keys or (row.person_id,):
            old_family_of_record[key] = row.family_id
    group_records = [[k for p in group for k in records_of[p]] for group in groups]

    # Stable ids: largest overlap first; ties go to the lower old id, then the earlier group.
    overlap = Counter(
        (old_family_of_record[k], index) for index, keys in enumerate(group_records) for k in keys
        if k in old_family_of_record
    )
    id_of_group: dict[int, str] = {}
    used: set[str] = set()
    for (old_id, index), _ in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1])):
        if index not in id_of_group and old_id not in used:
            id_of_group[index] = old_id
            used.add(old_id)
    number = _next_number(conn, layer)
    new_families = []
    for index in range(len(groups)):
        if index not in id_of_group:
            id_of_group[index] = f"{layer.prefix}{number:06d}"
            number += 1
            new_families.append({"family_id": id_of_group[index], "layer": layer.name, "created_build": build_id})
    if new_families:
        conn.execute(families.insert(), new_families)
    new_family_of = {p: id_of_group[i] for i, group in enumerate(groups) for p in group}

    moved = _update_memberships(conn, layer, build_id, as_of, open_rows, new_family_of, dates, records_of)
    events = _events(layer, build_id, as_of, group_records, id_of_group, old_ids, overlap)
    if events:
        conn.execute(family_events.insert(), events)
    dissolved = [e["family_id"] for e in events if e["event"] == "dissolved"]
    if dissolved:
        conn.execute(families.update().where(families.c.family_id.in_(dissolved))
                     .values(dissolved_build=build_id, dissolved_on=as_of))
    kinds = Counter(e["event"] for e in events)
    return LayerSummary(len(groups), len(new_family_of), kinds["created"], kinds["merged"], kinds["split"],
                        kinds["dissolved"], moved)


def _update_memberships(conn, layer, build_id, as_of, open_rows, new_family_of, dates, records_of) -> int:
    ended, started = [], []
    previous_from: dict[str, date] = {}
    moved = 0
    for row in open_rows:
        if new_family_of.get(row.person_id) == row.family_id:
            keys = records_of[row.person_id]
            if keys == list(row.record_keys):  # the usual case, in the same order: nothing to sort
                continue
            keys = sorted(keys)
            if keys != sorted(row.record_keys):
                # Same person, same family, but matching gave them more (or fewer) records: supersede the
                # row with one listing the new records, from the same date, so snapshots see every record.
                ended.append({"row_id": row.id, "to_date": row.from_date, "ended_build": build_id})
                started.append({"family_id": row.family_id, "layer": layer.name, "person_id": row.person_id,
                                "from_date": row.from_date, "started_build": build_id, "record_keys": keys})
            continue
        if row.person_id not in new_family_of:
            # The person id no longer exists (matching merged or re-identified its records): the row is
            # superseded by the new person's membership, so it ends where it began and never overlaps it.
            ended.append({"row_id": row.id, "to_date": row.from_date, "ended_build": build_id})
            continue
        previous_from[row.person_id] = max(row.from_date, previous_from.get(row.person_id, row.from_date))
        moved += 1
        person_dates = dates.get(row.person_id)
        # the move shows in the extract where the person's address changed; otherwise, this build
        change = person_dates.latest if person_dates and person_dates.latest > row.from_date else as_of
        ended.append({"row_id": row.id, "to_date": max(change, row.from_date), "ended_build": build_id})
    continuing = {(r.person_id, r.family_id) for r in open_rows}
    for person, family_id in sorted(new_family_of.items()):
        if (person, family_id) in continuing:
            continue
        person_dates = dates[person]
        if person in previous_from:
            since = min(person_dates.latest, as_of)
            since = since if since > previous_from[person] else as_of
        else:
            since = person_dates.earliest
        started.append({"family_id": family_id, "layer": layer.name, "person_id": person, "from_date": since,
                        "started_build": build_id, "record_keys": sorted(records_of[person])})
    if ended:
        conn.execute(family_memberships.update().where(family_memberships.c.id == sa.bindparam("row_id"))
                     .values(to_date=sa.bindparam("to_date"), ended_build=sa.bindparam("ended_build")), ended)
    if started:
        conn.execute(family_memberships.insert(), started)
    return moved


def _events(layer, build_id, as_of, group_records, id_of_group, old_ids, overlap: Counter) -> list[dict]:
    """Created, merged, split and dissolved families; ``overlap`` counts the records each (old family, new
    group index) pair shares, so the old families a group draws on are its keys."""
    events = []

    def event(kind: str, family_id: str, related: set[str], **detail) -> None:
        events.append({"build_id": build_id, "layer": layer.name, "event": kind, "family_id": family_id,
                       "related_family_ids": sorted(related), "on_date": as_of, "detail": detail or None})

    sources_of: dict[int, set[str]] = defaultdict(set)
    for old_id, index in overlap:
        sources_of[index].add(old_id)
    targets: dict[str, set[str]] = defaultdict(set)
    for index, keys in enumerate(group_records):
        family_id = id_of_group[index]
        sources = sources_of.get(index, set())
        for source in sources:
            targets[source].add(family_id)
        if family_id not in old_ids:
            event("created", family_id, sources, records=len(keys))
        elif sources - {family_id}:
            event("merged", family_id, sources - {family_id}, records=len(keys))
    assigned = set(id_of_group.values())
    for old_id in sorted(old_ids):
        if old_id not in assigned:
            event("dissolved", old_id, targets[old_id])
        elif len(targets[old_id]) > 1:
            event("split", old_id, targets[old_id] - {old_id})
    return events


@dataclass(frozen=True)
class FamilyView:
    family_id: str
    layer: str
    dissolved_on: date | None
    memberships: list[tuple[str, date, date | None]]  # person, from, to
    records: dict[str, list[dict]]  # person -> standardised record rows
    events: list[dict]
    persons: str


def describe_family(engine: sa.Engine, family_id: str) -> FamilyView:
    """Everything stored about one family: members over time, their records and merge/split history."""
    with engine.connect() as conn:
        family = conn.execute(sa.select(families).where(families.c.family_id == family_id)).first()
        if family is None:
            raise NotFoundError(f"no family {family_id!r}; `hearth families build` creates families, and "
                                "family ids look like F000001")
        members = conn.execute(sa.select(
            family_memberships.c.person_id, family_memberships.c.from_date, family_memberships.c.to_date,
            family_memberships.c.record_keys,
        ).where(family_memberships.c.family_id == family_id).order_by(
            family_memberships.c.from_date, family_memberships.c.person_id)).all()
        # superseded rows (a person id matching replaced) end where they begin; they are not shown
        members = [m for m in members if m.to_date != m.from_date]
        person_of_record = {k: m.person_id for m in members for k in (m.record_keys or (m.person_id,))}
        records: dict[str, list[dict]] = defaultdict(list)
        keys = sorted(person_of_record)
        for start in range(0, len(keys), 500):  # bounded IN lists
            query = sa.select(source_records).where(source_records.c.record_key.in_(keys[start:start + 500]))
            for row in conn.execute(query.order_by(source_records.c.record_key)).mappings():
                records[person_of_record[row["record_key"]]].append(dict(row))
        persons_from = conn.execute(sa.select(family_builds.c.persons_from)
                                    .order_by(family_builds.c.build_id.desc()).limit(1)).scalar_one()
        events = conn.execute(sa.select(family_events).where(
            sa.or_(family_events.c.family_id == family_id,
                   family_events.c.related_family_ids.cast(sa.String).contains(f'"{family_id}"'))
        ).order_by(family_events.c.id)).mappings().all()
    return FamilyView(family_id, family.layer, family.dissolved_on,
                      [(m.person_id, m.from_date, m.to_date) for m in members],
                      dict(records),
                      [dict(e) for e in events], f"persons: {persons_from} (latest build)")
