"""A batch's records of one fact type as columns: owner, date and end per record, and each field made a
column when a rule first reads it (:mod:`engine.columns.person` and :mod:`engine.columns.family` read
them for the members' and the families' aggregates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from engine.columns.values import Num, Obj, column, field_type
from engine.rules import ir
from engine.rules.aggregates import field_value, state_end

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


def fact_columns(fact_type: ir.FactType, owner: np.ndarray, facts: list, day: np.ndarray) -> Facts:
    """The records of ``fact_type`` owner by owner's number (``owner``, one per record, ascending), each
    owner's in the evaluator's order (:class:`engine.columns.gather.BatchRecords` gives them so), with their
    dates' ordinals (``day``), as columns."""
    if fact_type.recording == "states":
        ends = (state_end(f, fact_type) for f in facts)
        end = np.fromiter((FOREVER if e is None else e.toordinal() for e in ends), dtype=np.int64, count=len(facts))
    else:
        end = np.full(len(facts), FOREVER, dtype=np.int64)
    return Facts(fact_type, owner, day, end, facts)


def field_column(columns: Facts, name: str) -> Num | Obj:
    """A field of every record, made a column on first use (a date or end field falls back as the
    evaluator's ``field_value`` does)."""
    found = columns.fields.get(name)
    if found is None:
        facts, fact_type = columns.facts, columns.fact_type
        values = [f.fields.get(name) for f in facts]
        if name in (fact_type.date_field, fact_type.end_field) and None in values:  # (they fall back)
            values = [field_value(f, name, fact_type) if v is None else v for f, v in zip(facts, values)]
        found = columns.fields[name] = column(values, field_type(fact_type, name))
    return found


__all__ = ["FOREVER", "Facts", "fact_columns", "field_column"]
