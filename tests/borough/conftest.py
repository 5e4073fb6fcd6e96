"""A small generated borough shared by the borough tests (generated once per session)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from workflows.cli.borough import load_generator

SEED = 20240
RESIDENTS = 1500
MONTHS = 4
#: imported at collection so test modules can ``import borough.generator`` (examples/ joins sys.path)
GENERATOR = load_generator()


@pytest.fixture(scope="session")
def generator():
    return GENERATOR


@pytest.fixture(scope="session")
def borough(tmp_path_factory, generator) -> Path:
    out = tmp_path_factory.mktemp("borough") / "hearthwick"
    generator.generate(out, residents=RESIDENTS, seed=SEED, months=MONTHS)
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_feed_file(path: Path) -> list[dict[str, str | None]]:
    """Rows of one extract file as dicts, whatever its format."""
    if path.suffix == ".csv":
        return read_csv(path)
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True)["Contacts"]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def feed_rows(borough: Path, file_name: str) -> list[dict[str, str | None]]:
    """All rows of a feed across extracts, each with its extract date under ``_extract``."""
    rows = []
    for path in sorted(borough.glob(f"extracts/*/{file_name}")):
        for row in read_feed_file(path):
            row["_extract"] = path.parent.name
            rows.append(row)
    return rows
