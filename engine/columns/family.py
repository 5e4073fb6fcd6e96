"""Family-level rules evaluated column-wise over a batch of families, and the seeding of a batch.

Once its person-level rules come from :mod:`engine.columns.person`, what a family still evaluates one
rule at a time is family-level: the needs read from the family's own records (domestic abuse, rent
accounts), the family definition, the eligibility helpers and condition, eligibility itself and the
family-level outcome parts. :class:`FamilyColumns` evaluates them with the same machinery, one row per
family instead of one per member, and each family's evaluator takes its result from there
(``Evaluation.seeds``; :meth:`PersonColumns.family_result`).

On top of what the person-level columns cover, a family-level rule may use:

- aggregates over the family's records (``any rent_account of family ...``): every record of the
  family's current members and the family's own;
- ``any/none/all/count member is ROLE`` with no further test, or over all members: the evaluator asks
  every member's result of the role in turn and folds each in (its records and parameter uses, member
  by member), whatever decides the quantifier, and so does this;
- ``count of needs`` and ``count of distinct headlines`` (optionally under given headlines): each need's
  family value is read, and nothing of it is cited - an unknown need only widens the count;
- references to other family-level rules.

Anything else (a member test, a family attribute, a referenced person-level need, ``all needs have
sustained outcomes``...) leaves the rule to the evaluator, as do unknown results. Tests compare the
stored records of seeded and unseeded evaluation byte for byte.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.columns.person import Facts, PersonColumns, RuleColumns, Unsupported
from engine.columns.values import NOT, UNSURE, YES, Num
from engine.rules import ir
from engine.rules.results import ParamUse, TriResult

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation, RuleDef


def family_rules(framework: ir.Framework) -> dict[str, tuple[str, str, ir.Expr, str | None]]:
    """Every family-level rule the evaluator may run: name -> (kind, subject, condition, role)."""
    found: dict[str, tuple[str, str, ir.Expr, str | None]] = {}
    for rule in list(framework.rules) + (list(framework.claim.alternatives) if framework.claim else []):
        if rule.subject == "family":
            found[rule.name] = ("rule", "family", rule.condition, None)
    for need in framework.needs:
        if need.subject == "family":
            found[need.name] = ("need", "family", need.condition, None)
    for outcome in framework.outcomes:
        if outcome.subject == "family":
            found[f"{outcome.need}.achieved"] = ("outcome_achieved", "family", outcome.achieved, None)
            if outcome.sustained is not None:
                found[f"{outcome.need}.sustained"] = ("outcome_sustained", "family", outcome.sustained, None)
    if framework.eligibility is not None:
        e = framework.eligibility
        found["family_definition"] = ("family_definition", "family", e.family_definition, None)
        found["eligibility_condition"] = ("eligibility_condition", "family", e.condition, None)
        both = ir.And(args=(ir.RuleRef(name="family_definition"), ir.RuleRef(name="eligibility_condition")))
        found["eligible"] = ("eligible", "family", both, None)
    if framework.claim is not None:
        found["claimable"] = ("claimable", "family", framework.claim.condition, None)
    return found


class FamilyColumns(PersonColumns):
    """The batch's family-level results, one row per family (its members are consecutive rows of the
    person-level columns ``persons``, starting at ``starts``)."""

    scope = "family"

    def __init__(self, persons: PersonColumns, evaluations: list[Evaluation]) -> None:
        self.persons = persons
        self.compiled, self.as_of, self.first, self.params = persons.compiled, persons.as_of, persons.first, persons.params
        self.defs = family_rules(self.compiled.framework)
        self.rules: dict[str, RuleColumns | None] = {}
        self.ready: dict[str, RuleColumns | None] = {}
        self.fact_columns: dict[str, Facts] = {}
        self.size = len(evaluations)
        first_rows = [ev.seeds[1][ev.members[0].person_id] for ev in evaluations]
        self.starts = np.array(first_rows, dtype=np.int64)
        self.row_of_start = {start: f for f, start in enumerate(first_rows)}
        #: role -> (each family's key into the table, the table of parameter-use lists, whether it cites)
        self.member_uses: dict[str, tuple[np.ndarray, list[list[ParamUse]], np.ndarray]] = {}
        self._gather_family_facts(evaluations)

    def _gather_family_facts(self, evaluations: list[Evaluation]) -> None:
        owners: dict[str, list[int]] = {}
        records: dict[str, list] = {}
        for f, ev in enumerate(evaluations):
            for (person, name), (_, facts) in ev._facts.items():
                if person is None:  # the family's scope: its current members' records and its own
                    owners.setdefault(name, []).extend([f] * len(facts))
                    records.setdefault(name, []).extend(facts)
        for name, facts in records.items():
            self.fact_columns[name] = self._fact_columns(name, owners[name], facts)

    # Seeds ------------------------------------------------------------------------------------------
    def result(self, ev: Evaluation, rule: RuleDef, person_id: str | None = None) -> TriResult | None:
        """The family's result of ``rule``, or None when it is left to the evaluator."""
        found = self.ready.get(rule.name, False)
        if found is False:
            found = self._ready(rule.name)
        if found is None:
            return None
        return self.seed(ev, rule, found, self.row_of_start[ev.seeds[1][ev.members[0].person_id]], None)

    # Conditions and values --------------------------------------------------------------------------
    def tri(self, node: Any, reach: np.ndarray | None, reads: list[tuple] | None,
            scope: Facts | None = None) -> np.ndarray:
        if scope is None and node.kind == "members" and node.quant != "count":
            met, unsure = self.members(node, reach, reads)
            found = np.where(met > 0, YES, np.where(unsure > 0, UNSURE, NOT)).astype(np.int8)
            if node.quant == "any":
                return found
            if node.quant == "none":
                return (2 - found).astype(np.int8)
            return np.full(self.size, YES, dtype=np.int8)  # "all": with no test, every holder passes
        if node.kind == "has_role":
            raise Unsupported("a role asked of a family")  # (the evaluator reports the framework's error)
        return super().tri(node, reach, reads, scope)

    def value(self, node: Any, reach: np.ndarray | None, reads: list[tuple] | None,
              scope: Facts | None) -> Any:
        if scope is None and node.kind == "need_count":
            return self.need_count(node)
        if scope is None and node.kind == "members" and node.quant == "count":
            met, unsure = self.members(node, reach, reads)
            no = np.zeros(self.size, dtype=bool)
            return Num(met.astype(np.float64), (met + unsure).astype(np.float64), no, no, False)
        return super().value(node, reach, reads, scope)

    def ages(self) -> Num:
        raise Unsupported("a person's age asked of a family")

    def members(self, node: ir.Members, reach: np.ndarray | None, reads: list[tuple] | None,
                ) -> tuple[np.ndarray, np.ndarray]:
        """Per family, how many members surely and how many possibly hold the role (all members when
        the quantifier names none)."""
        if node.test is not None:
            raise Unsupported("a test of each member")
        counts = np.diff(np.append(self.starts, self.persons.size))
        if node.role is None:
            return counts, np.zeros(self.size, dtype=np.int64)
        role = self.persons._ready(node.role)
        if role is None or reads is None:
            raise Unsupported(f"role {node.role} is not covered")
        holds = role.value
        met = np.add.reduceat((holds == YES).astype(np.int64), self.starts)
        unsure = np.add.reduceat((holds == UNSURE).astype(np.int64), self.starts)
        reads.append(("members", node.role, reach if reach is not None else np.ones(self.size, dtype=bool),
                      *self._member_uses(node.role, role)))
        return met, unsure

    def _member_uses(self, name: str, role: RuleColumns) -> tuple[np.ndarray, list[list[ParamUse]], np.ndarray]:
        """Each family's parameter uses from its members' results of the role, gathered member by member
        as the evaluator folds them in (as a key into a table of the distinct lists), and whether any of
        those results cites a record."""
        found = self.member_uses.get(name)
        if found is None:
            list_ids = role.list_id.tolist()
            bounds = self.starts.tolist() + [self.persons.size]
            number: dict[tuple[int, ...], int] = {}
            table: list[list[ParamUse]] = []
            keys = np.empty(self.size, dtype=np.int64)
            for f in range(self.size):
                sequence = tuple(dict.fromkeys(list_ids[bounds[f]:bounds[f + 1]]))
                key = number.get(sequence)
                if key is None:
                    uses: dict[str, ParamUse] = {}
                    for list_id in sequence:
                        uses.update((p.name, p) for p in role.lists[list_id])
                    key = number[sequence] = len(table)
                    table.append(list(uses.values()))
                keys[f] = key
            cites = np.logical_or.reduceat(role.cites, self.starts)
            found = self.member_uses[name] = (keys, table, cites)
        return found

    def need_count(self, node: ir.NeedCount) -> Num:
        """``count of needs`` (or of distinct headlines): met ones, and as many again possibly met."""
        met: dict[str, np.ndarray] = {}
        unsure: dict[str, np.ndarray] = {}
        for need in self.compiled.needs:
            if node.headlines is not None and need.headline not in node.headlines:
                continue
            value = self.need_value(need)
            key = need.headline if node.distinct_headlines else need.name
            met[key] = met[key] | (value == YES) if key in met else value == YES
            unsure[key] = unsure[key] | (value == UNSURE) if key in unsure else value == UNSURE
        low = np.zeros(self.size, dtype=np.float64)
        high = np.zeros(self.size, dtype=np.float64)
        for key, sure in met.items():
            low += sure
            high += sure | unsure[key]
        no = np.zeros(self.size, dtype=bool)
        return Num(low, high, no, no, False)

    def need_value(self, need: Any) -> np.ndarray:
        """A need's family value: a member-level need is met when any member holding its role meets it
        (a member not holding it is "not met" in its column), else unknown when any may."""
        if need.subject == "person":
            found = self.persons._ready(need.name)
            if found is None:
                raise Unsupported(f"need {need.name} is not covered")
            return np.maximum.reduceat(found.value, self.starts)
        found = self.rule(need.name)
        if found is None:
            raise Unsupported(f"need {need.name} is not covered")
        return found.value


def seed_batch(compiled: Any, evaluations: list[Evaluation]) -> None:
    """Give a batch's bulk evaluations (sharing on: no trace, override or what-if value) their members'
    and families' results column-wise, per coverage, parameters and date (a run's families share them)."""
    groups: dict[tuple[int, int, date], list[Evaluation]] = {}
    for ev in evaluations:
        if ev.shared is not None and ev.members:
            groups.setdefault((ev.coverage_id, id(ev.params), ev.as_of), []).append(ev)
    for (_, _, day), group in groups.items():
        persons = PersonColumns(compiled, group, day)
        persons.families = FamilyColumns(persons, group)


__all__ = ["FamilyColumns", "family_rules", "seed_batch"]
