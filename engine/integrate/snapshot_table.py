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

import numpy as np

from engine.columns.table import ABSENT, NO_END, FactTable, TypeRows
from engine.integrate.snapshot_plan import DateCache


def fact_table(rows: Sequence[tuple], owners: Mapping[str, tuple[str, str]], families: Sequence[str],
               fields_of) -> FactTable:
    """The fact rows ``rows`` (``_FACTS_BY_KEY``'s columns, the latest version of each fact, in the order a
    family's facts are kept in) of ``families``, whose records ``owners`` maps to (family, person), as a
    table. ``fields_of(text, fact_type, dates)`` reads a row's fields as a Fact holds them."""
    number = {family: i for i, family in enumerate(families)}
    persons: dict[str, int] = {}
    dates = DateCache()
    by_type: dict[str, tuple[list, ...]] = {}
    for fact_id, fact_type, record_key, event_date, end_date, fields, batch_id, feed in rows:
        family, person = owners[record_key]
        lists = by_type.get(fact_type)
        if lists is None:
            lists = by_type[fact_type] = tuple([] for _ in range(9))
        lists[0].append(number[family])
        lists[1].append(persons.setdefault(person, len(persons)))
        lists[2].append(dates[event_date])
        lists[3].append(dates[end_date])
        lists[4].append(fact_id)
        lists[5].append(feed)
        lists[6].append(record_key[len(feed) + 1:])
        lists[7].append(batch_id)
        lists[8].append(fields_of(fields, fact_type, dates))
    types = {}
    for name, (family, person, day, end, ids, feeds, records, batches, values) in by_type.items():
        order = np.argsort(np.array(family, dtype=np.int64), kind="stable")  # (family by family; stable: kept order)
        names = list(dict.fromkeys(chain.from_iterable(values)))
        columns = {key: _objects([mapping.get(key, ABSENT) for mapping in values], order) for key in names}
        gappy = frozenset(key for key in names if any(key not in mapping for mapping in values))
        types[name] = TypeRows(
            name, np.array(family, dtype=np.int64)[order], np.array(person, dtype=np.int64)[order],
            np.fromiter(map(date.toordinal, day), dtype=np.int64, count=len(day))[order],
            np.fromiter((NO_END if e is None else e.toordinal() for e in end), dtype=np.int64, count=len(end))[order],
            _objects(ids, order), _objects(feeds, order), _objects(records, order), _objects(batches, order),
            columns, gappy)
    return FactTable(families, list(persons), types)


def _objects(values: list, order: np.ndarray) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array[order]


__all__ = ["fact_table"]
