"""Load declared feeds into the database as batches: every row accepted or quarantined, counts reconciled.

One file (or SQL result) is one batch, written in one transaction: the batch row, standardised
identity rows (upserted into ``source_records``), new or changed fact versions, and quarantine entries.
A file this feed already loaded (same checksum and, where the path dates it, the same extract date) is
skipped as "already loaded": an unchanged or empty monthly extract is still a new extract that moves
the feed's coverage on, while re-loading the same file adds nothing. A file that cannot be
read at all is reported and the other files and feeds still load.
"""

from __future__ import annotations

import glob
import json
import multiprocessing
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

from engine.errors import DataError, HearthError
from engine.integrate.feeds import Feeds, FeedSpec
from engine.integrate.readers import RawRow, SourceFile, open_sources
from engine.integrate.rowmap import MappedRow, RowMapper, RowRejected
from engine.integrate.standardise import parse_date
from engine.storage.tables_ingest import batches, facts, quarantine, source_records

CHUNK = 20_000

#: progress(feed, source label, rows read so far); called every few thousand rows and at the end
Progress = Callable[[str, str, int], None]

IDENTITY_COLUMNS = (
    "given_name", "given_name_as_written", "middle_names", "family_name", "date_of_birth", "sex",
    "address", "postcode", "uprn", "nhs_number", "upn", "ni_number", "extra_ids", "household_ref",
    "parent_record_keys",
)
_PLACE_COLUMNS = ("address", "postcode", "uprn", "household_ref")


@dataclass(frozen=True, slots=True)
class FileReport:
    """Reconciliation for one source file: rows in = accepted + quarantined (warnings are within accepted)."""

    feed: str
    source: str
    status: str  # loaded | already loaded | unreadable
    batch_id: str | None = None
    extract_date: date | None = None
    rows_in: int = 0
    accepted: int = 0
    quarantined: int = 0
    warnings: int = 0
    error: str | None = None

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.accepted + self.quarantined


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileReport, ...]

    @property
    def unreadable(self) -> tuple[FileReport, ...]:
        return tuple(f for f in self.files if f.status == "unreadable")


def utc_now() -> datetime:
    """Naive UTC, the form every knowledge-time column uses (SQLite has no time zones)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def as_naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def ingest(
    engine: sa.Engine,
    feeds: Feeds,
    *,
    only: Collection[str] | None = None,
    loaded_at: datetime | None = None,
    progress: Progress | None = None,
    pivot_year: int | None = None,
    workers: int = 1,
) -> IngestReport:
    """Load every file of every declared feed (or the feeds named in ``only``).

    ``loaded_at`` fixes the knowledge time of the batches (tests and back-loads); default is now.
    ``workers`` > 1 reads and maps feeds in that many forked processes while this process writes what
    they prepared (one database writer; each feed's files still load oldest first); the stored result
    is the same as with one.
    """
    selected = [feed for feed in feeds.feeds if only is None or feed.name in only]
    prepared = _prepare_in_workers if workers > 1 and len(selected) > 1 and _can_fork() else _prepare_here
    reports: dict[str, list[FileReport]] = {}
    for feed_name, files in prepared(engine, feeds, selected, pivot_year, workers):
        reports[feed_name] = [_write(engine, file, loaded_at, progress) for file in files]
    return IngestReport(tuple(r for feed in selected for r in reports.get(feed.name, ())))


# --- preparing: read, validate, map and de-duplicate one feed's files (no writes) ---------------------


@dataclass
class _Prepared:
    """One source file read and mapped, ready to write in one transaction (or a report saying why not)."""

    feed: FeedSpec
    label: str
    report: FileReport | None = None  # set when there is nothing to write (already loaded, unreadable)
    checksum: str = ""
    batch_id: str = ""
    extract_date: date | None = None
    rows_in: int = 0
    writer: _BatchWriter | None = None


def _prepare_feed(engine: sa.Engine, feeds: Feeds, feed: FeedSpec, pivot_year: int | None) -> list[_Prepared]:
    try:
        sources = open_sources(feed, feeds.base_dir)
    except DataError as exc:
        label = feed.source.path or feed.source.url or ""
        return [_Prepared(feed, label, FileReport(feed.name, label, "unreadable", error=exc.render()))]
    mapper = RowMapper(feed, feeds.schemas[feed.name], pivot_year=pivot_year)
    with engine.connect() as conn:
        loaded = {(c, d): b for b, c, d in conn.execute(
            sa.select(batches.c.batch_id, batches.c.checksum, batches.c.extract_date)
            .where(batches.c.feed == feed.name))}
    versions = _StoredVersions(engine, feed.name)
    prepared = []
    for source in sources:
        try:
            prepared.append(_prepare_file(feed, mapper, source, loaded, versions))
        except HearthError as exc:
            prepared.append(_Prepared(feed, source.label,
                                      FileReport(feed.name, source.label, "unreadable", error=exc.render())))
    for file in prepared:
        if file.writer is not None:
            file.writer.ready_to_write()
    return prepared


def _prepare_file(feed: FeedSpec, mapper: RowMapper, source: SourceFile,
                  loaded: dict[tuple[str, date | None], str], versions: _StoredVersions) -> _Prepared:
    """Map one file; ``loaded`` and ``versions`` are updated as if it were already written, so the
    feed's next file (written after this one) is compared with it."""
    extract_date = _extract_date_from_path(feed, source.label)
    for (checksum, day), batch_id in loaded.items():
        if checksum == source.checksum and (extract_date is None or day == extract_date):
            return _Prepared(feed, source.label, FileReport(feed.name, source.label, "already loaded", batch_id, day))
    batch_id = _batch_id(feed, source.checksum, extract_date)
    writer = _BatchWriter(feed, batch_id)
    rows_in = 0
    for raw in source.read_rows():
        rows_in += 1
        writer.take(raw, mapper)
    extract_date = extract_date or writer.max_extract_date
    if extract_date is None:
        raise DataError(f"{source.label}: no extract date: column {feed.extract_date.column!r} is empty "
                        "in every row")
    loaded[(source.checksum, extract_date)] = batch_id
    # only new or changed facts are written: a fact re-stated unchanged keeps its earlier version
    latest = versions.latest_hashes([fact[_FACT_ID] for fact in writer.pending_facts])
    writer.pending_facts = [f for f in writer.pending_facts if latest.get(f[_FACT_ID]) != f[_CONTENT_HASH]]
    versions.remember(writer.pending_facts)
    return _Prepared(feed, source.label, None, source.checksum, batch_id, extract_date, rows_in, writer)


#: up to this many ids per file, stored versions are looked up by id; more, and the feed's are all read
KEYED_LOOKUP_LIMIT = 20_000
_IN_LIST = 500


class _StoredVersions:
    """Content hashes of the latest stored version of one feed's facts, plus those of files prepared in
    this run but not yet written. A monthly extract looks its few thousand fact ids up by index; a first
    load (or a big file) reads the feed's facts once, which is cheaper than a million lookups."""

    def __init__(self, engine: sa.Engine, feed: str) -> None:
        self.engine, self.feed = engine, feed
        self.prepared: dict[str, str] = {}
        self.everything: dict[str, str] | None = None

    def latest_hashes(self, fact_ids: list[str]) -> dict[str, str]:
        if self.everything is None and len(fact_ids) > KEYED_LOOKUP_LIMIT:
            self.everything = self._read(None)
        if self.everything is not None:
            stored = self.everything
        else:
            stored = self._read([i for i in dict.fromkeys(fact_ids) if i not in self.prepared])
        return {i: self.prepared[i] if i in self.prepared else stored[i]
                for i in fact_ids if i in self.prepared or i in stored}

    def remember(self, pending_facts: list[tuple]) -> None:
        for fact in pending_facts:
            self.prepared[fact[_FACT_ID]] = fact[_CONTENT_HASH]

    def _read(self, fact_ids: list[str] | None) -> dict[str, str]:
        latest: dict[str, tuple[datetime, str]] = {}
        query = (sa.select(facts.c.fact_id, facts.c.content_hash, batches.c.loaded_at)
                 .join(batches, batches.c.batch_id == facts.c.batch_id).where(facts.c.feed == self.feed))
        queries = [query] if fact_ids is None else [
            query.where(facts.c.fact_id.in_(fact_ids[start:start + _IN_LIST]))
            for start in range(0, len(fact_ids), _IN_LIST)]
        with self.engine.connect() as conn:
            for part in queries:
                for fact_id, content_hash, known in conn.execute(part):
                    if fact_id not in latest or latest[fact_id][0] < known:
                        latest[fact_id] = (known, content_hash)
        return {k: v[1] for k, v in latest.items()}


def _prepare_here(engine, feeds, selected, pivot_year, _workers):
    for feed in selected:
        yield feed.name, _prepare_feed(engine, feeds, feed, pivot_year)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


#: what forked workers read (set just before the pool forks, so nothing is pickled to them)
_SHARED: dict[str, Any] = {}


def _prepare_shared(index: int) -> tuple[str, list[_Prepared]]:
    feed = _SHARED["selected"][index]
    return feed.name, _prepare_feed(_SHARED["engine"], _SHARED["feeds"], feed, _SHARED["pivot_year"])


def _forget_parent_connections() -> None:
    # A forked child must not use the parent's pooled connections (SQLAlchemy's documented fork recipe).
    _SHARED["engine"].dispose(close=False)


def _prepare_in_workers(engine, feeds, selected, pivot_year, workers):
    """Feeds prepared in forked processes, biggest first; yielded as they finish, for this process to write."""
    _SHARED.update(engine=engine, feeds=feeds, selected=selected, pivot_year=pivot_year)
    try:
        order = sorted(range(len(selected)), key=lambda i: -_feed_bytes(selected[i], feeds.base_dir))
        # Leaving the block stops and reaps the (by then idle) workers, so their CPU time counts as ours.
        with multiprocessing.get_context("fork").Pool(min(workers, len(selected)),
                                                      initializer=_forget_parent_connections) as pool:
            yield from pool.imap_unordered(_prepare_shared, order)
    finally:
        _SHARED.clear()


def _feed_bytes(feed: FeedSpec, base_dir) -> int:
    """How much a feed has to read now (file sizes), to start the largest first; 0 for queries."""
    if feed.source.type == "sql" or not feed.source.path:
        return 0
    return sum(os.path.getsize(p) for p in glob.glob(str(base_dir / feed.source.path)) if os.path.isfile(p))


def _batch_id(feed: FeedSpec, checksum: str, extract_date: date | None) -> str:
    dated = f":{extract_date.isoformat()}" if extract_date else ""
    return f"{feed.name}:{checksum[:12]}{dated}"


def _extract_date_from_path(feed: FeedSpec, label: str) -> date | None:
    spec = feed.extract_date
    if spec.value is not None:
        return spec.value
    if spec.from_path is None:
        return None
    match = re.search(spec.from_path, label)
    if match is None:
        raise DataError(f"{label}: extract_date.from_path {spec.from_path!r} does not match this path")
    try:
        return parse_date(match.group(1))
    except ValueError as exc:
        raise DataError(f"{label}: extract date {match.group(1)!r} from the path is not a date: {exc}") from None


# --- writing: one transaction per file ----------------------------------------------------------------


def _write(engine: sa.Engine, file: _Prepared, loaded_at: datetime | None, progress: Progress | None) -> FileReport:
    if file.report is not None:
        return file.report
    feed, writer = file.feed, file.writer
    with engine.begin() as conn:
        writer.write(conn)
        conn.execute(batches.insert().values(
            batch_id=file.batch_id, feed=feed.name, source_path=file.label, checksum=file.checksum,
            extract_date=file.extract_date, loaded_at=as_naive_utc(loaded_at) if loaded_at else utc_now(),
            rows_in=file.rows_in, accepted=writer.accepted, quarantined=writer.rejected, warnings=writer.warnings,
            fact_types=list(feed.fact_types), coverage_from=feed.coverage.from_ if feed.coverage else None,
        ))
    if progress:
        progress(feed.name, file.label, file.rows_in)
    return FileReport(feed.name, file.label, "loaded", file.batch_id, file.extract_date, file.rows_in,
                      writer.accepted, writer.rejected, writer.warnings)


_QUARANTINE_FIELDS = ("batch_id", "feed", "row_number", "raw", "field", "reason", "severity")


def _sqlite_storage_form(column: sa.Column) -> Callable[[Any], Any] | None:
    """What SQLAlchemy's SQLite types store for a Python value (ISO dates, JSON text), or None if as is."""
    if isinstance(column.type, sa.JSON):
        none_as_null = getattr(column.type, "none_as_null", False)
        return lambda v: None if v is None and none_as_null else json.dumps(v)
    if isinstance(column.type, sa.DateTime):
        return None  # not bulk-inserted here; SQLAlchemy's own format is kept by the core path
    if isinstance(column.type, sa.Date):
        return lambda v: v.isoformat() if v is not None else None
    return None


def _converted(row: tuple, convert: list[tuple[int, Callable[[Any], Any]]]) -> tuple:
    values = list(row)
    for i, form in convert:
        values[i] = form(values[i])
    return tuple(values)  # the driver's executemany takes tuples


def insert_many(conn: sa.Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) in chunks.

    On SQLite the rows go to the driver's executemany already in storage form: SQLAlchemy's per-row
    parameter processing cost more than SQLite's own inserting (measured: 5.6 s of 13 s ingesting 128,000
    rows). Other databases take the Core insert, with the types' own processing.
    """
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        convert = [(i, f) for i, c in enumerate(columns) if (f := _sqlite_storage_form(table.c[c])) is not None]
        sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' * len(columns))})")
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            if convert:
                chunk = [_converted(row, convert) for row in chunk]
            conn.exec_driver_sql(sql, chunk)
        return
    statement = table.insert()
    for start in range(0, len(rows), CHUNK):
        conn.execute(statement, [dict(zip(columns, row)) for row in rows[start:start + CHUNK]])


#: positions in a pending fact tuple (tuples, not dicts: a big feed holds a million until written)
_FACT_FIELDS = ("fact_id", "fact_type", "record_key", "event_date", "end_date", "fields", "content_hash")
_FACT_ID, _CONTENT_HASH = _FACT_FIELDS.index("fact_id"), _FACT_FIELDS.index("content_hash")


class _BatchWriter:
    """Accumulates one batch's rows, then writes them in bulk (executemany in chunks)."""

    def __init__(self, feed: FeedSpec, batch_id: str) -> None:
        self.feed, self.batch_id = feed, batch_id
        self.accepted = self.rejected = self.warnings = 0
        self.max_extract_date: date | None = None
        self.records: dict[str, dict[str, Any]] = {}
        self.pending_facts: list[tuple] = []
        self.pending_quarantine: list[dict[str, Any]] = []
        self.seen_fact_rows: dict[str, int] = {}

    def ready_to_write(self) -> None:
        """Drop what only mapping needed (a worker sends the rest back to be written)."""
        self.seen_fact_rows = {}

    def _quarantine(self, raw: RawRow, field: str | None, reason: str, severity: str) -> None:
        self.pending_quarantine.append({
            "batch_id": self.batch_id, "feed": self.feed.name, "row_number": raw.number, "raw": raw.data,
            "field": field, "reason": f"row {raw.number}: {reason}", "severity": severity,
        })

    def take(self, raw: RawRow, mapper: RowMapper) -> None:
        if raw.problem is not None:
            self.rejected += 1
            self._quarantine(raw, raw.field, raw.problem, "rejected")
            return
        try:
            mapped = mapper.map(raw.data)
        except RowRejected as exc:
            self.rejected += 1
            self._quarantine(raw, exc.field, exc.reason, "rejected")
            return
        self.accepted += 1
        for field, reason in mapped.warnings:
            self.warnings += 1
            self._quarantine(raw, field, reason, "warning")
        if mapped.extract_date and (self.max_extract_date is None or mapped.extract_date > self.max_extract_date):
            self.max_extract_date = mapped.extract_date
        self._merge_identity(mapped)
        for fact in mapped.facts:
            first_row = self.seen_fact_rows.setdefault(fact.fact_id, raw.number)
            if first_row != raw.number:
                self.warnings += 1
                self._quarantine(raw, None, f"fact {fact.fact_id} already stated at row {first_row}; "
                                 "this repeat is ignored", "warning")
                continue
            self.pending_facts.append((fact.fact_id, fact.fact_type, mapped.record_key, fact.event_date,
                                       fact.end_date, fact.fields, fact.content_hash(mapped.record_key)))

    def _merge_identity(self, mapped: MappedRow) -> None:
        """Several rows can describe one record (one row per fact): later non-empty values win."""
        current = self.records.get(mapped.record_key)
        if current is None:
            self.records[mapped.record_key] = {"record_id": mapped.record_id, **mapped.identity}
            return
        for name, value in mapped.identity.items():
            if value is not None:
                current[name] = value

    def write(self, conn: sa.Connection) -> None:
        common = (self.feed.name, self.batch_id)
        insert_many(conn, facts, (*_FACT_FIELDS, "feed", "batch_id"), [(*f, *common) for f in self.pending_facts])
        insert_many(conn, quarantine, _QUARANTINE_FIELDS,
                    [tuple(q[c] for c in _QUARANTINE_FIELDS) for q in self.pending_quarantine])
        self._write_records(conn)

    def _write_records(self, conn: sa.Connection) -> None:
        existing: dict[str, tuple[Any, ...]] = {}
        place = [source_records.c[c] for c in _PLACE_COLUMNS]
        query = sa.select(source_records.c.record_key, *place).where(source_records.c.feed == self.feed.name)
        keys = list(self.records)
        # a monthly extract's records are looked up by key; a big file reads the feed's records once
        queries = [query] if len(keys) > KEYED_LOOKUP_LIMIT else [
            query.where(source_records.c.record_key.in_(keys[start:start + _IN_LIST]))
            for start in range(0, len(keys), _IN_LIST)]
        for part in queries:
            for key, *values in conn.execute(part):
                existing[key] = tuple(values)
        inserts, updates = [], []
        for key, record in self.records.items():
            values = {c: record.get(c) for c in IDENTITY_COLUMNS}
            if key not in existing:
                inserts.append((*values.values(), key, self.feed.name, record["record_id"],
                                self.batch_id, self.batch_id, self.batch_id))
                continue
            old_place = existing[key]
            new_place = tuple(v if v is not None else o for v, o in zip((values[c] for c in _PLACE_COLUMNS), old_place))
            moved = new_place != old_place
            updates.append({**{f"v_{c}": v for c, v in values.items()}, "k": key, "moved": moved})
        insert_many(conn, source_records, (*IDENTITY_COLUMNS, "record_key", "feed", "record_id", "batch_id",
                                           "first_seen_batch", "address_since_batch"), inserts)
        for moved in (True, False):
            rows = [{k: v for k, v in u.items() if k != "moved"} for u in updates if u["moved"] is moved]
            for start in range(0, len(rows), CHUNK):
                conn.execute(self._update_statement(moved), rows[start:start + CHUNK])

    def _update_statement(self, moved: bool) -> sa.Update:
        sets: dict[str, Any] = {
            c: sa.func.coalesce(sa.bindparam(f"v_{c}", type_=source_records.c[c].type), source_records.c[c])
            for c in IDENTITY_COLUMNS
        }
        sets["batch_id"] = self.batch_id
        if moved:
            sets["address_since_batch"] = self.batch_id
        return (source_records.update()
                .where(source_records.c.record_key == sa.bindparam("k"))
                .values(**sets))
