"""Write a feed's rows into dated extract folders as CSV, JSON Lines or Excel, byte-for-byte reproducibly."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

from .feed_specs import FeedSpec

#: fixed timestamp stamped into Excel files so the same seed gives the same bytes
_FIXED_TIME = datetime(2025, 1, 1)


def extract_folder(out: Path, extract_day: int) -> Path:
    return out / "extracts" / date.fromordinal(extract_day).isoformat()


def write_rows(spec: FeedSpec, path: Path, rows: list[tuple[str, ...]]) -> None:
    """One extract file of ``spec``'s feed (written even when empty, as real scheduled exports are)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = spec.columns()
    if spec.file_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(rows)
    elif spec.file_format == "jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for values in rows:
                # JSON exports leave missing values out as null, not as empty strings
                record = {c: (v if v != "" else None) for c, v in zip(columns, values)}
                handle.write(json.dumps(record, ensure_ascii=False))
                handle.write("\n")
    else:
        _write_excel(path, columns, rows)


def _write_excel(path: Path, columns: list[str], rows: list[tuple[str, ...]]) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    book.properties.created = _FIXED_TIME
    book.properties.modified = _FIXED_TIME
    sheet = book.create_sheet("Contacts")
    sheet.append(columns)
    for values in rows:
        sheet.append([v if v != "" else None for v in values])
    buffer = io.BytesIO()
    book.save(buffer)
    _restamp_zip(buffer.getvalue(), path)


def _restamp_zip(data: bytes, path: Path) -> None:
    """Rewrite an xlsx (a zip) with fixed member timestamps: openpyxl stamps the current time."""
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for member in sorted(source.infolist(), key=lambda m: m.filename):
            text = source.read(member.filename)
            if member.filename == "docProps/core.xml":
                text = _fixed_core_properties(text)
            info = zipfile.ZipInfo(member.filename, date_time=_FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, text)


def _fixed_core_properties(text: bytes) -> bytes:
    stamp = _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", text)
