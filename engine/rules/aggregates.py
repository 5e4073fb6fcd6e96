"""Aggregations over facts (``any offence in last 12 months``, ``rate of attendance...``), three-valued.

What a *missing* record means depends on how the fact type is recorded (``FactType.recording``):

- ``events``: no matching record in a window is "none happened" only when the window lies inside the
  fact type's :class:`~engine.rules.inputs.Coverage`; otherwise the answer is unknown and the reason
  names the fact type and the uncovered period.
- ``periodic``: one record per period (term, month). A period in the window with no record makes
  sums, rates, averages and "every" unknown - missing attendance is never 0%.
- ``states``: a record holds from its start to its end (open when the end is empty). "latest" of a
  state is the record covering the window's last day. Registers record only people who are in a
  state, so when the feed covers that day and no record covers it, the person is in none of its
  states (:class:`~engine.rules.values.NoRecord`); when no feed covers the day it is unknown.

An aggregate with no window reads "as far as our records go": records of any date count, and absence
proves nothing only outside the fact type's coverage - so it is unknown when no feed covers the type
or the coverage ends before the evaluation date (stale data), not merely because the feed started in
2019. ``latest``/``earliest`` of nothing in a covered period is a known "none" (``NoRecord``), not
unknown.

Every aggregate works out the window's *gaps* - stretches where absence proves nothing - and each
function decides whether a gap could change its answer (a found offence makes ``any`` met whatever
the gaps; a count with gaps is only a lower bound).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable, Iterable

from engine.rules import ir
from engine.rules.calendar import ONE_DAY, period_end, period_label, period_start, period_of
from engine.rules.describe import describe
from engine.rules.inputs import Fact
from engine.rules.results import MET, NOT_MET, UNKNOWN
from engine.rules.values import UNK, NoRecord, bounded

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation

#: the earliest record a window-less aggregate reads (scenario coverage defaults start here too)
RECORDS_BEGIN = date(1900, 1, 1)

Gap = tuple[date, date, str]
Compiled = Callable[["Evaluation"], Any]
BOOLEAN_AGGREGATES = ("any", "none", "all")


def field_value(fact: Fact, name: str, fact_type: ir.FactType) -> Any:
    """A field of a fact; the dating fields fall back to the fact's own dates."""
    value = fact.fields.get(name)
    if value is None:
        if name == fact_type.date_field:
            return fact.date
        if name == fact_type.end_field:
            return fact.end_date
    return value


def state_end(fact: Fact, fact_type: ir.FactType) -> date | None:
    if fact.end_date is not None:
        return fact.end_date
    return fact.fields.get(fact_type.end_field) if fact_type.end_field else None


def compile_aggregate(node: ir.Aggregate, fact_type: ir.FactType, compile_bool: Callable[[ir.Expr], Compiled]) -> Compiled:
    """Compile one aggregate into a closure over an :class:`~engine.rules.evaluator.Evaluation`."""
    where = compile_bool(node.where) if node.where is not None else None
    test = compile_bool(node.test) if node.test is not None else None
    fn = node.fn
    name = node.fact
    family_scope = node.scope == "family"
    recording = fact_type.recording
    period = fact_type.period or "terms"
    text = describe(node)

    def select(ev: Evaluation, start: date, end: date) -> list[Fact]:
        dates, facts = ev.facts_for(name, family_scope)
        observed_end = min(end, ev.as_of)
        if recording == "states":
            upto = facts[: bisect_right(dates, observed_end)]
            return [f for f in upto if (e := state_end(f, fact_type)) is None or e >= start]
        return facts[bisect_left(dates, start): bisect_right(dates, observed_end)]

    def gaps(ev: Evaluation, start: date, end: date, selected: list[Fact]) -> list[Gap]:
        if recording == "periodic":
            return _period_gaps(ev, name, period, start, end, selected, node.window is not None)
        return _coverage_gaps(ev, name, start, end)

    def split(ev: Evaluation, facts: list[Fact]) -> tuple[list[Fact], list[Fact]]:
        """Facts whose ``where`` is met, and those where it is unknown."""
        if where is None:
            return facts, []
        matched: list[Fact] = []
        uncertain: list[Fact] = []
        for fact in facts:
            ev.fact = fact
            value = where(ev)
            if value == MET:
                matched.append(fact)
            elif value == UNKNOWN:
                uncertain.append(fact)
        return matched, uncertain

    def passes(ev: Evaluation, fact: Fact) -> str:
        ev.fact = fact
        return test(ev) if test is not None else MET

    def run(ev: Evaluation) -> Any:
        boolean = fn in BOOLEAN_AGGREGATES
        if node.window is not None:
            bounds = ev.window_of(node.window)
            if bounds is None:
                return UNKNOWN if boolean else UNK
            start, end = bounds
            watched_from = start
        else:  # as far as our records go: read every record, expect completeness only within coverage
            start, end = RECORDS_BEGIN, ev.as_of
            watched_from = records_known_from(ev, name)
        if fn in _NOTHING_TO_READ and recording != "periodic" and not ev.facts_for(name, family_scope)[1]:
            return _nothing_recorded(ev, fn, name, watched_from, end)
        saved_fact, saved_stack = ev.fact, ev.trace_stack
        ev.trace_stack = None  # per-fact predicates are not traced: one node per fact would drown the tree
        try:
            selected = select(ev, start, end)
            matched, uncertain = split(ev, selected)
            ev.read(matched)
            ev.read(uncertain)
            holes = gaps(ev, watched_from, end, selected)
            if boolean:
                value = _boolean(ev, fn, matched, uncertain, holes, passes)
                if ev.trace:
                    ev.detail = f"{len(matched)} matching {name} record(s) from {watched_from} to {min(end, ev.as_of)}"
                return value
            return _numeric(ev, node, fact_type, watched_from, end, matched, uncertain, holes)
        finally:
            ev.fact, ev.trace_stack = saved_fact, saved_stack

    run.__qualname__ = f"aggregate[{text}]"
    return run


_NOTHING_TO_READ = {"any": NOT_MET, "none": MET, "all": MET, "count": 0}


def _nothing_recorded(ev: Evaluation, fn: str, name: str, start: date, end: date) -> Any:
    """The common case of a subject with no records of the type at all: only coverage matters."""
    holes = _coverage_gaps(ev, name, start, end)
    if ev.trace and fn != "count":
        ev.detail = f"no {name} records from {start} to {min(end, ev.as_of)}"
    if fn == "count":
        for _, _, reason in holes:
            ev.unknown(reason)
        return bounded(0, None) if holes else 0
    return _unless_gaps(ev, holes, _NOTHING_TO_READ[fn])


def _boolean(ev: Evaluation, fn: str, matched: list[Fact], uncertain: list[Fact], holes: list[Gap],
             passes: Callable[[Evaluation, Fact], str]) -> str:
    if fn == "all":
        unsure = False
        for fact in matched:
            value = passes(ev, fact)
            if value == NOT_MET:
                return NOT_MET
            unsure = unsure or value == UNKNOWN
        # a fact that may or may not be in the filtered set only matters if it fails the test
        unsure = unsure or any(passes(ev, fact) != MET for fact in uncertain)
        if unsure:
            return UNKNOWN
        return _unless_gaps(ev, holes, MET)
    found = False
    unsure = bool(uncertain)
    for fact in matched:
        value = passes(ev, fact)
        if value == MET:
            found = True
            break
        if value == UNKNOWN:
            unsure = True
    if found:
        any_value = MET
    elif unsure:
        any_value = UNKNOWN
    else:
        any_value = _unless_gaps(ev, holes, NOT_MET)
    if fn == "none":
        return {MET: NOT_MET, NOT_MET: MET}.get(any_value, UNKNOWN)
    return any_value


def _unless_gaps(ev: Evaluation, holes: list[Gap], value: str) -> str:
    if not holes:
        return value
    for _, _, reason in holes:
        ev.unknown(reason)
    return UNKNOWN


def _numeric(ev: Evaluation, node: ir.Aggregate, fact_type: ir.FactType, start: date, end: date,
             matched: list[Fact], uncertain: list[Fact], holes: list[Gap]) -> Any:
    fn = node.fn
    if fn == "count":
        for _, _, reason in holes:
            ev.unknown(reason)
        low = len(matched)
        value = bounded(low, None if holes else low + len(uncertain))
        if ev.trace:
            ev.detail = f"{value} {node.fact} record(s) from {start} to {min(end, ev.as_of)}"
        return value
    if uncertain:
        ev.unknown(f"could not tell whether {len(uncertain)} {node.fact} record(s) match {describe(node.where)}")
        return UNK
    if fn in ("latest", "earliest"):
        return _extreme(ev, node, fact_type, start, end, matched, holes)
    if holes:
        for _, _, reason in holes:
            ev.unknown(reason)
        return UNK
    values = _values(ev, node.field, matched, fact_type)
    if values is None:
        return UNK
    if fn == "sum":
        return sum(values)
    if fn == "rate":
        per = _values(ev, node.per_field, matched, fact_type)
        if per is None:
            return UNK
        if not matched or sum(per) == 0:
            ev.unknown(f"no {node.fact}.{node.per_field} recorded from {start} to {end} for {ev.subject_label()}, "
                       "so the rate has no value")
            return UNK
        rate = sum(values) / sum(per) * 100
        if ev.trace:
            ev.detail = f"{rate:.1f}% ({sum(values)} of {sum(per)})"
        return rate
    if not values:
        ev.unknown(f"no {node.fact} records from {start} to {end} for {ev.subject_label()}, so its {fn} has no value")
        return UNK
    if fn == "min":
        return min(values)
    if fn == "max":
        return max(values)
    return sum(values) / len(values)  # average


def _values(ev: Evaluation, field: str | None, facts: list[Fact], fact_type: ir.FactType) -> list[Any] | None:
    values = []
    for fact in facts:
        value = field_value(fact, field or "", fact_type)
        if value is None:
            ev.unknown(f"{fact_type.name}.{field} is missing on record {fact.fact_id} ({fact.source or 'unknown source'})")
            return None
        values.append(value)
    return values


def _extreme(ev: Evaluation, node: ir.Aggregate, fact_type: ir.FactType, start: date, end: date,
             matched: list[Fact], holes: list[Gap]) -> Any:
    """``latest``/``earliest``: for states without a filter, the state on the window's last day."""
    if fact_type.recording == "states" and node.where is None and node.fn == "latest":
        day = min(end, ev.as_of)
        covering = [f for f in matched if f.date <= day and ((e := state_end(f, fact_type)) is None or e >= day)]
        if not covering:
            uncovered = _uncovered_because(ev, node.fact, day)
            if uncovered is None:  # the register covers the day and does not list them: in no state
                none = NoRecord(f"no {node.fact} record covers {day} for {ev.subject_label()}, "
                                "though the feed covers that day")
                if ev.trace:
                    ev.detail = f"{node.fn} {node.fact}.{node.field}: {none}"
                return none
            ev.unknown(f"no {node.fact} record covers {day} for {ev.subject_label()}; {uncovered}")
            return UNK
        chosen = max(covering, key=lambda f: (f.date, f.fact_id))
    else:
        if not matched:
            last_day = min(end, ev.as_of)
            if not holes:  # the sources cover the whole period and hold no such record
                none = NoRecord(f"no {node.fact} record from {start} to {last_day} for {ev.subject_label()}")
                if ev.trace:
                    ev.detail = f"{node.fn} {node.fact}.{node.field}: {none}"
                return none
            for _, _, reason in holes:
                ev.unknown(reason)
            ev.unknown(f"no {node.fact} record from {start} to {last_day} for {ev.subject_label()}")
            return UNK
        chosen = matched[-1] if node.fn == "latest" else matched[0]
        blocking = [g for g in holes if (g[1] > chosen.date if node.fn == "latest" else g[0] < chosen.date)]
        if blocking:
            for _, _, reason in blocking:
                ev.unknown(reason)
            return UNK
    value = field_value(chosen, node.field or "", fact_type)
    if value is None:
        ev.unknown(f"{node.fact}.{node.field} is missing on record {chosen.fact_id}")
        return UNK
    if ev.trace:
        ev.detail = f"{node.fn} {node.fact}.{node.field} = {value} (record {chosen.fact_id}, {chosen.date})"
    return value


def records_known_from(ev: Evaluation, name: str) -> date:
    """Where a window-less aggregate expects records to be complete from: the fact type's coverage start
    (or all time when there is no usable coverage, which then shows up as a gap)."""
    coverage = ev.coverage.get(name)
    if coverage is None or coverage.start > ev.as_of:
        return RECORDS_BEGIN
    return coverage.start


def _uncovered_because(ev: Evaluation, name: str, day: date) -> str | None:
    """Why no feed vouches for ``name`` records on ``day`` (None when one does)."""
    coverage = ev.coverage.get(name)
    if coverage is None:
        return f"no feed covers {name} records, so their absence proves nothing"
    if day < coverage.start:
        return f"{name} records are only known from {coverage.start}"
    if day > coverage.end:
        return f"{name} records are only known up to {coverage.end}"
    return None


def _coverage_gaps(ev: Evaluation, name: str, start: date, end: date) -> list[Gap]:
    """Parts of ``[start, end]`` where no feed vouches that every ``name`` event was recorded."""
    coverage = ev.coverage.get(name)
    if coverage is None:
        return [(start, end, f"no feed covers {name} records, so their absence from {start} to {end} "
                             f"for {ev.subject_label()} proves nothing")]
    found: list[Gap] = []
    if coverage.start > start:
        since = f"the window starts {start}" if start != RECORDS_BEGIN else f"that is after the evaluation date {ev.as_of}"
        found.append((start, coverage.start - ONE_DAY, f"{name} records are only known from {coverage.start}; {since}"))
    if end > ev.as_of and coverage.end >= ev.as_of:
        found.append((ev.as_of + ONE_DAY, end,
                      f"the window {start} to {end} for {name} has not ended by the evaluation date {ev.as_of}"))
    elif coverage.end < end:
        found.append((coverage.end + ONE_DAY, end,
                      f"{name} records are only known up to {coverage.end}; the window runs to {end}"))
    return found


def _period_gaps(ev: Evaluation, name: str, unit: str, start: date, end: date, selected: list[Fact],
                 windowed: bool) -> list[Gap]:
    """Periods in the window with no record (periodic facts)."""
    terms = ev.terms
    if not windowed:  # all time: expect periods from the first record on
        if not selected:
            return [(start, end, f"no {name} records at all for {ev.subject_label()}")]
        start = selected[0].date
    present = {period_of(f.date, unit, terms) for f in selected}
    coverage = ev.coverage.get(name)
    found: list[Gap] = []
    for key in ev.compiled.expected_periods(start, end, unit):
        if key in present:
            continue
        first, last = period_start(key, unit), period_end(key, unit)
        label = period_label(key, unit)
        if last > ev.as_of:
            reason = f"{name} for {label} cannot be known yet on {ev.as_of} for {ev.subject_label()}"
        elif coverage is not None and last > coverage.end:  # the period ended after the latest extract
            reason = (f"{name} for {label} is not in the feeds yet for {ev.subject_label()}: "
                      f"{name} records are only known up to {coverage.end}")
        else:
            reason = f"{name} for {label} missing for {ev.subject_label()} (fact type {name})"
        found.append((first, last, reason))
    return found


def fact_order(fact: Fact) -> tuple:
    """A total order on facts, so duplicates of one id sort the same whatever order they arrived in."""
    return (fact.date, fact.fact_id, fact.fact_type, fact.person_id or "", fact.batch_id, fact.source_record_id,
            fact.source)


_BY_DATE_AND_ID = attrgetter("date", "fact_id")


def facts_in_order(facts: Iterable[Fact]) -> list[Fact]:
    """Facts in :func:`fact_order`. Sorting on (date, fact id) alone gives that order unless two facts share
    both (a duplicate delivered twice), which is rare: only then is the full key needed."""
    ordered = sorted(facts, key=_BY_DATE_AND_ID)
    for before, after in zip(ordered, ordered[1:]):
        if before.fact_id == after.fact_id and before.date == after.date:
            return sorted(ordered, key=fact_order)
    return ordered


__all__ = ["compile_aggregate", "field_value", "state_end", "records_known_from", "RECORDS_BEGIN", "fact_order",
           "facts_in_order"]
