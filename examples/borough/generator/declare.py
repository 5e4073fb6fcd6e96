"""feeds.yaml and one JSON Schema per feed, in the format architecture.md defines for ``hearth ingest``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import yaml

from .facts import CATALOGUE, DATE_FIELDS
from .feed_specs import FEEDS, FeedSpec

EXTRACT_DATE_PATTERN = r"(\d{4}-\d{2}-\d{2})"
_SOURCE_TYPES = {"csv": "csv", "jsonl": "jsonl", "excel": "excel"}
#: Who each system can hold, by age on the extract date, as its owners would declare it: council tax
#: bills adults, the electoral register adds 16- and 17-year-old attainers, schools teach 2- to
#: 19-year-olds, children's social care works with under-18s, NEET tracking follows 16- to 24-year-olds.
POPULATIONS: dict[str, dict[str, int]] = {
    "council_tax": {"min_age": 18},
    "electoral_roll": {"min_age": 16},
    "employment": {"min_age": 16},
    "dwp_benefits": {"min_age": 16},
    "school_attendance": {"min_age": 2, "max_age": 19},
    "school_exclusions": {"min_age": 2, "max_age": 19},
    "childrens_social_care": {"max_age": 17},
    "youth_neet": {"min_age": 16, "max_age": 24},
}


def _identity(spec: FeedSpec) -> dict[str, object]:
    identity: dict[str, object] = {}
    lines = [spec.identity[k] for k in ("address_1", "address_2") if k in spec.identity]
    for field, column in spec.identity.items():
        if field == "full_name":
            identity[field] = {"column": column, "format": "SURNAME, Forename"}
        elif field == "date_of_birth":
            identity[field] = {"column": column, "format": spec.dob_format}
        elif field in ("address_1", "address_2"):
            identity["address"] = lines
        else:
            identity[field] = column
    return identity


def _facts(spec: FeedSpec) -> list[dict[str, object]]:
    if spec.fact_type is None:
        return []
    fields: dict[str, object] = {}
    for field in CATALOGUE[spec.fact_type]:
        column = spec.fact_columns[field]
        fields[field] = {"column": column, "format": spec.date_format} if field in DATE_FIELDS else column
    dated_by = "term_end" if spec.fact_type == "attendance" else CATALOGUE[spec.fact_type][0]
    fact_id = [spec.fact_id] if spec.fact_id else [spec.record_id, spec.fact_columns[dated_by]]
    return [{"type": spec.fact_type, "id": fact_id, "fields": fields}]


def feed_declaration(spec: FeedSpec, coverage_from: date) -> dict[str, object]:
    """One ``feeds:`` entry."""
    source: dict[str, object] = {"type": _SOURCE_TYPES[spec.file_format], "path": f"extracts/*/{spec.file_name}"}
    if spec.file_format == "excel":
        source["sheet"] = "Contacts"
    else:
        source["encoding"] = "utf-8"
    entry: dict[str, object] = {
        "name": spec.name,
        "system": spec.system,
        "source": source,
        "extract_date": {"from_path": EXTRACT_DATE_PATTERN},
        "schema": f"schemas/{spec.name}.json",
        "record_id": spec.record_id,
        "identity": _identity(spec),
        "facts": _facts(spec),
    }
    if spec.household_column:
        entry["relationships"] = [{"kind": "household", "column": spec.household_column}]
    if spec.fact_type is not None:
        entry["coverage"] = {"from": coverage_from.isoformat()}
    if spec.name in POPULATIONS:
        entry["population"] = dict(POPULATIONS[spec.name])
    return entry


def row_schema(spec: FeedSpec) -> dict[str, object]:
    """JSON Schema for one raw row as read (strings; JSON Lines may carry null for a missing value).

    ``required`` lists only what the system always fills (ids and the fact's own fields except an open
    end date): identifiers and dates of birth are often blank and must not cost the row.
    """
    properties: dict[str, object] = {column: {"type": ["string", "null"]} for column in spec.columns()}
    properties[spec.record_id] = {"type": "string", "minLength": 1}
    required = [spec.record_id] + ([spec.fact_id] if spec.fact_id else [])
    required += [column for field, column in spec.fact_columns.items() if field != "end_date"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{spec.system}: one row of {spec.file_name}",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def write_declarations(out: Path, coverage_from: date) -> Path:
    """Write ``feeds.yaml`` and ``schemas/*.json`` under ``out``; returns the YAML path."""
    schemas = out / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    for spec in FEEDS:
        (schemas / f"{spec.name}.json").write_text(json.dumps(row_schema(spec), indent=2) + "\n", encoding="utf-8")
    document = {"feeds": [feed_declaration(spec, coverage_from) for spec in FEEDS]}
    header = ("# Source feeds of the synthetic borough of Hearthwick (generated; all data is synthetic).\n"
              "# Load with: hearth ingest <this file>\n")
    path = out / "feeds.yaml"
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120),
                    encoding="utf-8")
    return path
