"""A family's whole result taken from the batch's columns, for the families the columns decide entirely.

Seeding (:mod:`engine.columns.person`, :mod:`engine.columns.family`) hands each family's evaluator its
criteria one by one, and the evaluator still assembles them - every member's result of every need, each
an object, each found through its memo - before the record encoder turns most of them back into a bare
value. For a family whose every criterion the columns decide (no unknown value, nothing left undecided,
no override, a case not identified before the evaluation date), :func:`column_result` assembles the
result straight from the columns instead, as :func:`engine.rules.assemble.family_result` would:

- a person-level need's family result combines its holders' results as ``Evaluation.combined`` does
  (the facts and parameter uses of the members whose value is the family's);
- a member whose result cites nothing and whose parameter uses are the family result's objects in the same
  order is given as its bare value (:class:`ColumnResult`), which is how the record encoder writes it, and
  any other member as its value, facts and parameter uses (:class:`Member`), which the encoder writes
  directly: no result object is built for a member of a need;
- outcomes are judged as :mod:`engine.rules.outcomes` judges them for the needs identified on the date;
- headlines and scores, which depend on the needs' values alone, are computed once per combination of
  values in the batch and shared.

The record it gives is byte for byte the evaluator's (``tests/rules/test_column_records.py`` compares every
record of the benchmark families, the scenario families and crafted ones); any other family is left to
the evaluator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from engine.columns.values import NOT, UNSURE
from engine.rules.outcomes import _not_identified
from engine.rules.results import (
    MET, NOT_MET, Evidence, FamilyResult, NeedResult, OutcomeResult, ParamUse, TriResult, same_objects, unique_evidence,
)
from engine.rules.scoring import headline_results, score_results

if TYPE_CHECKING:
    from engine.columns.family import FamilyColumns
    from engine.columns.person import PersonColumns, RuleColumns
    from engine.rules.evaluator import Evaluation, RuleDef


class Member(NamedTuple):
    """A member's result of a person-level need in a :class:`ColumnResult`: the need's rule, kind and
    source, the member's person id, nothing unknown, and what it cites and read."""

    value: str
    evidence: list[Evidence]
    parameters: list[ParamUse]


class ColumnResult(FamilyResult):
    """A result the columns decided entirely: nothing in it is unknown and nothing is overridden. A need's
    member is given as a :class:`Member`, or as its bare value (a str) when it also has the family result's
    parameter uses and cites nothing. Only the record encoder reads it (``compact``)."""

    __slots__ = ()

    @property
    def unknowns(self) -> list[str]:
        return []


class _Rules:
    """The columns of the rules a record holds, and which families they decide entirely."""

    def __init__(self, persons: PersonColumns, families: FamilyColumns) -> None:
        compiled = persons.compiled
        self.rules = rules = compiled.rules
        starts = families.starts
        self.person: dict[str, RuleColumns] = {}
        self.family: dict[str, RuleColumns] = {}
        person_ok = np.ones(persons.size, dtype=bool)
        family_ok = ~families.identified_earlier
        needs = {n.name for n in compiled.needs}
        for name in compiled.role_names + compiled.person_helpers + [n for n in needs if rules[n].subject == "person"]:
            person_ok &= self._decided(self.person, name, persons)
        top = ["family_definition", "eligible", "claimable"]
        for name in top + compiled.family_helpers + [n for n in needs if rules[n].subject == "family"]:
            if name in rules:
                family_ok &= self._decided(self.family, name, families)
            else:  # a framework without it: the evaluator words the result as unknown
                family_ok[:] = False
        for code in compiled.outcome_codes:
            if code not in rules:
                continue
            need_columns = self.person if rules[code].subject == "person" else self.family
            for suffix in ("achieved", "sustained"):
                part = rules.get(f"{code}.{suffix}")
                if part is None:
                    continue
                if code not in need_columns or (part.subject == "person" and need_columns is self.family):
                    family_ok[:] = False  # a need left to the evaluator, or members' parts of a family need
                elif part.subject == "person":
                    had = self.person[code].value != NOT
                    person_ok &= ~had | self._decided(self.person, part.name, persons)
                else:
                    applicable = self._need_value(code, families)
                    family_ok &= (applicable == NOT) | self._decided(self.family, part.name, families)
        self.decided = family_ok & np.logical_and.reduceat(person_ok, starts)

    @staticmethod
    def _decided(into: dict[str, RuleColumns], name: str, columns: PersonColumns) -> np.ndarray:
        found = columns._ready(name)
        if found is None:
            return np.zeros(columns.size, dtype=bool)
        into[name] = found
        decided = found.value != UNSURE
        return decided if found.undecided is None else decided & ~found.undecided

    def _need_value(self, code: str, families: FamilyColumns) -> np.ndarray:
        need = self.rules[code]
        if need.subject == "person":
            return np.maximum.reduceat(self.person[code].value, families.starts)
        return self.family[code].value


class ColumnResults:
    """Whole results from one seeded group's columns (``PersonColumns`` and its ``families``)."""

    def __init__(self, persons: PersonColumns) -> None:
        self.persons = persons
        self.families = families = persons.families
        self.compiled = compiled = persons.compiled
        self.header = compiled.framework.header
        self.columns = _Rules(persons, families)
        self.decided = self.columns.decided.tolist()
        self.needs = compiled.needs
        #: need values -> (headlines, scores), which depend on them alone
        self.summaries: dict[tuple[str, ...], tuple[dict[str, TriResult], dict[str, Any]]] = {}
        #: (rule, value, parameter-use list number, detail) -> the family-level result citing nothing
        self.plain: dict[tuple[str, str, int, str | None], TriResult] = {}
        #: list number -> (the uses as one member result's combine gives them, whether that is the same list)
        self.merged: dict[tuple[str, int], tuple[list, bool]] = {}
        self.not_identified: dict[str, OutcomeResult] = {}

    def result(self, ev: Evaluation) -> ColumnResult | None:
        """The family's whole result, or None when the columns leave any of it to the evaluator."""
        start = ev.seeds[1][ev.members[0].person_id]
        row = self.families.row_of_start[start]
        if not self.decided[row]:
            return None
        compiled, rules, columns = self.compiled, self.columns.rules, self.columns
        members = [m.person_id for m in ev.members]
        end = start + len(members)
        family_rule = self._family_rule
        needs: dict[str, NeedResult] = {}
        held: dict[str, list[tuple[str, str]]] = {}  # need -> (member, value) of its holders
        for need in self.needs:
            rule = rules[need.name]
            if need.subject == "person":
                result, member_results, held[need.name] = self._person_need(ev, rule, members, start, end)
            else:
                result, member_results = family_rule(ev, rule, row), {}
            needs[need.name] = NeedResult(need.name, need.description or need.name, need.headline, need.subject,
                                          result, member_results, need.local)
        summary = tuple(n.result.value for n in needs.values())
        found = self.summaries.get(summary)
        if found is None:
            headlines = headline_results(compiled.framework, needs)
            found = self.summaries[summary] = (headlines, score_results(compiled.framework, needs, headlines))
        headlines, scores = found
        person = columns.person
        roles = {pid: {name: person[name].names[start + i] for name in compiled.role_names}
                 for i, pid in enumerate(members)}
        helpers = compiled.person_helpers
        person_rules = {pid: {name: person[name].names[start + i] for name in helpers}
                        for i, pid in enumerate(members)} if helpers else {}
        header = self.header
        return ColumnResult(
            family_id=ev.family.family_id, as_of=ev.as_of, framework_id=header.id,
            framework_version=header.version, framework_hash=compiled.hash,
            family_definition=family_rule(ev, rules["family_definition"], row), needs=needs,
            headlines=headlines, eligible=family_rule(ev, rules["eligible"], row),
            outcomes=self._outcomes(ev, needs, held, row, start),
            claimable=family_rule(ev, rules["claimable"], row), scores=scores, roles=roles,
            rules={name: family_rule(ev, rules[name], row) for name in compiled.family_helpers},
            person_rules=person_rules)

    # Family-level rules ------------------------------------------------------------------------------
    def _family_rule(self, ev: Evaluation, rule: RuleDef, row: int) -> TriResult:
        found = self.columns.family[rule.name]
        if found.citing[row]:
            return self.persons.seed(ev, rule, found, row, None)
        key = (rule.name, found.names[row], int(found.list_id[row]), None)
        result = self.plain.get(key)
        if result is None:
            result = self.plain[key] = self.persons.seed(ev, rule, found, row, None)
        return result

    # Person-level needs ------------------------------------------------------------------------------
    def _person_need(self, ev: Evaluation, rule: RuleDef, members: list[str], start: int, end: int,
                     ) -> tuple[TriResult, dict[str, Any], list[tuple[str, str]]]:
        """The need's family result (``Evaluation._family_need``), its holders' results (bare values where
        the encoder writes them so) and each holder's value."""
        found = self.columns.person[rule.name]
        names, citing, list_id, cited = found.names, found.citing, found.list_id, self.persons.cited
        if rule.role is None:
            holders = list(range(start, end))
        else:
            role = self.columns.person[rule.role].names
            holders = [r for r in range(start, end) if role[r] != NOT_MET]
        held = [(members[r - start], names[r]) for r in holders]
        value = MET if any(v == MET for _, v in held) else NOT_MET
        relevant = [r for r in holders if names[r] == value] or holders
        numbers = {int(list_id[r]) for r in relevant}
        parts: dict[int, TriResult] = {}
        number, same = -1, False
        if len(numbers) <= 1 and not any(citing[r] for r in relevant):
            # the usual case: one list of parameter uses and nothing cited, the same result in many families
            params: list = []
            if numbers:
                number = numbers.pop()
                params, same = self._merged(found, rule.name, number)
            detail = None if holders else f"no member is {rule.role or 'a member'}"
            key = (rule.name, value, number, detail)
            result = self.plain.get(key)
            if result is None:
                result = self.plain[key] = TriResult(value, rule.name, rule.kind, rule.span, rule.citations, None,
                                                     [], params, [], [], detail)
        else:
            parts = {r: Member(names[r], unique_evidence(cited(ev, found, r, members[r - start])) if citing[r] else [],
                               found.uses[r]) for r in relevant}
            result = ev.combined(rule, value, list(parts.values()), None)
        params = result.parameters
        results: dict[str, Any] = {}
        for r in holders:
            if not citing[r] and ((same and list_id[r] == number) or same_objects(found.uses[r], params)):
                results[members[r - start]] = names[r]  # what the encoder writes for it: its bare value
            else:
                results[members[r - start]] = parts.get(r) or Member(
                    names[r], unique_evidence(cited(ev, found, r, members[r - start])) if citing[r] else [],
                    found.uses[r])
        return result, results, held

    def _merged(self, found: RuleColumns, name: str, number: int) -> tuple[list, bool]:
        """A parameter-use list as combining members' results that all have it gives it (by name, in order)."""
        key = (name, number)
        cached = self.merged.get(key)
        if cached is None:
            uses = found.lists[number]
            merged = list({p.name: p for p in uses}.values())
            cached = self.merged[key] = (merged, same_objects(uses, merged))
        return cached

    # Outcomes ------------------------------------------------------------------------------------
    def _outcomes(self, ev: Evaluation, needs: dict[str, NeedResult], held: dict[str, list[tuple[str, str]]],
                  row: int, start: int) -> dict[str, OutcomeResult]:
        """``engine.rules.outcomes.outcome_results`` for needs identified on the evaluation date."""
        rules = self.columns.rules
        results: dict[str, OutcomeResult] = {}
        for code in self.compiled.outcome_codes:
            if code not in rules:
                continue
            achieved_rule, sustained_rule = rules[f"{code}.achieved"], rules.get(f"{code}.sustained")
            applicable = needs[code].result.value
            if applicable == NOT_MET:
                found = self.not_identified.get(code)
                if found is None:
                    found = self.not_identified[code] = OutcomeResult(
                        code, NOT_MET, _not_identified(ev, achieved_rule, code),
                        _not_identified(ev, sustained_rule, code), NOT_MET)
                results[code] = found
                continue
            members: dict[str, dict[str, TriResult]] = {}
            achieved = self._part(ev, achieved_rule, code, held, row, start, members, "achieved")
            sustained = None
            if sustained_rule is not None:
                sustained = self._part(ev, sustained_rule, code, held, row, start, members, "sustained")
            value = achieved.value if sustained is None else (
                NOT_MET if NOT_MET in (achieved.value, sustained.value) else MET)
            results[code] = OutcomeResult(code, applicable, achieved, sustained, value,
                                          members if achieved_rule.subject == "person" else {})
        return results

    def _part(self, ev: Evaluation, rule: RuleDef, code: str, held: dict[str, list[tuple[str, str]]], row: int,
              start: int, members: dict[str, dict[str, TriResult]], part: str) -> TriResult:
        """An outcome part for the family (``engine.rules.outcomes.family_outcome`` for a person-level one:
        every member who had the need achieves it), each had member's result kept under ``members``."""
        if rule.subject != "person":
            return self._family_rule(ev, rule, row)
        found = self.columns.person[rule.name]
        rows = ev.seeds[1]
        parts, values = [], []
        for pid, had in sorted(held[code]):
            if had == NOT_MET:
                continue
            result = self.persons.seed(ev, rule, found, rows[pid], pid)
            members.setdefault(pid, {})[part] = result
            parts.append(result)
            values.append(MET if result.value == MET else NOT_MET)
        return ev.combined(rule, NOT_MET if NOT_MET in values else MET, parts, None)


def column_result(ev: Evaluation) -> ColumnResult | None:
    """The family's whole result from its batch's columns, or None when the evaluator must assemble it
    (the evaluation was not seeded, or the columns leave part of it undecided)."""
    if ev.seeds is None or ev.overrides:
        return None
    persons = ev.seeds[0]
    if persons.families is None:
        return None
    found = persons.families.results
    if found is None:
        found = persons.families.results = ColumnResults(persons)
    return found.result(ev)


__all__ = ["ColumnResult", "ColumnResults", "column_result"]
