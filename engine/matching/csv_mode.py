"""``hearth match``: match any person CSVs without a database.

One file deduplicates; several files link and deduplicate together. Every input record gets one
output row ``source,record_id,person_id``; ``source`` is the file's name without extension.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import ConfigError, DataError
from engine.matching.linker import LinkerSettings, LinkResult, link
from engine.matching.records import IDENTITY_FIELDS, RecordTable


@dataclass(frozen=True)
class CsvSpec:
    """How the columns of the input files map onto identity fields."""

    id_column: str
    fields: dict[str, tuple[str, ...]]  # identity field -> columns (address may join several)
    extra_ids: tuple[str, ...] = ()


def parse_mappings(mappings: list[str], extra_ids: list[str], id_column: str) -> CsvSpec:
    """``["given_name=forename", "address=line1,line2"]`` -> :class:`CsvSpec`, naming every mistake."""
    fields: dict[str, tuple[str, ...]] = {}
    problems = []
    for item in mappings:
        name, sep, columns = item.partition("=")
        name = name.strip()
        parts = tuple(c.strip() for c in columns.split(",") if c.strip())
        if not sep or not parts:
            problems.append(f"--map {item!r} is not FIELD=COLUMN[,COLUMN...]")
        elif name not in IDENTITY_FIELDS:
            problems.append(f"--map {item!r}: unknown field {name!r}; valid fields: {', '.join(IDENTITY_FIELDS)}"
                            " (use --extra-id COLUMN for any other identifier)")
        elif len(parts) > 1 and name != "address":
            problems.append(f"--map {item!r}: only address may join several columns")
        elif name in fields:
            problems.append(f"--map {item!r}: field {name!r} is mapped twice")
        else:
            fields[name] = parts
    if not fields and not extra_ids:
        problems.append("no fields mapped: give at least one --map FIELD=COLUMN (e.g. --map family_name=surname)")
    if problems:
        raise ConfigError("; ".join(problems))
    return CsvSpec(id_column=id_column, fields=fields, extra_ids=tuple(extra_ids))


def source_names(files: list[Path]) -> list[str]:
    """File stems, made unique (``a``, ``a#2``) when two files share a name."""
    names: list[str] = []
    for path in files:
        name, counter = path.stem, 1
        while name in names:
            counter += 1
            name = f"{path.stem}#{counter}"
        names.append(name)
    return names


def read_sources(files: list[Path], spec: CsvSpec) -> tuple[RecordTable, list[tuple[str, str]]]:
    """Read every file into one table; returns it and ``(source, record_id)`` per record."""
    keys: list[str] = []
    origin: list[tuple[str, str]] = []
    columns: dict[str, list[str | None]] = {name: [] for name in spec.fields}
    for extra in spec.extra_ids:
        columns[f"extra:{extra}"] = []
    for path, source in zip(files, source_names(files)):
        _read_one(path, source, spec, keys, origin, columns)
    if len(keys) < 2:
        raise DataError(f"matching needs at least two records; the input files hold {len(keys)}")
    return RecordTable.from_columns(keys, columns), origin


def _read_one(path: Path, source: str, spec: CsvSpec, keys, origin, columns) -> None:
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror})") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{path}: the file is empty (expected a header row)") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text ({exc.reason}); re-save it as UTF-8") from exc
        position = {name.strip(): i for i, name in enumerate(header)}
        needed = [spec.id_column, *(c for cols in spec.fields.values() for c in cols), *spec.extra_ids]
        missing = [c for c in dict.fromkeys(needed) if c not in position]
        if missing:
            raise DataError(
                f"{path}: column(s) {', '.join(repr(c) for c in missing)} not found; "
                f"the header has: {', '.join(repr(h) for h in header)}"
            )
        id_at = position[spec.id_column]
        field_at = {name: [position[c] for c in cols] for name, cols in spec.fields.items()}
        extra_at = {f"extra:{name}": position[name] for name in spec.extra_ids}
        seen: dict[str, int] = {}
        try:
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) < len(header):
                    row = row + [""] * (len(header) - len(row))
                record_id = row[id_at].strip()
                if not record_id:
                    raise DataError(f"{path}:{line}: empty {spec.id_column!r} (every row needs a record id)")
                if record_id in seen:
                    raise DataError(
                        f"{path}:{line}: record id {record_id!r} repeats row {seen[record_id]}; "
                        f"{spec.id_column!r} must identify one row"
                    )
                seen[record_id] = line
                keys.append(f"{source}:{record_id}")
                origin.append((source, record_id))
                for name, indices in field_at.items():
                    value = " ".join(row[i].strip() for i in indices if row[i].strip())
                    columns[name].append(value or None)
                for name, index in extra_at.items():
                    columns[name].append(row[index].strip() or None)
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text ({exc.reason}); re-save it as UTF-8") from exc
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from exc


def person_ids(labels: np.ndarray) -> list[str]:
    """``P000001``... numbered in order of each person's first record."""
    numbers: dict[int, int] = {}
    return [f"P{numbers.setdefault(int(label), len(numbers) + 1):06d}" for label in labels]


def match_files(
    files: list[Path], spec: CsvSpec, out: Path, settings: LinkerSettings = LinkerSettings()
) -> tuple[LinkResult, int]:
    """Match the files and write ``out``; returns the result and the number of persons."""
    table, origin = read_sources(files, spec)
    result = link(table, settings)
    ids = person_ids(result.labels)
    try:
        with open(out, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["source", "record_id", "person_id"])
            writer.writerows((source, record_id, pid) for (source, record_id), pid in zip(origin, ids))
    except OSError as exc:
        raise DataError(f"{out}: cannot write ({exc.strerror})") from exc
    return result, len(set(ids))
