"""A batch's records indexed for the columns in one pass over every family's facts, in the evaluator's order.

The per-family evaluator indexes its family's facts by (member, fact type) and by fact type for the
family, each list in :func:`~engine.rules.aggregates.facts_in_order` (date, then fact id; the whole
:func:`~engine.rules.aggregates.fact_order` key for a family holding two facts with the same date and id),
leaving out the facts of people who are not current members. The columns need the same lists for every
member and every family of a batch, one fact type at a time: :class:`BatchRecords` sorts the batch's facts
once with NumPy into exactly those lists, so a family the columns decide in full never builds an index of
its own (``Evaluation._facts`` is made when the evaluator first reads a fact).
"""

from __future__ import annotations

from datetime import date
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

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

    def _by_type(self, kept: np.ndarray, types: np.ndarray, owner: np.ndarray,
                 codes: dict[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        span = int(owner.max()) + 1 if len(owner) else 1
        kept = kept[np.argsort(types[kept] * span + owner[kept], kind="stable")]
        bounds = np.searchsorted(types[kept], np.arange(len(codes) + 1))
        return {name: (owner[kept[bounds[c]:bounds[c + 1]]], kept[bounds[c]:bounds[c + 1]])
                for name, c in codes.items() if bounds[c] < bounds[c + 1]}

    def person(self, name: str) -> tuple[np.ndarray, list[Fact], np.ndarray]:
        """Every current member's records of type ``name``: (member rows, records, their dates' ordinals)."""
        return self._take(self._person.get(name))

    def family(self, name: str) -> tuple[np.ndarray, list[Fact], np.ndarray]:
        """Every family's records of type ``name``: (family positions, records, their dates' ordinals)."""
        return self._take(self._family.get(name))

    def person_types(self) -> list[str]:
        return list(self._person)

    def _take(self, found: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, list[Fact], np.ndarray]:
        if found is None:
            return np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)
        owner, positions = found
        facts = self.facts
        return owner, [facts[i] for i in positions.tolist()], self.day[positions]


__all__ = ["BatchRecords"]
