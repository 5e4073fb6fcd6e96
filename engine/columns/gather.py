"""A batch's records indexed for the columns in one pass over every family's facts, in the evaluator's order.

The per-family evaluator indexes its family's facts by (member, fact type) and by fact type for the
family, each list in :func:`~engine.rules.aggregates.facts_in_order` (date, then fact id; the whole
:func:`~engine.rules.aggregates.fact_order` key for a family holding two facts with the same date and id),
leaving out the facts of people who are not current members. The columns need the same lists for every
member and every family of a batch, one fact type at a time: :class:`BatchRecords` sorts the batch's facts
once with NumPy into exactly those lists, so a family the columns decide in full never builds an index of
its own (``Evaluation._facts`` is made when the evaluator first reads a fact). When the families' facts are
views of one fact table (:mod:`engine.columns.table`), each fact type's records are taken from its arrays
and no Fact object is read at all.
"""

from __future__ import annotations

from datetime import date
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.columns.table import FAMILY_OWN, FactTable, TableFacts, TypeRows
from engine.rules.aggregates import fact_order

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation
    from engine.rules.inputs import Fact

_PERSON, _TYPE, _DATE = attrgetter("person_id"), attrgetter("fact_type"), attrgetter("date")
#: a fact of the family's own (no person): family scope only; and one of somebody who is not a current member
_FAMILY_OWN, _NOT_MEMBER = -1, -2


class BatchRecords:
    """The facts of a batch's families (``evaluations``, each with its members' row numbers in
    ``ev.seeds[1]``), ready to be taken fact type by fact type: :meth:`person` gives every current
    member's records member by member, :meth:`family` every family's (its current members' and its own)
    family by family, each in the evaluator's order."""

    def __init__(self, evaluations: list[Evaluation]) -> None:
        self.table: FactTable | None = None
        table = _shared_table(evaluations)
        if table is not None and self._from_table(table, evaluations):
            return
        facts: list[Fact] = []
        counts: list[int] = []
        for ev in evaluations:
            facts.extend(ev.family.facts)
            counts.append(len(ev.family.facts))
        self.facts = facts
        family = np.repeat(np.arange(len(evaluations), dtype=np.int64), counts)
        persons = list(map(_PERSON, facts))
        owners: list[int] = []
        start = 0
        for ev, count in zip(evaluations, counts):
            number = {None: _FAMILY_OWN, **ev.seeds[1]}.get
            owners += map(number, persons[start:start + count], repeat(_NOT_MEMBER, count))
            start += count
        owner = np.array(owners, dtype=np.int64)
        names = list(map(_TYPE, facts))
        codes = {name: code for code, name in enumerate(dict.fromkeys(names))}
        types = np.fromiter(map(codes.__getitem__, names), dtype=np.int64, count=len(names))
        self.day = np.fromiter(map(date.toordinal, map(_DATE, facts)), dtype=np.int64, count=len(facts))
        order = self._in_evaluator_order(family, counts)
        # Each scope's records, fact type by fact type, owner by owner, each owner's in the evaluator's order:
        # one stable sort of the evaluator's order by (type, owner).
        self._person = self._by_type(order[owner[order] >= 0], types, owner, codes)
        self._family = self._by_type(order[owner[order] != _NOT_MEMBER], types, family, codes)

    def _in_evaluator_order(self, family: np.ndarray, counts: list[int]) -> np.ndarray:
        """Every fact's position, family by family, each family's in :func:`facts_in_order`."""
        # (np.lexsort((day, family)) as one stable sort of an int64 key: ordinals stay below 2**22)
        order = np.argsort((family << 22) | self.day, kind="stable")
        # Facts of a family on the same day go by fact id: only those runs compare their ids (strings).
        tied = (family[order[1:]] == family[order[:-1]]) & (self.day[order[1:]] == self.day[order[:-1]])
        run = np.concatenate(([0], np.cumsum(~tied)))
        shared = np.flatnonzero(np.bincount(run)[run] > 1)
        if not len(shared):
            return order
        facts, positions = self.facts, order[shared]
        ids = np.array([facts[i].fact_id for i in positions.tolist()])
        by_id = np.lexsort((ids, run[shared]))  # (each run keeps its place: runs are numbered in order)
        order[shared] = positions[by_id]
        ids, runs = ids[by_id], run[shared][by_id]
        same = (ids[1:] == ids[:-1]) & (runs[1:] == runs[:-1])
        if same.any():  # two facts of a family share date and id: that family sorts on the whole key
            starts = np.concatenate(([0], np.cumsum(counts)))
            for f in np.unique(family[order[shared[1:][same]]]).tolist():
                first, last = int(starts[f]), int(starts[f + 1])
                ranked = sorted(range(first, last), key=lambda i: fact_order(facts[i]))
                order[first:last] = ranked  # (a family's facts are consecutive in both orders)
        return order

    def _from_table(self, table: FactTable, evaluations: list[Evaluation]) -> bool:
        """Each fact type's records of the batch taken from ``table`` (whose views are the families' facts)
        with NumPy; False where a person is a member of two of the batch's families (the objects' way)."""
        numbers = np.array([ev.family.facts.family for ev in evaluations], dtype=np.int64)
        ids = [person for ev in evaluations for person in ev.seeds[1]]
        member_rows = np.fromiter((row for ev in evaluations for row in ev.seeds[1].values()), dtype=np.int64,
                                  count=len(ids))
        family_of_row = np.zeros(len(ids), dtype=np.int64)
        family_of_row[member_rows] = np.repeat(np.arange(len(evaluations), dtype=np.int64),
                                        [len(ev.seeds[1]) for ev in evaluations])
        missing = len(table.persons)  # (a member with no records; the last entry below)
        known = np.fromiter(map(table.person_number.get, ids, repeat(missing, len(ids))), dtype=np.int64,
                            count=len(ids))
        held = known != missing
        if len(np.unique(known[held])) < int(held.sum()):
            return False
        row_of_person = np.full(len(table.persons) + 1, _NOT_MEMBER, dtype=np.int64)
        row_of_person[known[held]] = member_rows[held]
        self.table, self._person, self._family = table, {}, {}
        for name, rows in table.types.items():
            first, last = rows.starts[numbers], rows.starts[numbers + 1]
            counts = last - first
            if not counts.any():
                continue
            family = np.repeat(np.arange(len(numbers), dtype=np.int64), counts)
            positions = np.arange(len(family), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts) \
                + np.repeat(first, counts)
            person = rows.person[positions]
            owner = np.where(person == FAMILY_OWN, _FAMILY_OWN, row_of_person[person])
            elsewhere = owner >= 0
            elsewhere[elsewhere] = family_of_row[owner[elsewhere]] != family[elsewhere]
            owner[elsewhere] = _NOT_MEMBER  # (a member of another of the batch's families, not of this one)
            day = rows.day[positions]
            mine = owner >= 0
            if mine.any():
                order = _table_order(owner[mine], day[mine], positions[mine], table, rows)
                self._person[name] = (owner[mine][order], positions[mine][order])
            kept = owner != _NOT_MEMBER
            if kept.any():
                order = _table_order(family[kept], day[kept], positions[kept], table, rows)
                self._family[name] = (family[kept][order], positions[kept][order])
        return True

    def _by_type(self, kept: np.ndarray, types: np.ndarray, owner: np.ndarray,
                 codes: dict[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        span = int(owner.max()) + 1 if len(owner) else 1
        kept = kept[np.argsort(types[kept] * span + owner[kept], kind="stable")]
        bounds = np.searchsorted(types[kept], np.arange(len(codes) + 1))
        return {name: (owner[kept[bounds[c]:bounds[c + 1]]], kept[bounds[c]:bounds[c + 1]])
                for name, c in codes.items() if bounds[c] < bounds[c + 1]}

    def person(self, name: str) -> tuple[np.ndarray, list[Fact], np.ndarray]:
        """Every current member's records of type ``name``: (member rows, records, their dates' ordinals)."""
        return self._take(self._person.get(name), name)

    def family(self, name: str) -> tuple[np.ndarray, list[Fact], np.ndarray]:
        """Every family's records of type ``name``: (family positions, records, their dates' ordinals)."""
        return self._take(self._family.get(name), name)

    def person_types(self) -> list[str]:
        return list(self._person)

    def _take(self, found: tuple[np.ndarray, np.ndarray] | None, name: str) -> tuple[np.ndarray, Any, np.ndarray]:
        if found is None:
            return np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)
        owner, positions = found
        if self.table is not None:
            rows = self.table.types[name]
            return owner, self.table.facts(rows, positions), rows.day[positions]
        facts = self.facts
        return owner, [facts[i] for i in positions.tolist()], self.day[positions]


def _shared_table(evaluations: list[Evaluation]) -> FactTable | None:
    """The table whose views every evaluation's facts are, if there is one."""
    tables = {id(facts.table): facts.table for ev in evaluations
              if isinstance(facts := ev.family.facts, TableFacts)}
    if len(tables) != 1 or not all(isinstance(ev.family.facts, TableFacts) for ev in evaluations):
        return None
    return next(iter(tables.values()))


def _table_order(owner: np.ndarray, day: np.ndarray, positions: np.ndarray, table: FactTable,
                 rows: TypeRows) -> np.ndarray:
    """The order of one fact type's records owner by owner (``owner``: a member row or a family position),
    each owner's in the evaluator's order: date, fact id, then the rest of
    :func:`~engine.rules.aggregates.fact_order` (two records sharing date and id), then the table's order."""
    order = np.argsort((owner << 22) | day, kind="stable")  # (ordinals stay below 2**22)
    tied = (owner[order[1:]] == owner[order[:-1]]) & (day[order[1:]] == day[order[:-1]])
    if not tied.any():
        return order
    run = np.concatenate(([0], np.cumsum(~tied)))
    shared = np.flatnonzero(np.bincount(run)[run] > 1)
    at = order[shared]
    ids = rows.fact_id[positions[at]].astype(str)
    by_id = np.lexsort((ids, run[shared]))  # (stable: the table's order among equal ids)
    order[shared] = at[by_id]
    ids, runs = ids[by_id], run[shared][by_id]
    same = np.flatnonzero((ids[1:] == ids[:-1]) & (runs[1:] == runs[:-1]))
    for i in same.tolist():  # (rare: two records share date and id) the rest of the key decides
        first = i
        while first > 0 and runs[first - 1] == runs[i] and ids[first - 1] == ids[i]:
            first -= 1
        last = i + 2
        while last < len(ids) and runs[last] == runs[i] and ids[last] == ids[i]:
            last += 1
        span = shared[first:last]
        order[span] = sorted(order[span].tolist(), key=lambda k: fact_order(table.fact(rows, int(positions[k]))))
    return order


__all__ = ["BatchRecords"]
