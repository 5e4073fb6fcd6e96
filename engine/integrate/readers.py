"""Read a feed's source (CSV, JSON array, JSONL, Excel, SQL) into numbered raw rows.

A reader never drops a row: a row it cannot read properly (bad bytes, a ragged CSV line, a JSONL line
that is not JSON, the unreadable tail of a truncated JSON array) comes out as a :class:`RawRow` with a
``problem``, which ingest quarantines. Only a file that cannot be opened at all (missing, not a
workbook, no such sheet, SQL error) raises :class:`DataError`, and ingest carries on with other files.

Row numbers: CSV and JSONL count file lines (a CSV header is line 1), a JSON array counts elements
from 1, Excel counts sheet rows, SQL counts result rows from 1. Empty values are left out of a row, so
a JSON Schema's ``required`` means "present and non-empty".
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.errors import DataError
from engine.integrate.feeds import FeedSpec


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int
    data: dict[str, Any]
    problem: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class SourceFile:
    """One loadable unit (a file, or one SQL query result): its label, checksum and row reader."""

    label: str
    checksum: str
    read_rows: Callable[[], Iterator[RawRow]] = field(repr=False)


def open_sources(feed: FeedSpec, base_dir: Path) -> list[SourceFile]:
    """The files (or query) a feed reads now, sorted by path; raises DataError when there are none."""
    source = feed.source
    if source.type == "sql":
        return [_sql_source(feed)]
    pattern = source.path or ""
    # base_dir / an absolute pattern is the absolute pattern, so both kinds of path work
    paths = sorted(Path(p) for p in glob.glob(str(base_dir / pattern)) if Path(p).is_file())
    if not paths:
        raise DataError(f"feed {feed.name}: no files match {pattern!r} (relative to {base_dir})")
    reader = {"csv": _read_csv, "json": _read_json, "jsonl": _read_jsonl, "excel": _read_excel}[source.type]
    return [
        SourceFile(label=str(path), checksum=_file_checksum(path), read_rows=_bind(reader, path, feed))
        for path in paths
    ]


def _bind(reader: Callable[[Path, FeedSpec], Iterator[RawRow]], path: Path, feed: FeedSpec):
    return lambda: reader(path, feed)


def _file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    return digest.hexdigest()


# --- text helpers -----------------------------------------------------------------------------------

_SURROGATES = re.compile("[\udc80-\udcff]")


def _visible(text: str) -> str:
    """Undecodable bytes (kept as surrogates) shown as \\xNN so the raw row can be stored and read."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _encoding_problem(values: dict[str, Any], encoding: str) -> tuple[dict[str, Any], str | None, str | None]:
    # One check of the whole row first: nearly every row is clean, and searching each value was a
    # measurable share of reading millions of rows.
    joined = "".join(v for v in values.values() if isinstance(v, str))
    if joined.isascii() or not _SURROGATES.search(joined):
        return values, None, None
    bad = [k for k, v in values.items() if isinstance(v, str) and _SURROGATES.search(v)]
    if not bad:
        return values, None, None
    cleaned = {k: _visible(v) if isinstance(v, str) else v for k, v in values.items()}
    return cleaned, f"encoding error: bytes that are not {encoding} in column {bad[0]!r}", bad[0]


def _without_empties(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and not (isinstance(v, str) and not v.strip())}


def _codec(encoding: str) -> str:
    # A byte-order mark from Excel's "CSV UTF-8" must not become part of the first column name.
    return "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding


# --- CSV --------------------------------------------------------------------------------------------


def _read_csv(path: Path, feed: FeedSpec) -> Iterator[RawRow]:
    encoding = feed.source.encoding
    with path.open("rb") as binary:
        text = io.TextIOWrapper(binary, encoding=_codec(encoding), errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=feed.source.delimiter)
        try:
            header = [_visible(h).strip() for h in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{path}: cannot read the CSV header: {exc}") from None
        line_before = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a NUL byte or an unterminated quote at end of file
                number = line_before + 1
                line_before = reader.line_num
                yield RawRow(number, {}, f"CSV syntax error: {exc}")
                continue
            number, line_before = line_before + 1, reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # blank line: not a row
            values = dict(zip(header, cells))
            values, problem, bad_field = _encoding_problem(values, encoding)
            if problem is None and len(cells) != len(header):
                values = {**values, "_cells": [_visible(c) for c in cells]}
                problem = f"row has {len(cells)} fields but the header has {len(header)}"
            yield RawRow(number, values if problem else _without_empties(values), problem, bad_field)


# --- JSON and JSONL ---------------------------------------------------------------------------------


def _decode(path: Path, encoding: str) -> str:
    try:
        return path.read_bytes().decode(_codec(encoding), errors="surrogateescape")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None


def _json_row(number: int, value: Any, encoding: str) -> RawRow:
    if not isinstance(value, dict):
        return RawRow(number, {"_value": value}, f"element is a {type(value).__name__}, not an object")
    values, problem, bad_field = _encoding_problem(value, encoding)
    return RawRow(number, values if problem else _without_empties(values), problem, bad_field)


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line} column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def _read_json(path: Path, feed: FeedSpec) -> Iterator[RawRow]:
    """A JSON array of objects, read element by element so a truncated file keeps its complete rows."""
    text = _decode(path, feed.source.encoding)
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise DataError(f"{path}: expected a JSON array of row objects ('[' at {_line_col(text, pos)})")
    pos, number = _skip_space(text, pos + 1), 0
    while pos < len(text) and text[pos] != "]":
        number += 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield _unreadable_tail(text, pos, number, f"malformed or truncated JSON: {exc.msg} at "
                                   f"{_line_col(text, exc.pos)}")
            return
        yield _json_row(number, value, feed.source.encoding)
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_space(text, pos + 1)
        elif pos >= len(text) or text[pos] != "]":
            yield _unreadable_tail(text, pos, number + 1, f"expected ',' or ']' at {_line_col(text, pos)}")
            return
    if pos >= len(text):
        yield _unreadable_tail(text, pos, number + 1, "truncated JSON: the array is never closed")


def _unreadable_tail(text: str, pos: int, number: int, reason: str) -> RawRow:
    tail = text[pos:]
    return RawRow(number, {"_unread_text": _visible(tail[:2000]), "_unread_chars": len(tail)},
                  f"{reason}; the rest of the file ({len(tail)} characters) could not be read into rows")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _read_jsonl(path: Path, feed: FeedSpec) -> Iterator[RawRow]:
    encoding = feed.source.encoding
    try:
        handle = path.open("r", encoding=_codec(encoding), errors="surrogateescape", newline="\n")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RawRow(number, {"_line": _visible(line.rstrip("\n"))[:2000]},
                             f"line is not JSON: {exc.msg} at column {exc.colno}")
                continue
            yield _json_row(number, value, encoding)


# --- Excel and SQL: values become strings so one schema style fits CSV, Excel and SQL ----------------


def _as_text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    return str(value)


def _read_excel(path: Path, feed: FeedSpec) -> Iterator[RawRow]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException for a bad file
        raise DataError(f"{path}: not a readable Excel workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheet_name = feed.source.sheet or workbook.sheetnames[0]
        if sheet_name not in workbook.sheetnames:
            raise DataError(
                f"{path}: no sheet named {sheet_name!r}; the workbook has {', '.join(workbook.sheetnames)}. "
                "Fix 'source.sheet' in the feed declaration."
            )
        rows = workbook[sheet_name].iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            return
        header = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header_row)]
        for number, cells in enumerate(rows, start=2):
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            values = {h: _as_text(c) for h, c in zip(header, cells)}
            yield RawRow(number, _without_empties(values))
    finally:
        workbook.close()


def _sql_source(feed: FeedSpec) -> SourceFile:
    import sqlalchemy as sa

    url, query = feed.source.url or "", feed.source.query or ""
    try:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                result = conn.execute(sa.text(query))
                columns = list(result.keys())
                rows = [{c: _as_text(v) for c, v in zip(columns, row)} for row in result]
        finally:
            engine.dispose()
    except (sa.exc.SQLAlchemyError, ModuleNotFoundError) as exc:
        raise DataError(f"feed {feed.name}: SQL source {url!r} failed: {exc}") from None
    digest = hashlib.sha256(json.dumps([columns, [list(r.values()) for r in rows]]).encode()).hexdigest()
    label = f"{sa.engine.make_url(url).render_as_string(hide_password=True)} :: {query}"
    return SourceFile(
        label=label,
        checksum=digest,
        read_rows=lambda: (RawRow(n, _without_empties(r)) for n, r in enumerate(rows, start=1)),
    )
