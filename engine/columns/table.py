"""Facts held as columns: a borough's (or a batch's) records, one array per attribute and per field, fact
type by fact type, with a record made into a :class:`~engine.rules.inputs.Fact` only when something reads
it one by one.

The column-wise evaluation (:mod:`engine.columns`) reads whole columns: given families whose facts are
:class:`TableFacts` views of one :class:`FactTable`, :class:`engine.columns.gather.BatchRecords` takes each
fact type's records for the batch with NumPy, and their dates, ends and fields straight from the table's
arrays, without a pass over per-record objects. A family evaluated one by one (an unknown the columns
leave to the evaluator, an explanation) iterates its view, which makes its facts then, once: the table
keeps each made record, so the evaluator and the columns cite the same object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any

import numpy as np

from engine.rules.inputs import Fact, FamilyInput

#: an end (``end``) for a record with none: an event, or a state still open
NO_END = -1
#: a record's person code for a fact of the family's own
FAMILY_OWN = -1


class _Absent:
    """A field a record does not have (where another record of its type has it): not a value."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:  # one instance, also across pickling
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


@dataclass(eq=False)
class TypeRows:
    """One fact type's records, family by family (``family`` ascending), as parallel arrays."""

    name: str
    family: np.ndarray          # int64: the table's family number
    person: np.ndarray          # int64: the table's person number, FAMILY_OWN for the family's own
    day: np.ndarray             # int64: the record's date as an ordinal
    end: np.ndarray             # int64: its end date's ordinal, NO_END when it has none
    fact_id: np.ndarray         # object: str
    source: np.ndarray          # object: str
    source_record_id: np.ndarray
    batch_id: np.ndarray
    #: field name -> object array of values as a Fact's ``fields`` holds them (ABSENT where a record lacks it)
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    #: fields some record lacks
    gappy: frozenset[str] = frozenset()
    #: object: each record's ``family_id`` attribute (None for all when not given)
    family_id: np.ndarray | None = None
    starts: np.ndarray = field(init=False)
    made: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.made = np.full(len(self.day), None, dtype=object)

    def __len__(self) -> int:
        return len(self.day)


class FactTable:
    """Records of ``families`` (ids, numbered by position) held by ``persons`` (ids, numbered by position),
    as :class:`TypeRows` per fact type. :meth:`views` gives each family's facts as a :class:`TableFacts`."""

    def __init__(self, families: Sequence[str], persons: Sequence[str], types: Mapping[str, TypeRows]) -> None:
        self.families = list(families)
        self.persons = list(persons)
        self.types = dict(types)
        self.person_number = {person: i for i, person in enumerate(self.persons)}
        self._person_ids = object_array([*self.persons, None])  # (the last: a fact of the family's own)
        self._dates: dict[int, date] = {}
        for rows in self.types.values():
            if len(rows) and np.any(rows.family[1:] < rows.family[:-1]):
                raise ValueError(f"records of {rows.name} must be in family order")
            rows.starts = np.searchsorted(rows.family, np.arange(len(self.families) + 1))

    def views(self) -> list[TableFacts]:
        return [TableFacts(self, f) for f in range(len(self.families))]

    def day(self, ordinal: int) -> date:
        found = self._dates.get(ordinal)
        if found is None:
            found = self._dates[ordinal] = date.fromordinal(ordinal)
        return found

    def fact(self, rows: TypeRows, row: int) -> Fact:
        """Record ``row`` of ``rows`` as a Fact: made once, so every reader holds the same object."""
        made = rows.made[row]
        if made is None:
            values = {name: column[row] for name, column in rows.fields.items()}
            if rows.gappy:
                values = {name: value for name, value in values.items() if value is not ABSENT}
            person, end = int(rows.person[row]), int(rows.end[row])
            made = rows.made[row] = Fact(
                rows.fact_id[row], rows.name, self.day(int(rows.day[row])), values,
                None if person == FAMILY_OWN else self.persons[person],
                None if rows.family_id is None else rows.family_id[row], rows.source[row],
                rows.source_record_id[row], rows.batch_id[row], None if end == NO_END else self.day(end))
        return made

    def facts(self, rows: TypeRows, positions: np.ndarray) -> TableRecords:
        return TableRecords(self, rows, positions)

    def contents(self, rows: TypeRows, positions: np.ndarray) -> dict[str, Any]:
        """Records ``positions`` of ``rows`` as a list per attribute of a Fact, without making them Facts: what
        a stored batch keeps of the records it cites. Dates are day numbers (``day``, ``end_day``: NO_END
        where a record has no end date), ``fields`` an object array per field (ABSENT where a record lacks
        it), ``gappy`` the fields some record lacks."""
        person = rows.person[positions]
        return {
            "fact_id": rows.fact_id[positions].tolist(),
            "fact_type": [rows.name] * len(positions),
            "day": rows.day[positions].tolist(),
            "fields": {name: column[positions] for name, column in rows.fields.items()},
            "gappy": rows.gappy,
            "person_id": self._person_ids[np.where(person == FAMILY_OWN, len(self.persons), person)].tolist(),
            "family_id": [None] * len(positions) if rows.family_id is None else rows.family_id[positions].tolist(),
            "source": rows.source[positions].tolist(),
            "source_record_id": rows.source_record_id[positions].tolist(),
            "batch_id": rows.batch_id[positions].tolist(),
            "end_day": rows.end[positions].tolist(),
        }

    @classmethod
    def of_families(cls, families: Sequence[FamilyInput]) -> tuple[FactTable, list[FamilyInput]]:
        """The facts of ``families`` as a table, and the families again with their facts as its views (equal
        records, in the order facts are kept in)."""
        persons: dict[str, int] = {}
        by_type: dict[str, list[tuple[int, Fact]]] = {}
        for f, family in enumerate(families):
            for fact in family.facts:
                by_type.setdefault(fact.fact_type, []).append((f, fact))
                if fact.person_id is not None:
                    persons.setdefault(fact.person_id, len(persons))
        types = {}
        for name, found in by_type.items():
            facts = [fact for _, fact in found]
            names = list(dict.fromkeys(key for fact in facts for key in fact.fields))
            gappy = frozenset(key for key in names if any(key not in fact.fields for fact in facts))
            types[name] = TypeRows(
                name, np.array([f for f, _ in found], dtype=np.int64),
                np.array([FAMILY_OWN if x.person_id is None else persons[x.person_id] for x in facts], dtype=np.int64),
                np.array([x.date.toordinal() for x in facts], dtype=np.int64),
                np.array([NO_END if x.end_date is None else x.end_date.toordinal() for x in facts], dtype=np.int64),
                object_array([x.fact_id for x in facts]), object_array([x.source for x in facts]),
                object_array([x.source_record_id for x in facts]), object_array([x.batch_id for x in facts]),
                {key: object_array([x.fields.get(key, ABSENT) for x in facts]) for key in names}, gappy,
                object_array([x.family_id for x in facts]) if any(x.family_id is not None for x in facts) else None)
        table = cls([family.family_id for family in families], list(persons), types)
        viewed = [FamilyInput(family.family_id, family.members, view, family.case, family.coverage)
                  for family, view in zip(families, table.views())]
        return table, viewed


def object_array(values: Sequence[Any]) -> np.ndarray:
    """``values`` as a NumPy array of Python objects (never converted to a NumPy type)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


class TableRecords(Sequence[Fact]):
    """Records ``positions`` of one fact type's rows, read as a list of Facts (each made on first read)."""

    __slots__ = ("table", "rows", "positions")

    def __init__(self, table: FactTable, rows: TypeRows, positions: np.ndarray) -> None:
        self.table, self.rows, self.positions = table, rows, positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> Fact:  # type: ignore[override]
        return self.table.fact(self.rows, int(self.positions[i]))

    def __iter__(self) -> Iterator[Fact]:
        table, rows = self.table, self.rows
        return (table.fact(rows, r) for r in self.positions.tolist())


#: the order a family's facts are kept in: date, fact type, fact id (as :mod:`engine.integrate.snapshot` loads them)
_KEPT_ORDER = attrgetter("date", "fact_type", "fact_id")


class TableFacts(Sequence[Fact]):
    """One family's facts in a :class:`FactTable`, in the order they are kept in (date, fact type, fact id),
    made into Facts when first read one by one; :mod:`engine.columns.gather` reads the table itself."""

    __slots__ = ("table", "family", "_made")

    def __init__(self, table: FactTable, family: int) -> None:
        self.table, self.family = table, family
        self._made: tuple[Fact, ...] | None = None

    def _facts(self) -> tuple[Fact, ...]:
        if self._made is None:  # (in the order the snapshot loader keeps a family's facts in)
            table, f = self.table, self.family
            self._made = tuple(sorted((table.fact(rows, r) for rows in table.types.values()
                                       for r in range(int(rows.starts[f]), int(rows.starts[f + 1]))), key=_KEPT_ORDER))
        return self._made

    def __len__(self) -> int:
        if self._made is not None:
            return len(self._made)
        f = self.family
        return sum(int(rows.starts[f + 1] - rows.starts[f]) for rows in self.table.types.values())

    def __getitem__(self, i):
        return self._facts()[i]

    def __iter__(self) -> Iterator[Fact]:
        return iter(self._facts())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (TableFacts, tuple)):
            return self._facts() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TableFacts({self.table.families[self.family]!r}, {len(self)} facts)"


__all__ = ["ABSENT", "FAMILY_OWN", "NO_END", "FactTable", "TableFacts", "TableRecords", "TypeRows", "object_array"]
