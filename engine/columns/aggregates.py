"""Aggregates over a batch's records, column-wise: what :class:`~engine.columns.person.PersonColumns` (and
:class:`~engine.columns.family.FamilyColumns`) compute for ``any``/``none``/``every``/``count``/``latest``/
``earliest`` over events and states registers and ``every``/``rate`` over periodic records in a window,
as the evaluator's :mod:`engine.rules.aggregates` computes them for one subject - the records cited, the
parameters read, and which unknown rows are the columns' to word (:mod:`engine.columns.reasons`)."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

import numpy as np

from engine.columns.facts import Facts
from engine.columns.reasons import Missing, period_words
from engine.columns.table import TableRecords
from engine.columns.values import NOT, UNSURE, YES, Const, Num, Obj, Unsupported, params_maybe_unread
from engine.rules import ir
from engine.rules.aggregates import RECORDS_BEGIN, _coverage_gaps, _uncovered_because, records_known_from
from engine.rules.calendar import period_of
from engine.rules.values import UNK

#: aggregates covered over events and states registers, and over periodic records (attendance)
_EVENT_FNS = ("any", "none", "all", "count", "latest", "earliest")
_PERIODIC_FNS = ("all", "rate")


class RecordAggregates:
    """Aggregates over the batch's records, for a class of columns with one row per subject: it provides
    ``size``, ``scope``, ``compiled``, ``as_of``, ``first`` (an evaluation of the batch), ``params``,
    ``facts_of(name)``, ``field(columns, name)`` and ``tri(node, reach, reads, scope)``."""

    #: per record, whether the record test being evaluated met an unknown on it (record_test)
    _touched: np.ndarray | None = None
    #: what the last record test met (the records it met an unknown on)
    last_touched: np.ndarray

    def record_test(self, node: Any, columns: Facts, reach: np.ndarray, tried: np.ndarray,
                    reads: list[tuple]) -> np.ndarray:
        """A ``where``/test over every record; its parameters count as read for members with a record
        it was tried on (``tried``). None may sit after the first argument of and/or, where each record
        could read a different subset."""
        found: list[tuple] = []
        saved, self._touched = self._touched, np.zeros(len(columns.facts), dtype=bool)
        try:
            value = self.tri(node, None, None if params_maybe_unread(node) else found, columns)
            #: the records on which the test met an unknown (the evaluator words each such one)
            self.last_touched = self._touched
        finally:
            self._touched = saved
        reads.extend(("param", use, reach & tried) for _, use, _ in found)
        return value

    def aggregate(self, node: ir.Aggregate, reach: np.ndarray, reads: list[tuple]) -> Any:
        """An aggregate's value per subject. Its unknown rows are sources of doubt (engine.columns.reasons),
        as is any row with a record whose test met an unknown, but a periodic aggregate's rows whose only
        doubt is a period missing from the window, which it words (a "gaps" source)."""
        found, doubtful = self._aggregate(node, reach, reads)
        if doubtful.any():
            reads.append(("doubt", reach & doubtful))
        return found

    def _owners(self, columns: Facts, records: np.ndarray) -> np.ndarray:
        return np.bincount(columns.owner[records], minlength=self.size) > 0

    def _aggregate(self, node: ir.Aggregate, reach: np.ndarray, reads: list[tuple]) -> tuple[Any, np.ndarray]:
        fact_type = self.compiled.fact_types.get(node.fact)
        periodic = fact_type is not None and fact_type.recording == "periodic"
        boolean = node.fn in ("any", "none", "all")
        if node.scope != self.scope or fact_type is None or (
                node.fn not in _PERIODIC_FNS if periodic else node.fn not in _EVENT_FNS):
            raise Unsupported(f"aggregate {node.fn} of {node.fact}")
        if periodic and node.window is None:
            raise Unsupported("a periodic aggregate without a window")
        if node.window is not None:
            window = node.window
            if window.anchor != "as_of":  # (``each of`` only changes how a window is described)
                raise Unsupported("a window anchored on a case date")
            length = window.length
            if isinstance(length, ir.ParamRef):
                use = self.params.get(length.name)
                if use is None:
                    unknown = np.full(self.size, UNSURE, dtype=np.int8) if boolean else Const(UNK)
                    return unknown, np.ones(self.size, dtype=bool)
                reads.append(("param", use, reach))
                length = use.value
            if not isinstance(length, ir.Duration):
                raise Unsupported("a window length that is not a duration")
            start, end = self.compiled.window(self.as_of, length.amount, length.unit, window.direction)
            watched = start
        else:
            start, end, watched = RECORDS_BEGIN, self.as_of, records_known_from(self.first, node.fact)
        columns = self.facts_of(node.fact)
        last = min(end, self.as_of).toordinal()
        if fact_type.recording == "states":
            selected = (columns.day <= last) & (columns.end >= start.toordinal())
        else:
            selected = (columns.day >= start.toordinal()) & (columns.day <= last)
        counts = np.bincount(columns.owner[selected], minlength=self.size)
        touched = np.zeros(len(columns.facts), dtype=bool)  # records a test met an unknown on
        if node.where is not None:
            test = self.record_test(node.where, columns, reach, counts > 0, reads)
            matched, uncertain = selected & (test == YES), selected & (test == UNSURE)
            touched |= selected & self.last_touched
        else:
            matched, uncertain = selected, np.zeros(len(columns.facts), dtype=bool)
        reads.append(("facts", columns, (matched | uncertain) & reach[columns.owner]))
        n_matched = np.bincount(columns.owner[matched], minlength=self.size)
        n_uncertain = np.bincount(columns.owner[uncertain], minlength=self.size)
        if periodic:
            return self._periodic(node, columns, reach, reads, selected, matched, uncertain, n_matched,
                                  n_uncertain, start, end, touched)
        holes = _coverage_gaps(self.first, node.fact, watched, end)
        found = self._events(node, fact_type, columns, reach, reads, matched, uncertain, n_matched, n_uncertain,
                             holes, end, touched)
        if isinstance(found, np.ndarray):
            unknown = found == UNSURE
        else:
            unknown = found.unk | (found.lo != found.hi) if isinstance(found, Num) else found.unk
        # (a coverage gap of events is worded for every subject reading them, whatever the answer)
        doubtful = unknown | (n_uncertain > 0) | self._owners(columns, touched) | bool(holes)
        return found, doubtful

    def _events(self, node: ir.Aggregate, fact_type: ir.FactType, columns: Facts, reach: np.ndarray,
                reads: list[tuple], matched: np.ndarray, uncertain: np.ndarray, n_matched: np.ndarray,
                n_uncertain: np.ndarray, holes: list, end: date, touched: np.ndarray) -> Any:
        """An aggregate over events or states records (``touched`` gains the records its test met an
        unknown on)."""
        boolean = node.fn in ("any", "none", "all")
        if node.fn == "all":  # every record has the test: one failing decides, one in doubt leaves it unknown
            passed = self._record_test(node.test, columns, reach, (n_matched > 0) | (n_uncertain > 0), reads,
                                       matched | uncertain, touched)
            failed = np.bincount(columns.owner[matched & (passed == NOT)], minlength=self.size) > 0
            unsure = (np.bincount(columns.owner[matched & (passed == UNSURE)], minlength=self.size) > 0) | (
                np.bincount(columns.owner[uncertain & (passed != YES)], minlength=self.size) > 0)
            return np.where(failed, NOT, np.where(unsure | bool(holes), UNSURE, YES)).astype(np.int8)
        if boolean:
            if node.test is not None:
                passed = self._record_test(node.test, columns, reach, n_matched > 0, reads, matched, touched)
                found = np.bincount(columns.owner[matched & (passed == YES)], minlength=self.size) > 0
                unsure = (n_uncertain > 0) | (np.bincount(columns.owner[matched & (passed == UNSURE)],
                                                          minlength=self.size) > 0)
            else:
                found, unsure = n_matched > 0, n_uncertain > 0
            value = np.where(found, YES, np.where(unsure | bool(holes), UNSURE, NOT)).astype(np.int8)
            return value if node.fn == "any" else (2 - value).astype(np.int8)
        if node.fn == "count":
            low = n_matched.astype(np.float64)
            high = np.full(self.size, np.inf) if holes else low + n_uncertain
            no = np.zeros(self.size, dtype=bool)
            return Num(low, high, no, no, False)
        return self._extreme(node, fact_type, columns, matched, n_uncertain > 0, holes, end)

    def _record_test(self, test: Any, columns: Facts, reach: np.ndarray, tried: np.ndarray, reads: list[tuple],
                     records: np.ndarray, touched: np.ndarray) -> np.ndarray:
        """An aggregate's test on each record (every one passes without a test); ``touched`` gains those of
        ``records`` (the ones the evaluator may try it on) where it met an unknown."""
        if test is None:
            return np.full(len(columns.facts), YES, dtype=np.int8)
        passed = self.record_test(test, columns, reach, tried, reads)
        touched |= records & self.last_touched
        return passed

    def _periodic(self, node: ir.Aggregate, columns: Facts, reach: np.ndarray, reads: list[tuple],
                  selected: np.ndarray, matched: np.ndarray, uncertain: np.ndarray, n_matched: np.ndarray,
                  n_uncertain: np.ndarray, start: date, end: date, touched: np.ndarray) -> tuple[Any, np.ndarray]:
        """``every``/``rate`` over periodic records (attendance): a period of the window with no record
        makes the result unknown (the evaluator's period gaps)."""
        unit = columns.fact_type.period or "terms"
        expected = self.compiled.expected_periods(start, end, unit)
        position = {key: i for i, key in enumerate(expected)}
        days, first = np.unique(columns.day, return_inverse=True)
        index = np.array([position.get(period_of(date.fromordinal(int(d)), unit, self.compiled.terms), -1)
                          for d in days], dtype=np.int64)[first.reshape(-1)] if len(days) else np.zeros(0, np.int64)
        inside = selected & (index >= 0)
        has = np.zeros((self.size, len(expected)), dtype=bool)  # member x period: a record of it
        has[columns.owner[inside], index[inside]] = True
        holes = ~has.all(axis=1)

        def words() -> list[tuple[str, str]]:  # (worded only when a row needs them)
            return period_words(node.fact, unit, expected, self.as_of, self.first.coverage.get(node.fact))
        if node.fn == "all":
            passed = self._record_test(node.test, columns, reach, (n_matched > 0) | (n_uncertain > 0), reads,
                                       matched | uncertain, touched)
            failed = np.bincount(columns.owner[matched & (passed == NOT)], minlength=self.size) > 0
            unsure = (np.bincount(columns.owner[matched & (passed == UNSURE)], minlength=self.size) > 0) | (
                np.bincount(columns.owner[uncertain & (passed != YES)], minlength=self.size) > 0)
            value = np.where(failed, NOT, np.where(unsure | holes, UNSURE, YES)).astype(np.int8)
            # (the evaluator words the gaps only when every record passed, and nothing else was in doubt)
            troubled = self._owners(columns, touched)
            gaps = holes & ~failed & ~unsure & ~troubled
            self._gaps(reads, reach & gaps, has, words)
            return value, ((value == UNSURE) & ~gaps) | troubled
        values = self.field(columns, node.field or "")
        per = self.field(columns, node.per_field or "")
        if not isinstance(values, Num) or not isinstance(per, Num) or values.dates or per.dates:
            raise Unsupported("a rate of fields that are not numbers")
        weights = np.where(matched, 1.0, 0.0)
        missing = np.bincount(columns.owner[matched & (values.unk | per.unk)], minlength=self.size) > 0
        total = np.bincount(columns.owner, weights=np.where(matched & ~values.unk, values.lo, 0.0) * weights,
                            minlength=self.size)
        over = np.bincount(columns.owner, weights=np.where(matched & ~per.unk, per.lo, 0.0), minlength=self.size)
        unk = (n_uncertain > 0) | holes | missing | (n_matched == 0) | (over == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(unk, np.nan, total / np.where(over == 0, 1.0, over) * 100)
        no = np.zeros(self.size, dtype=bool)
        # (the evaluator words the gaps unless a record's match was in doubt, and reads no value then)
        troubled = self._owners(columns, touched)
        gaps = holes & (n_uncertain == 0) & ~troubled
        self._gaps(reads, reach & gaps, has, words)
        return Num(rate, rate, unk, no, False), (unk & ~gaps) | troubled

    @staticmethod
    def _gaps(reads: list[tuple], rows: np.ndarray, has: np.ndarray, words: Callable[[], list[tuple[str, str]]],
              ) -> None:
        """A source of reasons for ``rows``: what each lacks (``has``), worded by ``words()``."""
        if rows.any():
            reads.append(("gaps", rows, Missing(has, words())))

    def _extreme(self, node: ir.Aggregate, fact_type: ir.FactType, columns: Facts, matched: np.ndarray,
                 uncertain: np.ndarray, holes: list, end: date) -> Num | Obj:
        """``latest``/``earliest`` of a field: the record each member's value comes from, chosen as the
        evaluator chooses it (a member's records are consecutive rows in the evaluator's order)."""
        latest = node.fn == "latest"
        if fact_type.recording == "states" and node.where is None and latest:
            # the state on the window's last day; none when the register covers the day and lists none
            day = min(end, self.as_of)
            uncovered = _uncovered_because(self.first, node.fact, day) is not None
            candidates = matched & (columns.day <= day.toordinal()) & (columns.end >= day.toordinal())
        else:
            uncovered = bool(holes)  # no matching record: none when the sources cover the whole period
            candidates = matched
        rows = np.flatnonzero(candidates)
        owners = columns.owner[rows]
        if latest:
            picked = rows[np.r_[owners[1:] != owners[:-1], True]] if len(rows) else rows
        else:
            picked = rows[np.r_[True, owners[1:] != owners[:-1]]] if len(rows) else rows
        if fact_type.recording == "states" and node.where is None and latest:
            picked = self._first_of_ties(columns, picked, candidates)
            blocked = np.zeros(len(picked), dtype=bool)
        elif holes:  # a gap after the latest (before the earliest) record could hide a later (earlier) one
            bound = max(g[1] for g in holes) if latest else min(g[0] for g in holes)
            day = columns.day[picked]
            blocked = (day < bound.toordinal()) if latest else (day > bound.toordinal())
        else:
            blocked = np.zeros(len(picked), dtype=bool)
        has = np.zeros(self.size, dtype=bool)
        has[columns.owner[picked]] = True
        unk = uncertain | (~has & uncovered)
        none = ~uncertain & ~has & (not uncovered)
        values = self.field(columns, node.field or "")
        take = picked[~blocked]
        who = columns.owner[take]
        unk[columns.owner[picked[blocked]]] = True
        unk[who] |= values.unk[take]
        if isinstance(values, Num):
            lo = np.full(self.size, np.nan)
            lo[who] = values.lo[take]
            return Num(lo, lo.copy(), unk, none & ~unk, values.dates)
        array = np.empty(self.size, dtype=object)
        array[who] = values.values[take]
        return Obj(array, unk, none & ~unk)

    @staticmethod
    def _first_of_ties(columns: Facts, picked: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """The evaluator takes ``max`` by (date, fact id), which keeps the first of equal records: each
        picked row moves back over the candidate rows just before it with its member, date and fact id."""
        owner, day = columns.owner, columns.day
        tie = np.zeros(len(owner), dtype=bool)  # tie[i]: row i may move back to row i - 1
        tie[1:] = candidates[:-1] & (owner[1:] == owner[:-1]) & (day[1:] == day[:-1])
        rows = np.flatnonzero(tie)
        if len(rows):  # (rare: fact ids are compared only there)
            facts = columns.facts
            if isinstance(facts, TableRecords):
                ids = facts.rows.fact_id[facts.positions]
                tie[rows] = ids[rows - 1] == ids[rows]
            else:
                tie[rows] = [facts[r - 1].fact_id == facts[r].fact_id for r in rows.tolist()]
        first = np.maximum.accumulate(np.where(tie, 0, np.arange(len(owner))))
        return first[picked]


__all__ = ["RecordAggregates"]
