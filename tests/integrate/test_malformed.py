"""Malformed sources: bad rows are quarantined with reasons, unreadable files never stop other feeds."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import yaml

from engine.integrate.feeds import load_feeds
from engine.integrate.ingest import ingest
from engine.storage.tables_ingest import facts, quarantine, source_records

SCHEMA = {"type": "object", "required": ["id", "surname"], "properties": {"id": {"type": "string"}}}
HEADER = ["id", "forename", "surname", "dob", "exclusion_date", "kind", "days"]
GOOD = [
    ["X1", "Amy", "Stone", "01/02/2012", "10/01/2024", "fixed_term", "2"],
    ["X2", "Ben", "Stone", "03/04/2014", "11/01/2024", "fixed term", "1"],
    ["X3", "Cal", "Reed", "05/06/2011", "12/01/2024", "permanent", "0"],
]


def _feed(name: str, source: dict) -> dict:
    return {
        "name": name, "source": source, "extract_date": {"value": "2024-01-31"}, "schema": SCHEMA,
        "record_id": "id",
        "identity": {"given_name": "forename", "family_name": "surname", "date_of_birth": "dob"},
        "facts": [{"type": "exclusion", "id": ["id", "exclusion_date"],
                   "fields": {"exclusion_date": "exclusion_date", "kind": "kind", "days": "days"}}],
        "coverage": {"from": "2023-09-01"},
    }


def _write_feeds(folder: Path, *feeds: dict) -> Path:
    path = folder / "feeds.yaml"
    path.write_text(yaml.safe_dump({"feeds": list(feeds)}, sort_keys=False))
    return path


def _objects(rows):
    return [dict(zip(HEADER, row)) for row in rows]


def _by_feed(report):
    return {f.feed: f for f in report.files}


def test_truncated_json_keeps_complete_rows_and_quarantines_the_tail(tmp_path, engine) -> None:
    """A JSON array cut off mid-object: complete objects load, the unreadable tail is one quarantined row."""
    text = json.dumps(_objects(GOOD), indent=1)
    (tmp_path / "people.json").write_text(text[: text.rindex('"permanent"')])
    report = ingest(engine, load_feeds(_write_feeds(tmp_path, _feed("people", {"type": "json", "path": "people.json"}))))
    people = _by_feed(report)["people"]
    assert (people.rows_in, people.accepted, people.quarantined) == (3, 2, 1)
    with engine.connect() as conn:
        reason = conn.execute(sa.select(quarantine.c.reason)).scalar_one()
    assert "row 3" in reason and "truncated" in reason and "could not be read" in reason


def test_jsonl_bad_line_and_non_object_are_quarantined(tmp_path, engine) -> None:
    """Each JSONL line stands alone: a broken line or a bare value is one quarantined row."""
    lines = [json.dumps(o) for o in _objects(GOOD)]
    lines.insert(1, '{"id": "X9", "surname": ')
    lines.append("[1, 2]")
    (tmp_path / "people.jsonl").write_text("\n".join(lines) + "\n")
    report = ingest(engine, load_feeds(_write_feeds(tmp_path, _feed("people", {"type": "jsonl", "path": "people.jsonl"}))))
    people = _by_feed(report)["people"]
    assert (people.rows_in, people.accepted, people.quarantined) == (5, 3, 2)
    with engine.connect() as conn:
        reasons = conn.execute(sa.select(quarantine.c.reason).order_by(quarantine.c.row_number)).scalars().all()
    assert reasons[0].startswith("row 2: line is not JSON") and "not an object" in reasons[1]


def test_csv_ragged_row_is_quarantined_not_misaligned(tmp_path, engine) -> None:
    """A CSV row with an extra field is rejected rather than loaded into the wrong columns."""
    lines = [",".join(HEADER)] + [",".join(r) for r in GOOD]
    lines[2] = lines[2] + ",surplus"
    (tmp_path / "people.csv").write_text("\n".join(lines) + "\n")
    report = ingest(engine, load_feeds(_write_feeds(tmp_path, _feed("people", {"type": "csv", "path": "people.csv"}))))
    assert (_by_feed(report)["people"].accepted, _by_feed(report)["people"].quarantined) == (2, 1)
    with engine.connect() as conn:
        assert conn.execute(sa.select(quarantine.c.reason)).scalar_one() == "row 3: row has 8 fields but the header has 7"


def _workbook(path: Path, sheet: str) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = sheet
    workbook.active.append(HEADER)
    for row in GOOD:
        workbook.active.append(row)
    workbook.save(path)


@pytest.mark.parametrize("problem", ["missing sheet", "not a workbook", "no files", "bad sql"])
def test_unreadable_source_never_stops_other_feeds(tmp_path, engine, problem: str) -> None:
    """An unreadable file is reported with the reason and the other feeds still load."""
    (tmp_path / "good.jsonl").write_text("\n".join(json.dumps(o) for o in _objects(GOOD)) + "\n")
    if problem == "missing sheet":
        _workbook(tmp_path / "bad.xlsx", "Sheet1")
        bad_source, expected = {"type": "excel", "path": "bad.xlsx", "sheet": "Tenancies"}, "no sheet named 'Tenancies'"
    elif problem == "not a workbook":
        (tmp_path / "bad.xlsx").write_text("id,surname\n1,x\n")
        bad_source, expected = {"type": "excel", "path": "bad.xlsx"}, "not a readable Excel workbook"
    elif problem == "no files":
        bad_source, expected = {"type": "csv", "path": "missing/*.csv"}, "no files match"
    else:
        bad_source = {"type": "sql", "url": f"sqlite:///{tmp_path / 'src.db'}", "query": "select * from nowhere"}
        expected = "SQL source"
    feeds = load_feeds(_write_feeds(tmp_path, _feed("broken", bad_source),
                                    _feed("good", {"type": "jsonl", "path": "good.jsonl"})))
    report = _by_feed(ingest(engine, feeds))
    assert report["broken"].status == "unreadable" and expected in report["broken"].error
    assert report["good"].status == "loaded" and report["good"].accepted == 3


def test_excel_and_sql_sources_load(tmp_path, engine) -> None:
    """Excel sheets and SQL query results load like any other source."""
    _workbook(tmp_path / "people.xlsx", "Pupils")
    source_db = tmp_path / "source.db"
    with sqlite3.connect(source_db) as conn:
        conn.execute(f"create table pupils ({', '.join(HEADER)})")
        conn.executemany(f"insert into pupils values ({', '.join('?' * len(HEADER))})", GOOD)
    feeds = load_feeds(_write_feeds(
        tmp_path,
        _feed("from_excel", {"type": "excel", "path": "people.xlsx", "sheet": "Pupils"}),
        _feed("from_sql", {"type": "sql", "url": f"sqlite:///{source_db}", "query": "select * from pupils"}),
    ))
    report = _by_feed(ingest(engine, feeds))
    assert report["from_excel"].accepted == report["from_sql"].accepted == 3
    with engine.connect() as conn:
        kinds = conn.execute(sa.select(facts.c.fields).where(facts.c.feed == "from_sql")).scalars().all()
    assert sorted(k["kind"] for k in kinds) == ["fixed_term", "fixed_term", "permanent"]
    again = _by_feed(ingest(engine, feeds))
    assert again["from_sql"].status == "already loaded"


def test_extract_date_from_a_column_takes_the_latest(tmp_path, engine) -> None:
    """extract_date: {column: …} dates the batch by the latest value in that column."""
    rows = [dict(o, extracted=d) for o, d in zip(_objects(GOOD), ("2024-01-30", "31/01/2024", "2024-01-29"))]
    (tmp_path / "people.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    feed = _feed("people", {"type": "jsonl", "path": "people.jsonl"}) | {"extract_date": {"column": "extracted"}}
    report = _by_feed(ingest(engine, load_feeds(_write_feeds(tmp_path, feed))))
    assert report["people"].extract_date == date(2024, 1, 31)


def test_extract_date_pattern_not_in_path_is_unreadable(tmp_path, engine) -> None:
    """A from_path pattern that the file path does not contain makes that file unreadable, with the reason."""
    (tmp_path / "people.jsonl").write_text("\n".join(json.dumps(o) for o in _objects(GOOD)) + "\n")
    feed = _feed("people", {"type": "jsonl", "path": "people.jsonl"}) | {"extract_date": {"from_path": r"(\d{8})"}}
    report = _by_feed(ingest(engine, load_feeds(_write_feeds(tmp_path, feed))))
    assert report["people"].status == "unreadable" and "does not match this path" in report["people"].error


def test_constant_values_map_and_name_their_field(tmp_path, engine) -> None:
    """`{value: …}` supplies a constant; a bad constant identifier is reported under the field name."""
    (tmp_path / "people.jsonl").write_text("\n".join(json.dumps(o) for o in _objects(GOOD)) + "\n")
    feed = _feed("people", {"type": "jsonl", "path": "people.jsonl"})
    feed["identity"]["nhs_number"] = {"value": "123"}
    feed["facts"][0]["fields"]["kind"] = {"value": "permanent"}
    report = _by_feed(ingest(engine, load_feeds(_write_feeds(tmp_path, feed))))
    assert (report["people"].accepted, report["people"].warnings) == (3, 3)
    with engine.connect() as conn:
        fields = {q for (q,) in conn.execute(sa.select(quarantine.c.field))}
        kinds = {f["kind"] for f in conn.execute(sa.select(facts.c.fields)).scalars()}
    assert fields == {"nhs_number"} and kinds == {"permanent"}


def test_several_columns_join_into_one_name(tmp_path, engine) -> None:
    """A name mapped to several columns is their values joined: forename + middle -> given and middle."""
    rows = [dict(o, middle="Jane") for o in _objects(GOOD[:1])]
    (tmp_path / "people.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    feed = _feed("people", {"type": "jsonl", "path": "people.jsonl"})
    feed["identity"]["given_name"] = ["forename", "middle"]
    ingest(engine, load_feeds(_write_feeds(tmp_path, feed)))
    with engine.connect() as conn:
        row = conn.execute(sa.select(source_records.c.given_name, source_records.c.middle_names)).one()
    assert tuple(row) == ("AMY", "JANE")


def test_csv_with_bom_and_semicolons(tmp_path, engine) -> None:
    """Excel's 'CSV UTF-8' byte-order mark does not stick to the first column; the delimiter is configurable."""
    text = "\n".join([";".join(HEADER)] + [";".join(r) for r in GOOD]) + "\n"
    (tmp_path / "people.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    feed = _feed("people", {"type": "csv", "path": "people.csv", "delimiter": ";"})
    report = _by_feed(ingest(engine, load_feeds(_write_feeds(tmp_path, feed))))
    assert (report["people"].accepted, report["people"].quarantined) == (3, 0)
