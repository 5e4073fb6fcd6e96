"""A family's whole result assembled from the batch's columns rather than by its evaluator.

Seeding (:mod:`engine.columns.person`, :mod:`engine.columns.family`) hands each family's evaluator its
criteria one by one, and the evaluator still assembles them - every member's result of every need, each
an object, each found through its memo - before the record encoder turns most of them back into a bare
value. :func:`column_result` assembles the result straight from the columns instead, as
:func:`engine.rules.assemble.family_result` would:

- a criterion the columns leave to the evaluator (unknown, whose reasons the evaluator words, or reading
  something the columns do not cover) is asked of the evaluator, which computes just that criterion;
- a person-level need's family result combines its holders' results as ``Evaluation.combined`` does
  (the facts, parameter uses and reasons of the members whose value is the family's);
- a member whose result cites nothing and whose parameter uses are the family result's objects in the same
  order is given as its bare value (:class:`ColumnResult`), which is how the record encoder writes it, and
  any other member the columns decide as its value, facts and parameter uses (:class:`Member`), which the
  encoder writes directly: no result object is built for such a member of a need. Where the columns
  decide every member's role and every holder's value with one list of parameter uses (most needs of most
  families; found for the whole batch at once, ``_Rules.shared_list``), that is settled without a test per
  member, and a need none of whose holders cites a record is given as ``BareValues``, which the encoder
  writes as it is;
- outcomes are judged as :mod:`engine.rules.outcomes` judges them for the needs identified on the date;
- headlines and scores, which depend on the needs' values alone when none is unknown, are computed once
  per combination of values in the batch and shared.

A family with an override, or whose case was identified before the evaluation date (its outcomes are
judged for the needs of that date), is left to the evaluator, as is every family of a batch whose
columns do not cover a rule the record holds. The record is byte for byte the evaluator's
(``tests/rules/test_columns.py`` and ``test_column_records.py`` compare them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, NamedTuple

import numpy as np

from engine.columns.values import NOT, UNSURE
from engine.rules.evaluator import and2
from engine.rules.outcomes import _not_identified, had_and_achieved
from engine.rules.results import (
    MET, NOT_MET, UNKNOWN, BareValues, Evidence, FamilyResult, NeedResult, OutcomeResult, ParamUse, TriResult,
    all_met, any_met, same_objects, unique_evidence,
)
from engine.rules.scoring import headline_results, score_results

if TYPE_CHECKING:
    from engine.columns.family import FamilyColumns
    from engine.columns.person import PersonColumns, RuleColumns
    from engine.rules.evaluator import Evaluation, RuleDef


class Member(NamedTuple):
    """A member's result of a person-level need in a :class:`ColumnResult`: the need's rule, kind and
    source, the member's person id, nothing unknown, and what it cites (each fact once, in
    ``unique_evidence``'s order, which the encoder relies on) and read."""

    value: str
    evidence: list[Evidence]
    parameters: list[ParamUse]


class ColumnResult(FamilyResult):
    """A result assembled from the columns. A need's member the columns decide is given as a
    :class:`Member`, or as its bare value (a str) when it also has the family result's parameter uses and
    cites nothing. Only the record encoder reads it (``compact``)."""

    #: whether anything in it may be unknown (only a result the evaluator decided can be)
    __slots__ = ("unsure",)

    def iter_results(self) -> Iterable[TriResult]:
        return (tri for tri in FamilyResult.iter_results(self) if isinstance(tri, TriResult))

    @property
    def unknowns(self) -> list[str]:
        return FamilyResult.unknowns.fget(self) if self.unsure else []


class _Rules:
    """The columns of the rules a record holds, and the families they may assemble."""

    def __init__(self, persons: PersonColumns, families: FamilyColumns) -> None:
        compiled = persons.compiled
        self.rules = rules = compiled.rules
        self.person: dict[str, RuleColumns] = {}
        self.family: dict[str, RuleColumns] = {}
        # outcomes of a case identified earlier are judged for the needs of that date: the evaluator's
        self.assembled = ~families.identified_earlier
        #: per family: whether the columns decide every family-level rule, and every member's roles and
        #: person rules (else the evaluator is asked for some)
        self.family_known = self.person_known = self.needs_known = np.zeros(families.size, dtype=bool)
        #: per family: whether the columns decide, or word the unknowns of, every family-level rule
        #: (engine.columns.worded: a run's figures need no evaluator then)
        self.family_worded = self.family_known
        wanted = [(persons, self.person, name) for name in compiled.role_names + compiled.person_helpers]
        for name in ["family_definition", "eligible", "claimable"] + compiled.family_helpers:
            wanted.append((families, self.family, name))
        for need in compiled.needs:
            wanted.append((persons if need.subject == "person" else families,
                           self.person if need.subject == "person" else self.family, need.name))
            outcome = [rules.get(f"{need.name}.{part}") for part in ("achieved", "sustained")]
            for part in filter(None, outcome if need.name in compiled.outcome_codes else ()):
                if part.subject == "person" and need.subject == "family":
                    self.assembled[:] = False  # members' parts of a family need: the evaluator's
                wanted.append((persons if part.subject == "person" else families,
                               self.person if part.subject == "person" else self.family, part.name))
        for columns, into, name in wanted:
            found = columns._ready(name) if name in rules else None
            if found is None:  # not covered, or a framework without it (the evaluator words that unknown)
                self.assembled[:] = False
                return
            into[name] = found
        self.family_known = np.ones(families.size, dtype=bool)
        self.family_worded = np.ones(families.size, dtype=bool)
        for name in ["family_definition", "eligible", "claimable"] + compiled.family_helpers:
            known = _known(self.family[name])
            self.family_known &= known
            self.family_worded &= known if self.family[name].worded is None else known | self.family[name].worded
        person_known = np.ones(persons.size, dtype=bool)
        for name in compiled.role_names + compiled.person_helpers:
            person_known &= _known(self.person[name])
        self.person_known = np.logical_and.reduceat(person_known, families.starts)
        # per family: whether the columns decide every need's value, for the family and every member
        every_person, every_family = np.ones(persons.size, dtype=bool), np.ones(families.size, dtype=bool)
        #: per person-level need, per family: the number of the one parameter-use list its holders share
        #: (-1: no member holds the role) when the columns decide every member's role and every holder's
        #: value, else -2; and whether a holder's result cites a record (else each is its bare value)
        self.shared_list: dict[str, list[int]] = {}
        self.holder_cites: dict[str, list[bool]] = {}
        starts, no_list = families.starts, np.iinfo(np.int64).max
        for need in compiled.needs:
            if need.subject != "person":
                every_family &= _known(self.family[need.name])
                continue
            found, role = self.person[need.name], rules[need.name].role
            every_person &= _known(found)
            if role is None:
                holder = np.ones(persons.size, dtype=bool)
                doubt = ~_known(found)
            else:
                holder = self.person[role].value != NOT
                doubt = ~_known(self.person[role]) | (holder & ~_known(found))
            lowest = np.minimum.reduceat(np.where(holder, found.list_id, no_list), starts)
            highest = np.maximum.reduceat(np.where(holder, found.list_id, -1), starts)
            mixed = np.logical_or.reduceat(doubt, starts) | ((lowest != highest) & (highest >= 0))
            self.shared_list[need.name] = np.where(mixed, -2, highest).tolist()
            self.holder_cites[need.name] = np.logical_or.reduceat(holder & found.cites, starts).tolist()
        self.needs_known = every_family & np.logical_and.reduceat(every_person, starts)


def _known(found: RuleColumns) -> np.ndarray:
    known = found.value != UNSURE
    return known if found.undecided is None else known & ~found.undecided


class ColumnResults:
    """Whole results from one seeded group's columns (``PersonColumns`` and its ``families``)."""

    def __init__(self, persons: PersonColumns) -> None:
        self.persons = persons
        self.families = families = persons.families
        self.compiled = compiled = persons.compiled
        self.header = compiled.framework.header
        self.columns = _Rules(persons, families)
        self.assembled = self.columns.assembled.tolist()
        self.family_known, self.person_known = self.columns.family_known.tolist(), self.columns.person_known.tolist()
        self.family_worded = self.columns.family_worded.tolist()
        self.needs_known = self.columns.needs_known.tolist()
        self.needs = compiled.needs
        #: need values -> (headlines, scores), which depend on them alone when none is unknown
        self.summaries: dict[tuple[str, ...], tuple[dict[str, TriResult], dict[str, Any]]] = {}
        #: (rule, value, parameter-use list number, detail) -> the family-level result citing nothing
        self.plain: dict[tuple[str, str, int, str | None], TriResult] = {}
        #: list number -> (the uses as one member result's combine gives them, whether that is the same list)
        self.merged: dict[tuple[str, int], tuple[list, bool]] = {}
        self.not_identified: dict[str, OutcomeResult] = {}
        #: per family, its run figures where the columns give them at once (engine.columns.figures)
        self.figures: list | None = None
        #: (rule, value, detail) -> a result holding only its value (engine.columns.figures)
        self.bare: dict[tuple[str, str, str | None], TriResult] = {}
        #: id of a rule's columns (which these results keep alive) -> its rows' list numbers
        self.list_ids: dict[int, list[int]] = {}
        #: (need, achieved rule, sustained rule or None) of each outcome of a need the framework defines
        self.outcome_rules = [(code, compiled.rules[f"{code}.achieved"], compiled.rules.get(f"{code}.sustained"))
                              for code in compiled.outcome_codes if code in compiled.rules]

    def result(self, ev: Evaluation) -> ColumnResult | None:
        """The family's whole result, or None when the evaluator must assemble it."""
        start = ev.seeds[1][ev.members[0].person_id]
        row = self.families.row_of_start[start]
        if not self.assembled[row]:
            return None
        compiled, rules = self.compiled, self.columns.rules
        members = [m.person_id for m in ev.members]
        end = start + len(members)
        family_rule = self._family_rule
        needs: dict[str, NeedResult] = {}
        held: dict[str, list[tuple[str, str]]] = {}  # need -> (member, value) of its holders
        for need in self.needs:
            rule = rules[need.name]
            if need.subject == "person":
                result, member_results, held[need.name] = self._person_need(ev, rule, members, start, end, row)
            else:
                result, member_results = family_rule(ev, rule, row), {}
            needs[need.name] = NeedResult(need.name, need.description or need.name, need.headline, need.subject,
                                          result, member_results, need.local)
        asked = not self.family_known[row]
        if asked:  # the evaluator decides a family-level rule: what it would read of the needs is known
            for code, need in needs.items():
                ev.memo[(code, None)] = need.result
                ev.identified_needs[code] = (need.result.value, dict(held.get(code, ())))
        summary = tuple(n.result.value for n in needs.values())
        found = self.summaries.get(summary)
        if found is None:
            headlines = headline_results(compiled.framework, needs)
            found = (headlines, score_results(compiled.framework, needs, headlines))
            if UNKNOWN not in summary:  # (an unknown need's reasons are its headline's)
                self.summaries[summary] = found
        headlines, scores = found
        header = self.header
        family_definition = family_rule(ev, rules["family_definition"], row)
        eligible = family_rule(ev, rules["eligible"], row)
        outcomes = self._outcomes(ev, needs, held, row)
        if asked:
            ev._outcomes = outcomes  # (as the claim reads them)
        known = self.person_known[row]
        result = ColumnResult(
            family_id=ev.family.family_id, as_of=ev.as_of, framework_id=header.id,
            framework_version=header.version, framework_hash=compiled.hash,
            family_definition=family_definition, needs=needs, headlines=headlines, eligible=eligible,
            outcomes=outcomes, claimable=family_rule(ev, rules["claimable"], row), scores=scores,
            roles=self._values(ev, compiled.role_names, members, start, known),
            rules={name: family_rule(ev, rules[name], row) for name in compiled.family_helpers},
            person_rules=self._values(ev, compiled.person_helpers, members, start, known) if compiled.person_helpers
            else {})
        # Whether any criterion the result holds may be unknown (the evaluator's, or a member's the columns
        # word): only then are its unknowns gathered.
        result.unsure = not (self.needs_known[row] and UNKNOWN not in (
            family_definition.value, eligible.value, result.claimable.value) and not any(
            UNKNOWN in (o.achieved.value, o.sustained.value if o.sustained else None) for o in outcomes.values()))
        return result

    def _values(self, ev: Evaluation, names: list[str], members: list[str], start: int, known: bool,
                ) -> dict[str, dict[str, str]]:
        """Each member's values of person-level rules (the evaluator's where the columns leave one)."""
        person = self.columns.person
        found = {pid: {name: person[name].names[start + i] for name in names} for i, pid in enumerate(members)}
        for pid, values in () if known else found.items():
            for name, value in values.items():
                if value is None:
                    values[name] = ev.rule_result(name, pid).value
        return found

    def _member(self, ev: Evaluation, rule: RuleDef, found: RuleColumns, row: int, pid: str | None) -> TriResult:
        """A result from the columns, or from the evaluator where they leave it (unknown or undecided)."""
        if found.names[row] is None:
            return ev.rule_result(rule.name, pid)
        return self.persons.seed(ev, rule, found, row, pid)

    def _need_member(self, ev: Evaluation, rule: RuleDef, found: RuleColumns, row: int, pid: str) -> Any:
        """A member's result of a person-level need: a :class:`Member` from the columns, or the evaluator's."""
        value = found.names[row]
        if value is None:
            return ev.rule_result(rule.name, pid)
        if value == UNKNOWN:  # an unknown the columns word (engine.columns.reasons): a result with its reasons
            return self.persons.seed(ev, rule, found, row, pid)
        return Member(value, unique_evidence(self.persons.cited(ev, found, row, pid)) if found.citing[row] else [],
                      found.uses[row])

    # Family-level rules ------------------------------------------------------------------------------
    def _family_rule(self, ev: Evaluation, rule: RuleDef, row: int) -> TriResult:
        found = self.columns.family[rule.name]
        value = found.names[row]
        if value is None or found.citing[row]:
            return self._member(ev, rule, found, row, None)
        key = (rule.name, value, self._list_ids(found)[row], None)
        result = self.plain.get(key)
        if result is None:
            result = self.plain[key] = self.persons.seed(ev, rule, found, row, None)
        return result

    # Person-level needs ------------------------------------------------------------------------------
    def _person_need(self, ev: Evaluation, rule: RuleDef, members: list[str], start: int, end: int, row: int,
                     ) -> tuple[TriResult, dict[str, Any], list[tuple[str, str]]]:
        """The need's family result (``Evaluation._family_need``), its holders' results (bare values where
        the encoder writes them so) and each holder's value."""
        found = self.columns.person[rule.name]
        names = found.names
        number = self.columns.shared_list[rule.name][row]
        if number >= -1:  # the usual case: every holder's value decided, with the same parameter uses
            params, same = self._merged(found, rule.name, number) if number >= 0 else ([], True)
            if same:
                return self._decided_need(ev, rule, found, members, start, end, number, params,
                                          self.columns.holder_cites[rule.name][row])
        citing, list_id, member = found.citing, self._list_ids(found), self._need_member
        parts: dict[int, Any] = {}
        if rule.role is None:
            holders = list(range(start, end))
        else:
            role = self.columns.person[rule.role].names
            holders = [r for r in range(start, end) if role[r] != NOT_MET and (
                role[r] is not None or ev.rule_result(rule.role, members[r - start]).value != NOT_MET)]
        values = [names[r] for r in holders]
        if None in values:  # unknown, or left to the evaluator: its result, with the reasons it words
            for i, r in enumerate(holders):
                if values[i] is None:
                    parts[r] = member(ev, rule, found, r, members[r - start])
                    values[i] = parts[r].value
        held = [(members[r - start], v) for r, v in zip(holders, values)]
        value = any_met(values)
        relevant = [r for r, v in zip(holders, values) if v == value] or holders
        numbers = {list_id[r] for r in relevant}
        number, same = -1, False
        if len(numbers) <= 1 and value != UNKNOWN and not any(citing[r] or r in parts for r in relevant):
            # the usual case: one list of parameter uses and nothing cited, the same result in many families
            params: list = []
            if numbers:
                number = numbers.pop()
                params, same = self._merged(found, rule.name, number)
            result = self._plain_need(rule, value, number, params, bool(holders))
        else:
            for r in relevant:
                if r not in parts:
                    parts[r] = member(ev, rule, found, r, members[r - start])
            # (the members whose value is the family's are the ones it combines, reasons included)
            result = ev.combined(rule, value, [parts[r] for r in relevant], None)
        params = result.parameters
        results: dict[str, Any] = {}
        for r in holders:
            pid = members[r - start]
            if names[r] is not None and names[r] != UNKNOWN and not citing[r] and (
                    (same and list_id[r] == number) or same_objects(found.uses[r], params)):
                results[pid] = names[r]  # what the encoder writes for it: its bare value
            else:
                results[pid] = parts.get(r) or member(ev, rule, found, r, pid)
        return result, results, held

    def _decided_need(self, ev: Evaluation, rule: RuleDef, found: RuleColumns, members: list[str], start: int,
                      end: int, number: int, params: list[ParamUse], cites: bool,
                      ) -> tuple[TriResult, dict[str, Any], list[tuple[str, str]]]:
        """:meth:`_person_need` where the columns decide every member's role and every holder's value, and
        the holders' parameter uses are one list (``params`` as combining them gives it, the same objects):
        a holder citing nothing is its bare value, and the family's result cites nothing unless a holder
        whose value is the family's cites a record."""
        names = found.names
        if rule.role is None:
            rows: Iterable[int] = range(start, end)
        else:
            role = self.columns.person[rule.role].names
            rows = [r for r in range(start, end) if role[r] != NOT_MET]
        held = [(members[r - start], names[r]) for r in rows]
        value = MET if any(v == MET for _, v in held) else NOT_MET
        results: dict[str, Any]
        evidence: list[Evidence] = []
        if not cites:
            results = BareValues(held)
        else:
            results, citing = {}, found.citing
            for r in rows:
                pid = members[r - start]
                if citing[r]:
                    part = results[pid] = self._need_member(ev, rule, found, r, pid)
                    if part.value == value:
                        evidence += part.evidence
                else:
                    results[pid] = names[r]
        if evidence:  # (as Evaluation.combined gives it, the members whose value is the family's combined)
            return TriResult(value, rule.name, rule.kind, rule.span, rule.citations, None,
                             unique_evidence(evidence), params, [], [], None), results, held
        return self._plain_need(rule, value, number, params, bool(held)), results, held

    def _plain_need(self, rule: RuleDef, value: str, number: int, params: list[ParamUse], held: bool) -> TriResult:
        """A need's family result citing nothing, with parameter-use list ``number`` (-1: none; ``params`` as
        combining gives it): the same result in many families, made once per batch."""
        detail = None if held else f"no member is {rule.role or 'a member'}"
        key = (rule.name, value, number, detail)
        result = self.plain.get(key)
        if result is None:
            result = self.plain[key] = TriResult(value, rule.name, rule.kind, rule.span, rule.citations, None,
                                                 [], params, [], [], detail)
        return result

    def _list_ids(self, found: RuleColumns) -> list[int]:
        """Each row's number of its parameter-use list, as a Python list (read one row at a time)."""
        ids = self.list_ids.get(id(found))
        if ids is None:
            ids = self.list_ids[id(found)] = found.list_id.tolist()
        return ids

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
                  row: int) -> dict[str, OutcomeResult]:
        """``engine.rules.outcomes.outcome_results`` for needs identified on the evaluation date."""
        results: dict[str, OutcomeResult] = {}
        for code, achieved_rule, sustained_rule in self.outcome_rules:
            applicable = needs[code].result.value
            if applicable == NOT_MET:
                results[code] = self.not_identified_outcome(ev, code, achieved_rule, sustained_rule)
                continue
            members: dict[str, dict[str, TriResult]] = {}
            achieved = self._part(ev, achieved_rule, code, held, row, members, "achieved")
            sustained = None
            if sustained_rule is not None:
                sustained = self._part(ev, sustained_rule, code, held, row, members, "sustained")
            value = achieved.value if sustained is None else and2(achieved.value, sustained.value)
            results[code] = OutcomeResult(code, applicable, achieved, sustained, value,
                                          members if achieved_rule.subject == "person" else {})
        return results

    def not_identified_outcome(self, ev: Evaluation, code: str, achieved_rule: RuleDef,
                               sustained_rule: RuleDef | None) -> OutcomeResult:
        """The outcome of a need not identified on the date (the same result in every family of the batch)."""
        found = self.not_identified.get(code)
        if found is None:
            found = self.not_identified[code] = OutcomeResult(
                code, NOT_MET, _not_identified(ev, achieved_rule, code), _not_identified(ev, sustained_rule, code),
                NOT_MET)
        return found

    def _part(self, ev: Evaluation, rule: RuleDef, code: str, held: dict[str, list[tuple[str, str]]], row: int,
              members: dict[str, dict[str, TriResult]], part: str) -> TriResult:
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
            result = self._member(ev, rule, found, rows[pid], pid)
            members.setdefault(pid, {})[part] = result
            parts.append(result)
            values.append(had_and_achieved(had, result.value))
        if not parts:
            return ev.combined(rule, NOT_MET, parts, f"no current member had need {code}")
        value = all_met(values)
        return ev.combined(rule, value, parts, None)


def column_result(ev: Evaluation) -> ColumnResult | None:
    """The family's whole result from its batch's columns, or None when the evaluator must assemble it
    (the evaluation was not seeded, has an override, or its case was identified before the date)."""
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
