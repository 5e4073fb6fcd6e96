"""A batch's records of one fact type as columns: owner, date and end per record, and each field made a
column when a rule first reads it (:mod:`engine.columns.person` and :mod:`engine.columns.family` read
them for the members' and the families' aggregates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import repeat
from operator import attrgetter

import numpy as np

from engine.columns.table import ABSENT, NO_END, TableRecords
from engine.columns.values import Num, Obj, column, field_type
from engine.rules import ir
from engine.rules.aggregates import field_value, state_end

_FIELDS, _END_DATE = attrgetter("fields"), attrgetter("end_date")
_OPEN_AS_MAX = {None: date.max}
#: the end of a record that has none (an open state, or an event)
FOREVER = date.max.toordinal()


@dataclass
class Facts:
    """One fact type's records of the batch's members, member by member in the evaluator's order."""

    fact_type: ir.FactType
    owner: np.ndarray
    day: np.ndarray
    end: np.ndarray
    facts: list
    fields: dict[str, Num | Obj] = field(default_factory=dict)
    #: each record's fields mapping, taken once for all the fields rules read (None until the first)
    mappings: list | None = None
    plain: bool = False  # (whether every mapping is a dict)


def fact_columns(fact_type: ir.FactType, owner: np.ndarray, facts: list, day: np.ndarray) -> Facts:
    """The records of ``fact_type`` owner by owner's number (``owner``, one per record, ascending), each
    owner's in the evaluator's order (:class:`engine.columns.gather.BatchRecords` gives them so), with their
    dates' ordinals (``day``), as columns."""
    if isinstance(facts, TableRecords):
        return _table_columns(fact_type, owner, facts, day)
    if fact_type.recording == "states":
        ends = list(map(_END_DATE, facts))
        if fact_type.end_field and None in ends:  # (state_end: the end field stands in for a missing end date)
            for i in np.flatnonzero(np.equal(np.array(ends, dtype=object), None)).tolist():
                ends[i] = state_end(facts[i], fact_type)
        # None (still open) is read as date.max, whose ordinal is FOREVER: a dict's get does it at C speed
        end = np.fromiter(map(date.toordinal, map(_OPEN_AS_MAX.get, ends, ends)), dtype=np.int64, count=len(ends))
    else:
        end = np.full(len(facts), FOREVER, dtype=np.int64)
    return Facts(fact_type, owner, day, end, facts)


def _table_columns(fact_type: ir.FactType, owner: np.ndarray, facts: TableRecords, day: np.ndarray) -> Facts:
    """:func:`fact_columns` of records held in a table: their ends read from its arrays."""
    if fact_type.recording != "states":
        return Facts(fact_type, owner, day, np.full(len(facts), FOREVER, dtype=np.int64), facts)
    end = facts.rows.end[facts.positions]
    open_ = np.flatnonzero(end == NO_END)
    if fact_type.end_field and len(open_):  # (state_end: the end field stands in for a missing end date)
        stands_in = facts.rows.fields.get(fact_type.end_field)
        if stands_in is not None:
            for i in open_.tolist():
                value = stands_in[facts.positions[i]]
                if isinstance(value, date):
                    end[i] = value.toordinal()
    end[end == NO_END] = FOREVER
    return Facts(fact_type, owner, day, end, facts)


def field_column(columns: Facts, name: str) -> Num | Obj:
    """A field of every record, made a column on first use (a date or end field falls back as the
    evaluator's ``field_value`` does)."""
    found = columns.fields.get(name)
    if found is None and isinstance(columns.facts, TableRecords):
        found = columns.fields[name] = _table_field(columns, name)
    if found is None:
        facts, fact_type = columns.facts, columns.fact_type
        mappings = columns.mappings
        if mappings is None:
            mappings = columns.mappings = list(map(_FIELDS, facts))
            columns.plain = set(map(type, mappings)) <= {dict}
        # (dict.get over a list of dicts runs at C speed; another mapping type is asked its own get)
        values = list(map(dict.get, mappings, repeat(name))) if columns.plain else [m.get(name) for m in mappings]
        if name in (fact_type.date_field, fact_type.end_field) and None in values:  # (they fall back)
            values = [field_value(f, name, fact_type) if v is None else v for f, v in zip(facts, values)]
        found = columns.fields[name] = column(values, field_type(fact_type, name))
    return found


def _table_field(columns: Facts, name: str) -> Num | Obj:
    """:func:`field_column` of records held in a table: the field's array taken at their rows."""
    facts, fact_type = columns.facts, columns.fact_type
    array = facts.rows.fields.get(name)
    if array is None:
        values = [None] * len(facts)
    else:
        values = array[facts.positions].tolist()
        if name in facts.rows.gappy:
            values = [None if v is ABSENT else v for v in values]
    if name in (fact_type.date_field, fact_type.end_field) and None in values:  # (they fall back)
        values = [field_value(facts[i], name, fact_type) if v is None else v for i, v in enumerate(values)]
    return column(values, field_type(fact_type, name))


__all__ = ["FOREVER", "Facts", "fact_columns", "field_column"]
