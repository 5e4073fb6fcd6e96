"""A batch's facts as a fact table (:mod:`engine.columns.table`), straight from the database's rows.

The profile's workers load a batch of families at a time (:func:`engine.integrate.snapshot.load_batch`).
Rather than one Fact object per record, the batch's records go into one array per attribute and per
field, fact type by fact type: the column-wise evaluation reads those arrays, and a record becomes a
Fact only when a family is evaluated one by one (an unknown the columns leave to the evaluator).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from itertools import chain
from typing import Any

import numpy as np
import orjson

from engine.columns.table import ABSENT, NO_END, FactTable, TypeRows, object_array
from engine.integrate.catalogue import FACT_TYPES
from engine.integrate.snapshot_plan import DateCache


_DATE_FIELDS = {name: tuple(f for f, spec in t.fields.items() if spec.kind == "date") for name, t in FACT_TYPES.items()}


def fields_of(fields: str | Mapping[str, Any], fact_type: str, dates: DateCache) -> dict[str, Any]:
    """A fact row's fields as a Fact holds them: JSON text (SQLite) decoded, date fields made dates."""
    values = orjson.loads(fields) if isinstance(fields, str) else dict(fields)
    for name in _DATE_FIELDS.get(fact_type, ()):
        value = values.get(name)
        if isinstance(value, str):
            values[name] = dates[value]
    return values


def fact_table(rows: Sequence[tuple], owners: Mapping[str, tuple[str, str]], families: Sequence[str]) -> FactTable:
    """The fact rows ``rows`` (``_FACTS_BY_KEY``'s columns, the latest version of each fact, in any order) of
    ``families``, whose records ``owners`` maps to (family, person), as a table."""
    by_type: dict[str, list[tuple]] = {}
    for row in rows:  # (the one pass in Python per row; the rest is done type by type with map and zip)
        found = by_type.get(row[1])
        if found is None:
            found = by_type[row[1]] = []
        found.append(row)
    number = {family: i for i, family in enumerate(families)}
    owned = {key: (number[family], person) for key, (family, person) in owners.items()}
    persons = {person: i for i, person in enumerate(dict.fromkeys(person for _, person in owners.values()))}
    dates = DateCache()
    types = {}
    for name, found in by_type.items():
        ids, _, keys, days, ends, texts, batches, feeds = zip(*found)
        family, person = zip(*map(owned.__getitem__, keys))
        order = np.argsort(np.array(family, dtype=np.int64), kind="stable")  # (family by family)
        values, which = _distinct_fields(texts, name, dates)
        which = which[order]
        names = list(dict.fromkeys(chain.from_iterable(values)))
        columns = {key: object_array([mapping.get(key, ABSENT) for mapping in values])[which] for key in names}
        gappy = frozenset(key for key in names if any(key not in mapping for mapping in values))
        types[name] = TypeRows(
            name, np.array(family, dtype=np.int64)[order],
            np.fromiter(map(persons.__getitem__, person), dtype=np.int64, count=len(person))[order],
            np.fromiter(map(date.toordinal, map(dates.__getitem__, days)), dtype=np.int64, count=len(days))[order],
            np.fromiter((NO_END if e is None else e.toordinal() for e in map(dates.__getitem__, ends)),
                        dtype=np.int64, count=len(ends))[order],
            _objects(ids, order), _objects(_one_each(feeds), order),
            _objects([key[len(feed) + 1:] for key, feed in zip(keys, feeds)], order),
            _objects(_one_each(batches), order),
            columns, gappy)
    return FactTable(families, list(persons), types)


def _distinct_fields(texts: Sequence[Any], fact_type: str, dates: DateCache) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Each distinct fields text decoded once (in order of first appearance), and each row's number among
    them. Feeds repeat their fields' texts: at 100k residents the profile's batches hold 288,000 distinct
    texts among 543,000 fact rows (the whole borough 144,000; attendance 12,000 of 298,000). PostgreSQL
    hands mappings already decoded, which are copied row by row."""
    if not texts or not isinstance(texts[0], str):
        return [fields_of(text, fact_type, dates) for text in texts], np.arange(len(texts))
    number: dict[str, int] = {}
    which = np.fromiter((number.setdefault(text, len(number)) for text in texts), dtype=np.int64, count=len(texts))
    return [fields_of(text, fact_type, dates) for text in number], which


def _one_each(values: Sequence[str]) -> list[str]:
    """``values`` with one object per distinct text: the driver makes one per row, and a batch's rows share
    a few feeds and load batches."""
    seen: dict[str, str] = {}
    return list(map(seen.setdefault, values, values))


def _objects(values: Sequence, order: np.ndarray) -> np.ndarray:
    return object_array(values)[order]


__all__ = ["fact_table", "fields_of"]
