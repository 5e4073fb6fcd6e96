"""Columnar person records: the matcher's in-memory input.

Every field is a NumPy object array of standardised strings (``None`` = null). Integer codes per
column (``-1`` for null) are built once and cached, so exact comparisons, blocking and term
frequencies work on integers instead of strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from engine.matching import standardise as std

#: the canonical identity fields a record may carry (architecture.md, source_records)
IDENTITY_FIELDS = (
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "sex",
    "address",
    "postcode",
    "uprn",
    "nhs_number",
    "upn",
    "ni_number",
)

_CLEANERS = {
    "given_name": std.clean_name,
    "middle_names": std.clean_name,
    "family_name": std.clean_name,
    "date_of_birth": std.clean_date,
    "sex": std.clean_sex,
    "address": std.clean_text,
    "postcode": std.clean_postcode,
    "uprn": std.clean_identifier,
    "nhs_number": lambda v: (lambda s: s if std.nhs_number_is_valid(s) else None)(std.clean_identifier(v)),
    "upn": std.clean_identifier,
    "ni_number": std.clean_identifier,
    # the birth dates a record's feed allows (engine.matching.population)
    "born_after": std.clean_date,
    "born_by": std.clean_date,
    # "<source> <first extract date>", compared only for equality (engine.matching.namesakes)
    "first_extract": lambda v: None if v is None else str(v),
}


def standardise_field(name: str, value: object) -> str | None:
    """Standardise one value of a canonical field (extra identifiers are cleaned as identifiers)."""
    cleaner = _CLEANERS.get(name, std.clean_identifier)
    return cleaner(value)


@dataclass
class RecordTable:
    """Records to match: ``keys[i]`` is record i's ``"<source>:<record_id>"``."""

    keys: list[str]
    columns: dict[str, np.ndarray]
    _codes: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, object]], *, key: str = "record_key", standardise: bool = True
    ) -> RecordTable:
        """Build from dict rows; fields other than ``key`` become columns (``extra_ids`` is expanded)."""
        keys: list[str] = []
        values: dict[str, list[object]] = {}
        for index, row in enumerate(rows):
            keys.append(str(row[key]))
            for name, value in _flatten(row, key).items():
                column = values.get(name)
                if column is None:  # a column first seen at row ``index``: earlier rows lack it
                    column = values[name] = [None] * index
                column.append(standardise_field(name, value) if standardise else value)
            for column in values.values():
                if len(column) < len(keys):
                    column.append(None)
        columns = {name: _object_array(column) for name, column in values.items()}
        return cls(keys=keys, columns=columns)

    @classmethod
    def from_columns(cls, keys: list[str], columns: Mapping[str, list[object]]) -> RecordTable:
        """Build from raw columns, standardising each distinct value once (fast for 1M rows)."""
        cleaned = {}
        for name, raw in columns.items():
            try:
                distinct: dict[object, str | None] = dict.fromkeys(raw)
            except TypeError:  # an unhashable value (a list in extra_ids' JSON)
                distinct = {}
            if not distinct or len({type(v) for v in distinct} - {type(None)}) > 1:
                # unhashable or mixed types (1 and 1.0 are one key but clean differently): value by value
                cleaned[name] = _object_array([standardise_field(name, value) for value in raw])
                continue
            for value in distinct:
                distinct[value] = standardise_field(name, value)
            cleaned[name] = _object_array(list(map(distinct.__getitem__, raw)))
        return cls(keys=list(keys), columns=cleaned)

    def has(self, column: str) -> bool:
        """Whether the column exists with at least one non-null value."""
        return column in self.columns and self.codes(column)[1] != []

    def values(self, column: str) -> np.ndarray:
        if column not in self.columns:
            self.columns[column] = np.full(len(self), None, dtype=object)
        return self.columns[column]

    def codes(self, column: str) -> tuple[np.ndarray, list[str]]:
        """``(codes, vocabulary)``: codes[i] indexes vocabulary, -1 where the value is null."""
        cached = self._codes.get(column)
        if cached is None:
            cached = factorize(self.values(column))
            self._codes[column] = cached
        return cached

    def derived(self, name: str, column: str, transform) -> np.ndarray:
        """A cached derived column (postcode sector, birth year, phonetic key) built per distinct value."""
        if name not in self.columns:
            codes, vocabulary = self.codes(column)
            mapped = _object_array([transform(v) for v in vocabulary] + [None])
            self.columns[name] = mapped[codes]  # code -1 picks the trailing None
        return self.columns[name]

    def cached(self, name: str, build) -> np.ndarray:
        """A per-record array computed once by ``build(self)`` (e.g. the dates a record's age range allows)."""
        cached = self._codes.get(name)
        if cached is None:
            cached = (build(self), [])
            self._codes[name] = cached
        return cached[0]

    def first_letters(self, column: str) -> np.ndarray:
        """Per record, the code point of the value's first character (0 for null)."""
        def build(table: RecordTable) -> np.ndarray:
            codes, vocabulary = table.codes(column)
            letters = np.array([ord(v[0]) if v else 0 for v in vocabulary] + [0], dtype=np.int64)
            return letters[codes]  # code -1 picks the trailing 0

        return self.cached(f"{column}#first_letter", build)

    def date_chars(self, column: str) -> np.ndarray:
        """Per record, an ISO date as 10 ASCII bytes (zeros for null), built per distinct value."""
        def build(table: RecordTable) -> np.ndarray:
            codes, vocabulary = table.codes(column)
            chars = np.zeros((len(vocabulary) + 1, 10), dtype=np.uint8)
            if vocabulary:
                encoded = np.array([v.encode("ascii", "replace")[:10].ljust(10) for v in vocabulary], dtype="S10")
                chars[:-1] = encoded.view(np.uint8).reshape(len(vocabulary), 10)
            return chars[codes]  # code -1 picks the zero row

        return self.cached(f"{column}#chars", build)


def factorize(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes for an object array, ``-1`` for ``None``; vocabulary in first-seen order.

    ``dict.fromkeys`` and ``map`` keep the per-value work in C, which matters at 1M records.

    >>> factorize(np.array(["B", None, "A", "B"], dtype=object))
    (array([ 0, -1,  1,  0]), ['B', 'A'])
    """
    lookup: dict[object, int] = dict.fromkeys(values)  # type: ignore[arg-type]
    lookup.pop(None, None)
    vocabulary = list(lookup)
    for index, value in enumerate(vocabulary):
        lookup[value] = index
    lookup[None] = -1
    codes = np.fromiter(map(lookup.__getitem__, values), dtype=np.int64, count=len(values))
    return codes, vocabulary


def _object_array(items: list[object]) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _flatten(row: Mapping[str, object], key: str) -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in row.items():
        if name == key or name in {"batch_id", "source", "record_id"}:
            continue
        if name == "extra_ids":
            extra = parse_extra(value)
            for id_name, id_value in extra.items():
                flat[f"extra:{id_name}"] = id_value
            continue
        flat[name] = value
    return flat


def parse_extra(value: object) -> dict[str, object]:
    import json

    if not value:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, Mapping) else {}
