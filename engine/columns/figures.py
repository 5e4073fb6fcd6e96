"""What a run needs of a family it stores as its batch's columns, without assembling the family's result.

A family stored as its batch's columns (format 5, :mod:`engine.columns.stored`) has its record derived
when it is read. The run itself needs three things of it: its eligibility and its headlines' values (the
run's counts), its unknown reasons (the counts and the report of data not delivered yet), and whether
deriving its result reads anything a stored batch does not hold (``Evaluation.inputs_read``: then it keeps
a record of its own). For a family with something unknown these came from assembling its whole result
(:meth:`engine.columns.assemble.ColumnResults.result`), which builds every criterion's evidence.

:func:`run_figures_of` takes the same values and reasons from the same columns instead: each need's
holders' rows (a need's family result is unknown, with its holders' reasons, when no holder meets it and
one is unknown), each outcome part's, and the family-level rows. A family-level rule left unknown has
its reasons from the columns too where they word them (:mod:`engine.columns.worded`: a count of needs,
all outcomes); where they do not for one of the family's, the family-level rules the columns leave
are asked of a throwaway evaluation of the family whose memo holds those needs and outcomes with their
values and reasons, so the evaluator words their unknowns (a need count's "need CODE: ...") and notes
any input they read, exactly as in the assembly, which seeds its evaluation with the same values. A family
with a member's row left to the evaluator, or one the assembly would not take, gets None: the caller
assembles it as before. Tests compare both ways for every family of the test corpora.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.columns.values import NAMES, NOT, UNSURE
from engine.columns.worded import family_reasons, holders, need_values, part_values, row_reasons, unworded
from engine.rules.evaluator import and2
from engine.rules.outcomes import had_and_achieved
from engine.rules.results import NOT_MET, UNKNOWN, OutcomeResult, TriResult, all_met, any_met

if TYPE_CHECKING:
    from engine.columns.assemble import ColumnResults
    from engine.columns.person import RuleColumns
    from engine.rules.evaluator import Evaluation, RuleDef


@dataclass(frozen=True)
class RunFigures:
    """A family's eligibility, headline values (by code), unknown reasons (sorted) and whether deriving its
    result read one of its inputs."""

    eligible: str
    headlines: tuple[tuple[str, str], ...]
    reasons: tuple[str, ...]
    inputs_read: bool


def run_figures_of(results: ColumnResults, ev: Evaluation) -> RunFigures | None:
    """The figures the assembled result would give ``ev``'s family, or None where only assembling tells."""
    found = _rows(results, ev)
    if found is None:
        return None
    if results.figures is None:
        results.figures = batch_figures(results)
    return results.figures[found[1]] or _Figures(results, ev, *found).figures()


def family_figures(results: ColumnResults, ev: Evaluation) -> RunFigures | None:
    """:func:`run_figures_of` for one family on its own, whatever the batch's table holds (the way a family
    the table leaves is taken; tests compare both ways)."""
    found = _rows(results, ev)
    return _Figures(results, ev, *found).figures() if found is not None else None


def _rows(results: ColumnResults, ev: Evaluation) -> tuple[int, int] | None:
    """The family's first member row and its family row, where the assembly would take it."""
    if ev.seeds is None or ev.overrides or not ev.members:
        return None
    start = ev.seeds[1][ev.members[0].person_id]
    row = results.families.row_of_start[start]
    return (start, row) if results.assembled[row] else None


def batch_figures(results: ColumnResults) -> list[RunFigures | None]:
    """Per family of the batch, its figures where the columns give them all at once: every family-level
    rule known or worded by the columns (:mod:`engine.columns.worded`), and no member's row, need holder's
    row or outcome part's row left to the evaluator; None elsewhere (:class:`_Figures` takes the family
    on its own). Only a family's unknown rows are worded one by one."""
    families, persons, columns = results.families, results.persons, results.columns
    if not columns.assembled.any():
        return [None] * families.size
    compiled, starts = results.compiled, families.starts
    owner = np.repeat(np.arange(families.size), np.diff(np.append(starts, persons.size)))
    fast = columns.assembled & columns.family_worded
    for name in compiled.role_names + compiled.person_helpers:
        fast &= ~np.logical_or.reduceat(_left(columns.person[name]), starts)
    values: dict[str, np.ndarray] = {}
    member_rows: list[tuple[str, np.ndarray]] = []  # (person-level rule, member rows whose reasons count)
    family_rows: list[tuple[RuleColumns, np.ndarray]] = []  # (family-level rule, families whose reasons count)

    def family_rule(found: RuleColumns, counted: np.ndarray) -> None:
        nonlocal fast
        fast &= ~(counted & _left(found) & ~_worded(found))  # (an unknown the columns leave: the evaluator's)
        family_rows.append((found, counted & (found.value == UNSURE)))

    for need in compiled.needs:
        if need.subject != "person":
            values[need.name] = columns.family[need.name].value
            family_rule(columns.family[need.name], np.ones(families.size, dtype=bool))
            continue
        found, holder = columns.person[need.name], holders(families, need.name)
        fast &= ~np.logical_or.reduceat(holder & _left(found), starts)
        values[need.name] = need_values(families, need.name)  # (any holder's: non-holders are not met)
        member_rows.append((need.name, holder & (found.value == UNSURE)))
    for code, *parts in results.outcome_rules:
        identified = values[code] != NOT
        for rule in filter(None, parts):
            if rule.subject != "person":
                family_rule(columns.family[rule.name], identified)
                continue
            part, had = columns.person[rule.name], holders(families, code) & (columns.person[code].value != NOT)
            fast &= ~(identified & np.logical_or.reduceat(had & _left(part), starts))
            # (a member's reasons count where the family's part is unknown: every member who had it achieves it)
            unsure = identified & (part_values(families, code, rule) == UNSURE)
            member_rows.append((rule.name, had & (part.value == UNSURE) & unsure[owner]))
    for name in ("family_definition", "eligible", "claimable"):
        family_rule(columns.family[name], np.ones(families.size, dtype=bool))
    return _tabled(results, fast, owner, values, member_rows, family_rows)


def _tabled(results: ColumnResults, fast: np.ndarray, owner: np.ndarray, values: dict[str, np.ndarray],
            member_rows: list[tuple[str, np.ndarray]], family_rows: list[tuple[RuleColumns, np.ndarray]],
            ) -> list[RunFigures | None]:
    families = results.families
    reasons: dict[int, set[str]] = {}
    for name, rows in member_rows:
        for r in np.flatnonzero(rows & fast[owner]).tolist():
            reasons.setdefault(int(owner[r]), set()).update(row_reasons(families, name, r))
    memos: dict[int, dict] = {}
    for found, rows in family_rows:
        for f in np.flatnonzero(rows & fast).tolist():
            reasons.setdefault(f, set()).update(family_reasons(families, found, f, memos.setdefault(f, {})))
    # each headline: any of its needs met (any_met), the families' distinct combinations named once
    under: dict[str, list[np.ndarray]] = {h.code: [] for h in results.compiled.framework.headlines}
    for need in results.compiled.needs:
        under.setdefault(need.headline, []).append(values[need.name])
    codes = sorted(under)
    table = np.stack([np.maximum.reduce(under[code]) if under[code] else np.full(families.size, NOT, dtype=np.int8)
                      for code in codes], axis=1)
    kinds, kind_of = np.unique(table, axis=0, return_inverse=True)
    named = [tuple(zip(codes, (NAMES[v] for v in row.tolist()))) for row in kinds]
    eligible = results.columns.family["eligible"].value.tolist()
    kind_of = np.asarray(kind_of).reshape(-1).tolist()
    return [RunFigures(NAMES[eligible[f]], named[kind_of[f]], tuple(sorted(reasons.get(f, ()))), False) if ok else None
            for f, ok in enumerate(fast.tolist())]


def _left(found: RuleColumns) -> np.ndarray:
    """Rows whose result the evaluator gives (``RuleColumns.names`` None)."""
    return unworded(found, "explained", len(found.value))


def _worded(found: RuleColumns) -> np.ndarray:
    return found.worded if found.worded is not None else np.zeros(len(found.value), dtype=bool)


class _Figures:
    def __init__(self, results: ColumnResults, ev: Evaluation, start: int, row: int) -> None:
        self.results, self.row, self.start = results, row, start
        self.compiled = results.compiled
        self.members = [m.person_id for m in ev.members]
        self.person, self.family = results.columns.person, results.columns.family
        self.family_ev, self._ev = ev, None
        self.asked = True  # (whether the evaluator decides or words a family-level rule: set by figures())
        self.worded: dict[tuple[str, str], list[str]] = {}  # (engine.columns.worded's memo for the family)
        self.reasons: set[str] = set()
        self.bare = results.bare

    @property
    def ev(self) -> Evaluation:
        """A throwaway evaluation of the family, made when the evaluator is first asked for a family-level
        rule: what those rules read is put in its memo."""
        if self._ev is None:
            ev = self.family_ev
            self._ev = self.compiled.evaluation(ev.family, ev.as_of, (), False)
            self._ev.seeds = ev.seeds
        return self._ev

    def _bare(self, rule: RuleDef, value: str, detail: str | None = None) -> TriResult:
        """A result holding only its value (what the throwaway evaluation reads of a known one), shared by
        the batch's families: nothing mutates it (the throwaway evaluation has no overrides)."""
        key = (rule.name, value, detail)
        found = self.bare.get(key)
        if found is None:
            found = self.bare[key] = TriResult(value, rule.name, rule.kind, rule.span, rule.citations, None, [], [],
                                               [], [], detail)
        return found

    def _row_reasons(self, name: str, row: int, pid: str) -> list[str]:
        return row_reasons(self.results.families, name, row)

    def _family(self, rule: RuleDef, criterion: bool = True) -> TriResult | str:
        """A family-level rule's result where it may be unknown (the columns' or the evaluator's), else its
        value; a criterion's reasons are gathered when it is unknown (a helper rule is no criterion)."""
        found = self.family[rule.name]
        value = found.names[self.row]
        if value is not None and value != UNKNOWN:
            return value
        if not self.asked and found.worded is not None and found.worded[self.row]:
            if not criterion:  # (its reasons count only where a criterion reads it)
                return UNKNOWN
            reasons = family_reasons(self.results.families, found, self.row, self.worded)
            result = TriResult(UNKNOWN, rule.name, rule.kind, rule.span, rule.citations, None, [], [], reasons, [], None)
        else:
            result = self.results._family_rule(self.ev, rule, self.row)
        if criterion and result.value == UNKNOWN:
            self.reasons.update(result.unknowns)
        return result

    def figures(self) -> RunFigures | None:
        compiled, rules = self.compiled, self.compiled.rules
        # the evaluator decides or words a family-level rule: what it reads of the needs, as the assembly seeds it
        self.asked = asked = not self.results.family_worded[self.row]
        end = self.start + len(self.members)
        for name in compiled.role_names + compiled.person_helpers:
            names = self.person[name].names
            if any(names[r] is None for r in range(self.start, end)):
                return None  # (the assembly asks the evaluator for a member's role or rule)
        values: dict[str, str] = {}
        results: dict[str, TriResult] = {}
        held: dict[str, list[tuple[str, str]]] = {}
        for need in compiled.needs:
            rule = rules[need.name]
            if need.subject == "person":
                found = self._person_need(rule)
                if found is None:
                    return None
                result, held[need.name] = found
            else:
                result = self._family(rule)
                if isinstance(result, str):
                    result = self._bare(rule, result)
            values[need.name] = result.value
            results[need.name] = result
        if not asked:  # (the needs' reasons, as engine.columns.worded words a count of them)
            self.worded.update((("need", code), [f"need {code}: {r}" for r in result.unknowns])
                               for code, result in results.items() if result.value == UNKNOWN and result.unknowns)
        else:
            ev = self.ev
            for code, result in results.items():
                ev.memo[(code, None)] = result
                ev.identified_needs[code] = (result.value, dict(held.get(code, ())))
        self._family(rules["family_definition"])
        eligible = self._family(rules["eligible"])
        outcomes = self._outcomes(values, held, asked)
        if outcomes is None:
            return None
        if asked:
            self.ev._outcomes = outcomes  # (as the claim reads them)
        self._family(rules["claimable"])
        for name in compiled.family_helpers:
            self._family(rules[name], criterion=False)  # (one the evaluator decides may read an input)
        return RunFigures(eligible if isinstance(eligible, str) else eligible.value, self._headlines(values),
                          tuple(sorted(self.reasons)), self._ev is not None and self._ev.inputs_read)

    def _person_need(self, rule: RuleDef) -> tuple[TriResult, list[tuple[str, str]]] | None:
        """The need's family result with its value and reasons (``Evaluation._family_need``), and its
        holders' values; None where a holder's value is the evaluator's."""
        names = self.person[rule.name].names
        role = self.person[rule.role].names if rule.role is not None else None
        held: list[tuple[str, str]] = []
        reasons: list[str] = []
        for i, pid in enumerate(self.members):
            r = self.start + i
            if role is not None and role[r] == NOT_MET:
                continue
            value = names[r]
            if value is None:
                return None
            held.append((pid, value))
            if value == UNKNOWN:
                worded = self._row_reasons(rule.name, r, pid)
                self.reasons.update(worded)
                reasons += worded
        found = [v for _, v in held]
        value = any_met(found)
        detail = None if held else f"no member is {rule.role or 'a member'}"
        if value != UNKNOWN:
            return self._bare(rule, value, detail), held
        return TriResult(value, rule.name, rule.kind, rule.span, rule.citations, None, [], [],
                         list(dict.fromkeys(reasons)), [], detail), held

    def _outcomes(self, values: dict[str, str], held: dict[str, list[tuple[str, str]]], asked: bool,
                  ) -> dict[str, OutcomeResult] | None:
        """Each outcome's values, its parts' reasons gathered (``ColumnResults._outcomes``); the outcomes
        themselves only where a family-level rule is the evaluator's (the claim reads them)."""
        outcomes: dict[str, OutcomeResult] = {}
        for code, achieved_rule, sustained_rule in self.results.outcome_rules:
            applicable = values[code]
            if applicable == NOT_MET:  # (not identified: nothing unknown)
                if asked:
                    outcomes[code] = self.results.not_identified_outcome(self.ev, code, achieved_rule, sustained_rule)
                continue
            achieved = self._part(achieved_rule, code, held)
            sustained = self._part(sustained_rule, code, held) if sustained_rule is not None else None
            if achieved is None or (sustained is None and sustained_rule is not None):
                return None
            if asked:
                achieved = self._bare(achieved_rule, achieved) if isinstance(achieved, str) else achieved
                if sustained_rule is not None and isinstance(sustained, str):
                    sustained = self._bare(sustained_rule, sustained)
                value = achieved.value if sustained is None else and2(achieved.value, sustained.value)
                outcomes[code] = OutcomeResult(code, applicable, achieved, sustained, value)
        return outcomes

    def _part(self, rule: RuleDef, code: str, held: dict[str, list[tuple[str, str]]]) -> TriResult | str | None:
        """An outcome part for the family (every member who had the need achieves it), its reasons gathered."""
        if rule.subject != "person":
            return self._family(rule)
        names, rows = self.person[rule.name].names, self.family_ev.seeds[1]
        values, reasons = [], []
        for pid, had in sorted(held[code]):
            if had == NOT_MET:
                continue
            value = names[rows[pid]]
            if value is None:
                return None
            if value == UNKNOWN:
                reasons += self._row_reasons(rule.name, rows[pid], pid)
            values.append(had_and_achieved(had, value))
        value = all_met(values) if values else NOT_MET
        if value != UNKNOWN:
            return value
        unknowns = self.worded[("part", rule.name)] = list(dict.fromkeys(reasons))
        self.reasons.update(unknowns)
        return TriResult(value, rule.name, rule.kind, rule.span, rule.citations, None, [], [], unknowns, [], None)

    def _headlines(self, values: dict[str, str]) -> tuple[tuple[str, str], ...]:
        """Each headline's value (``engine.rules.scoring.headline_results``), by code."""
        under: dict[str, list[str]] = {h.code: [] for h in self.compiled.framework.headlines}
        for need in self.compiled.needs:
            under.setdefault(need.headline, []).append(values[need.name])
        return tuple((code, any_met(found))
                     for code, found in sorted(under.items()))


__all__ = ["RunFigures", "batch_figures", "family_figures", "run_figures_of"]
