"""Load declared feeds into the database as batches: every row accepted or quarantined, counts reconciled.

One file (or SQL result) is one batch, written in one transaction: the batch row, standardised
identity rows (upserted into ``source_records``), new or changed fact versions, and quarantine entries.
A file this feed already loaded (same checksum and, where the path dates it, the same extract date) is
skipped as "already loaded": an unchanged or empty monthly extract is still a new extract that moves
the feed's coverage on, while re-loading the same file adds nothing. A file that cannot be
read at all is reported and the other files and feeds still load.
"""

from __future__ import annotations

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
) -> IngestReport:
    """Load every file of every declared feed (or the feeds named in ``only``).

    ``loaded_at`` fixes the knowledge time of the batches (tests and back-loads); default is now.
    """
    reports: list[FileReport] = []
    for feed in feeds.feeds:
        if only is not None and feed.name not in only:
            continue
        try:
            sources = open_sources(feed, feeds.base_dir)
        except DataError as exc:
            reports.append(FileReport(feed.name, feed.source.path or feed.source.url or "", "unreadable",
                                      error=exc.render()))
            continue
        mapper = RowMapper(feed, feeds.schemas[feed.name], pivot_year=pivot_year)
        for source in sources:
            try:
                reports.append(_load_file(engine, feed, mapper, source, loaded_at, progress))
            except HearthError as exc:
                reports.append(FileReport(feed.name, source.label, "unreadable", error=exc.render()))
    return IngestReport(tuple(reports))


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


def _load_file(
    engine: sa.Engine, feed: FeedSpec, mapper: RowMapper, source: SourceFile,
    loaded_at: datetime | None, progress: Progress | None,
) -> FileReport:
    extract_date = _extract_date_from_path(feed, source.label)
    batch_id = _batch_id(feed, source.checksum, extract_date)
    same = sa.select(batches.c.batch_id, batches.c.extract_date).where(
        batches.c.feed == feed.name, batches.c.checksum == source.checksum)
    if extract_date is not None:
        same = same.where(batches.c.extract_date == extract_date)
    with engine.connect() as conn:
        existing = conn.execute(same).first()
    if existing is not None:
        return FileReport(feed.name, source.label, "already loaded", existing.batch_id, existing.extract_date)
    with engine.begin() as conn:
        writer = _BatchWriter(conn, feed, batch_id)
        rows_in = 0
        for raw in source.read_rows():
            rows_in += 1
            writer.take(raw, mapper)
            if progress and rows_in % 5000 == 0:
                progress(feed.name, source.label, rows_in)
        writer.finish()
        extract_date = extract_date or writer.max_extract_date
        if extract_date is None:
            raise DataError(f"{source.label}: no extract date: column {feed.extract_date.column!r} is empty "
                            "in every row")
        conn.execute(batches.insert().values(
            batch_id=batch_id, feed=feed.name, source_path=source.label, checksum=source.checksum,
            extract_date=extract_date, loaded_at=as_naive_utc(loaded_at) if loaded_at else utc_now(),
            rows_in=rows_in, accepted=writer.accepted, quarantined=writer.rejected, warnings=writer.warnings,
            fact_types=list(feed.fact_types), coverage_from=feed.coverage.from_ if feed.coverage else None,
        ))
    if progress:
        progress(feed.name, source.label, rows_in)
    return FileReport(feed.name, source.label, "loaded", batch_id, extract_date, rows_in,
                      writer.accepted, writer.rejected, writer.warnings)


class _BatchWriter:
    """Accumulates one batch's rows and writes them in bulk (executemany in chunks)."""

    def __init__(self, conn: sa.Connection, feed: FeedSpec, batch_id: str) -> None:
        self.conn, self.feed, self.batch_id = conn, feed, batch_id
        self.accepted = self.rejected = self.warnings = 0
        self.max_extract_date: date | None = None
        self.records: dict[str, dict[str, Any]] = {}
        self.pending_facts: list[dict[str, Any]] = []
        self.pending_quarantine: list[dict[str, Any]] = []
        self.seen_fact_rows: dict[str, int] = {}
        # the latest stored version of each of this feed's facts: only new or changed ones are written
        latest: dict[str, tuple[datetime, str]] = {}
        query = (sa.select(facts.c.fact_id, facts.c.content_hash, batches.c.loaded_at)
                 .join(batches, batches.c.batch_id == facts.c.batch_id).where(facts.c.feed == feed.name))
        for fact_id, content_hash, known in conn.execute(query):
            if fact_id not in latest or latest[fact_id][0] < known:
                latest[fact_id] = (known, content_hash)
        self.latest_hash = {k: v[1] for k, v in latest.items()}

    def _quarantine(self, raw: RawRow, field: str | None, reason: str, severity: str) -> None:
        self.pending_quarantine.append({
            "batch_id": self.batch_id, "feed": self.feed.name, "row_number": raw.number, "raw": raw.data,
            "field": field, "reason": f"row {raw.number}: {reason}", "severity": severity,
        })
        if len(self.pending_quarantine) >= CHUNK:
            self._flush_quarantine()

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
            content_hash = fact.content_hash(mapped.record_key)
            if self.latest_hash.get(fact.fact_id) == content_hash:
                continue  # re-stated unchanged: the earlier version already records it
            self.pending_facts.append({
                "fact_id": fact.fact_id, "feed": self.feed.name, "fact_type": fact.fact_type,
                "record_key": mapped.record_key, "event_date": fact.event_date, "end_date": fact.end_date,
                "fields": fact.fields, "content_hash": content_hash, "batch_id": self.batch_id,
            })
            if len(self.pending_facts) >= CHUNK:
                self._flush_facts()

    def _merge_identity(self, mapped: MappedRow) -> None:
        """Several rows can describe one record (one row per fact): later non-empty values win."""
        current = self.records.get(mapped.record_key)
        if current is None:
            self.records[mapped.record_key] = {"record_id": mapped.record_id, **mapped.identity}
            return
        for name, value in mapped.identity.items():
            if value is not None:
                current[name] = value

    def _flush_facts(self) -> None:
        if self.pending_facts:
            self.conn.execute(facts.insert(), self.pending_facts)
            self.pending_facts = []

    def _flush_quarantine(self) -> None:
        if self.pending_quarantine:
            self.conn.execute(quarantine.insert(), self.pending_quarantine)
            self.pending_quarantine = []

    def finish(self) -> None:
        self._flush_facts()
        self._flush_quarantine()
        self._write_records()

    def _write_records(self) -> None:
        existing: dict[str, tuple[Any, ...]] = {}
        place = [source_records.c[c] for c in _PLACE_COLUMNS]
        query = sa.select(source_records.c.record_key, *place).where(source_records.c.feed == self.feed.name)
        for key, *values in self.conn.execute(query):
            existing[key] = tuple(values)
        inserts, updates = [], []
        for key, record in self.records.items():
            values = {c: record.get(c) for c in IDENTITY_COLUMNS}
            if key not in existing:
                inserts.append({**values, "record_key": key, "feed": self.feed.name, "record_id": record["record_id"],
                                "batch_id": self.batch_id, "first_seen_batch": self.batch_id,
                                "address_since_batch": self.batch_id})
                continue
            old_place = existing[key]
            new_place = tuple(v if v is not None else o for v, o in zip((values[c] for c in _PLACE_COLUMNS), old_place))
            moved = new_place != old_place
            updates.append({**{f"v_{c}": v for c, v in values.items()}, "k": key, "moved": moved})
        for start in range(0, len(inserts), CHUNK):
            self.conn.execute(source_records.insert(), inserts[start:start + CHUNK])
        for moved in (True, False):
            rows = [{k: v for k, v in u.items() if k != "moved"} for u in updates if u["moved"] is moved]
            for start in range(0, len(rows), CHUNK):
                self.conn.execute(self._update_statement(moved), rows[start:start + CHUNK])

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

