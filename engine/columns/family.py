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
- ``any/none/all/count member [is ROLE] [has TEST]``: the evaluator asks every member's result of the
  role in turn and folds each in (its records and parameter uses, member by member), then tries the test
  on each member who may hold it, folding in what the test read for that member; so does this, with the
  test evaluated over the member rows;
- ``count of needs`` and ``count of distinct headlines`` (optionally under given headlines): each need's
  family value is read, and nothing of it is cited - an unknown need only widens the count;
- ``all_outcomes_achieved()`` / ``all_outcomes_sustained()`` (the claim): every identified need's outcome,
  which cites nothing. Outcomes are judged for the needs identified on the evaluation date; a family
  whose case was identified earlier is left to the evaluator (rows these columns leave *undecided*,
  kept apart from unknown values, and so is any result reading one);
- references to other family-level rules.

Anything else (a family attribute, a referenced person-level need by name, a record test with a
parameter under and/or) leaves the rule to the evaluator, as do unknown results (whose reasons a run's
figures take from :mod:`engine.columns.worded` where the sources they reached allow: the counts of needs,
outcomes and member quantifiers note theirs among the rule's reads). Tests compare the
stored records of seeded and unseeded evaluation byte for byte. :meth:`FamilyColumns.outcome` and
:meth:`FamilyColumns.need_value` also give the values :mod:`engine.columns.summary` reads.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.columns.facts import Facts
from engine.columns.person import PersonColumns, RuleColumns, Unsupported
from engine.columns.values import NOT, UNSURE, YES, Counted, Num
from engine.rules import ir
from engine.rules.named import named_rules
from engine.rules.results import ParamUse, TriResult

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation, RuleDef


#: the claim helpers over every identified need's outcome, by the part they ask for
_ALL_OUTCOMES = {"all_outcomes_achieved": "achieved", "all_outcomes_sustained": "sustained"}


def family_rules(framework: ir.Framework) -> dict[str, tuple[str, str, ir.Expr, str | None]]:
    """Every family-level rule the evaluator may run: name -> (kind, subject, condition, role). A role
    decides nothing without a person in scope, so none is given."""
    return {r.name: (r.kind, "family", r.condition, None) for r in named_rules(framework) if r.subject == "family"}


class FamilyColumns(PersonColumns):
    """The batch's family-level results, one row per family (its members are consecutive rows of the
    person-level columns ``persons``, starting at ``starts``)."""

    scope = "family"
    #: the batch's whole results (engine.columns.assemble), made when the first is asked for
    results: Any = None

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
        #: a member quantifier's (node, (each family's key into the table, the table of parameter-use lists,
        #: whether it cites)), by its role and the node's identity (the entry holds the node)
        self.member_uses: dict[tuple[str | None, int], tuple[ir.Members, tuple]] = {}
        #: outcome code -> its family values (:meth:`outcome`)
        self.outcomes: dict[str, tuple] = {}
        #: what engine.columns.worded works out once per batch (need values, which rows it words, reasons)
        self.worded_cache: dict[tuple, Any] = {}
        #: families whose case was identified before the evaluation date: their outcomes are judged for the
        #: needs identified then, which these columns (of the evaluation date) do not hold
        self.identified_earlier = np.array(
            [ev.family.case.identified is not None and ev.family.case.identified < ev.as_of for ev in evaluations],
            dtype=bool)
        self.records = persons.records

    def facts_of(self, name: str) -> Facts:
        found = self.fact_columns.get(name)
        if found is None:
            found = self.fact_columns[name] = self._fact_columns(name, *self.records.family(name))
        return found

    # Seeds ------------------------------------------------------------------------------------------
    def result(self, ev: Evaluation, rule: RuleDef, person_id: str | None = None) -> TriResult | None:
        """The family's result of ``rule``, or None when it is left to the evaluator."""
        found = self._ready(rule.name)
        if found is None:
            return None
        return self.seed(ev, rule, found, self.row_of_start[ev.seeds[1][ev.members[0].person_id]], None)

    # Conditions and values --------------------------------------------------------------------------
    def tri(self, node: Any, reach: np.ndarray | None, reads: list[tuple] | None,
            scope: Facts | None = None) -> np.ndarray:
        if scope is None and node.kind == "members" and node.quant != "count":
            met, unsure, violated, doubtful = self.members(node, reach, reads)
            if node.quant == "all":  # "every member who is R has C": a sure holder failing C breaks it
                return np.where(violated, NOT, np.where(doubtful, UNSURE, YES)).astype(np.int8)
            found = np.where(met > 0, YES, np.where(unsure > 0, UNSURE, NOT)).astype(np.int8)
            return found if node.quant == "any" else (2 - found).astype(np.int8)
        if scope is None and node.kind == "call" and node.fn in _ALL_OUTCOMES:
            if reads is None:
                raise Unsupported("all outcomes inside a record test")
            value, undecided = self.all_outcomes(_ALL_OUTCOMES[node.fn])
            reads.append(("undecided", undecided))
            reads.append(("outcomes", _everywhere(reach, self.size), _ALL_OUTCOMES[node.fn]))
            return value
        if node.kind == "has_role":
            raise Unsupported("a role asked of a family")  # (the evaluator reports the framework's error)
        return super().tri(node, reach, reads, scope)

    def value(self, node: Any, reach: np.ndarray | None, reads: list[tuple] | None,
              scope: Facts | None) -> Any:
        if scope is None and node.kind == "need_count":
            return self.need_count(node, reach, reads)
        if scope is None and node.kind == "members" and node.quant == "count":
            met, unsure, _, _ = self.members(node, reach, reads)
            no = np.zeros(self.size, dtype=bool)
            return Num(met.astype(np.float64), (met + unsure).astype(np.float64), no, no, False)
        return super().value(node, reach, reads, scope)

    def ages(self) -> Num:
        raise Unsupported("a person's age asked of a family")

    def aggregate(self, node: ir.Aggregate, reach: np.ndarray, reads: list[tuple]) -> Any:
        if reads is not None and reach is not None:  # (the family's records are read: engine.columns.worded)
            reads.append(("doubt", reach))
        return super().aggregate(node, reach, reads)

    def members(self, node: ir.Members, reach: np.ndarray | None, reads: list[tuple] | None,
                ) -> tuple[np.ndarray, ...]:
        """Per family: how many members surely and how many possibly hold the role and pass the test
        (all members, and no test, when the quantifier names none), and for "every": whether a sure
        holder surely fails the test, and whether any holder may. Like the evaluator, every member's
        result of the role is read, and the test is tried on every member who may hold it."""
        persons = self.persons
        if reads is None:
            raise Unsupported("a member quantifier inside a record test")
        reach = reach if reach is not None else np.ones(self.size, dtype=bool)
        if node.role is None:
            holds, role = np.full(persons.size, YES, dtype=np.int8), None
        else:
            role = persons._ready(node.role)
            if role is None:
                raise Unsupported(f"role {node.role} is not covered")
            holds = role.value
        test = None
        passed = np.full(persons.size, YES, dtype=np.int8)
        if node.test is not None:
            tried = np.repeat(reach, np.diff(np.append(self.starts, persons.size))) & (holds != NOT)
            test_reads: list[tuple] = []
            passed = persons.tri(node.test, tried, test_reads)
            test = persons._columns(passed, test_reads)
        holder = holds != NOT
        both = np.minimum(holds, passed)
        met = np.add.reduceat((holder & (both == YES)).astype(np.int64), self.starts)
        unsure = np.add.reduceat((holder & (both == UNSURE)).astype(np.int64), self.starts)
        broken = (holds == YES) & (passed == NOT)
        violated = np.logical_or.reduceat(broken, self.starts)
        doubtful = np.logical_or.reduceat(holder & (passed != YES) & ~broken, self.starts)
        if role is not None or test is not None:  # (a "members" read reached: engine.columns.worded)
            reads.append(("members", node.role, reach, *self._member_uses(node, role, test, holder), test))
            if test is not None and test.undecided is not None:
                reads.append(("undecided", np.logical_or.reduceat(test.undecided, self.starts)))
        return met, unsure, violated, doubtful

    def _member_uses(self, node: ir.Members, role: RuleColumns | None, test: RuleColumns | None,
                     holder: np.ndarray) -> tuple[np.ndarray, list[list[ParamUse]], np.ndarray]:
        """Each family's parameter uses from a member quantifier, gathered member by member as the
        evaluator folds them in (the member's result of the role, then what the test read for it), as a
        key into a table of the distinct lists; and whether any of those results cites a record."""
        cache_key = (node.role, id(node))
        found = self.member_uses.get(cache_key)
        if found is not None and found[0] is node:
            return found[1]
        size = self.persons.size
        role_ids = role.list_id.tolist() if role is not None else [-1] * size
        test_ids = np.where(holder, test.list_id, -1).tolist() if test is not None else [-1] * size
        bounds = self.starts.tolist() + [size]
        number: dict[tuple[int, ...], int] = {}
        table: list[list[ParamUse]] = []
        keys = np.empty(self.size, dtype=np.int64)
        for f in range(self.size):
            sequence = tuple(zip(role_ids[bounds[f]:bounds[f + 1]], test_ids[bounds[f]:bounds[f + 1]]))
            key = number.get(sequence)
            if key is None:
                uses: dict[str, ParamUse] = {}
                for role_id, test_id in sequence:
                    if role_id >= 0:
                        uses.update((p.name, p) for p in role.lists[role_id])
                    if test_id >= 0:
                        uses.update((p.name, p) for p in test.lists[test_id])
                key = number[sequence] = len(table)
                table.append(list(uses.values()))
            keys[f] = key
        cites = np.zeros(size, dtype=bool)
        if role is not None:
            cites |= role.cites
        if test is not None:
            cites |= test.cites & holder
        result = (keys, table, np.logical_or.reduceat(cites, self.starts))
        self.member_uses[cache_key] = (node, result)
        return result

    # Outcomes ---------------------------------------------------------------------------------------
    def outcome(self, code: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """An outcome's family values - whether its need was identified, achieved, sustained (None when
        the framework has no sustained part) and the outcome - and the families these columns cannot
        decide: those whose case was identified before the evaluation date (their needs are judged on
        that date) and, where the need was identified, those whose parts are left to the evaluator."""
        found = self.outcomes.get(code)
        if found is None:
            need = self.compiled.framework.need(code)
            applicable = self.need_value(need)
            undecided = self.identified_earlier | False
            parts = []
            for suffix in ("achieved", "sustained"):
                name = f"{code}.{suffix}"
                if name not in self.compiled.rules:
                    parts.append(None)
                    continue
                value, left = self.outcome_part(name, code, self.compiled.rules[name].subject)
                undecided |= left & (applicable != NOT)
                parts.append(value)
            achieved, sustained = parts
            value = achieved if sustained is None else np.minimum(achieved, sustained)
            value = np.where(applicable == NOT, NOT, value).astype(np.int8)
            found = self.outcomes[code] = (applicable, achieved, sustained, value, undecided)
        return found

    def outcome_part(self, name: str, code: str, subject: str) -> tuple[np.ndarray, np.ndarray]:
        """A part's family value (the evaluator's ``family_outcome`` for a member-level part: every member
        who had the need achieves it, Kleene "for all"), and the families it cannot decide."""
        if subject == "family":
            found = self.rule(name)
            if found is None:
                return np.full(self.size, UNSURE, dtype=np.int8), np.ones(self.size, dtype=bool)
            left = np.zeros(self.size, dtype=bool) if found.undecided is None else found.undecided
            return found.value, left
        part, had = self.persons._ready(name), self.persons._ready(code)
        if part is None or had is None:
            return np.full(self.size, UNSURE, dtype=np.int8), np.ones(self.size, dtype=bool)
        counted = had.value != NOT
        each = np.where(part.value == YES, YES, np.where((had.value == YES) & (part.value == NOT), NOT, UNSURE))
        failed = np.logical_or.reduceat(counted & (each == NOT), self.starts)
        doubtful = np.logical_or.reduceat(counted & (each == UNSURE), self.starts)
        value = np.where(failed, NOT, np.where(doubtful, UNSURE, YES))
        value = np.where(np.logical_or.reduceat(counted, self.starts), value, NOT).astype(np.int8)
        return value, np.zeros(self.size, dtype=bool)

    def all_outcomes(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """``all_outcomes_achieved()`` / ``..._sustained()`` (engine.rules.outcomes.all_outcomes): every
        identified need's outcome is, and some need is surely identified. It cites nothing."""
        outcomes = self.compiled.outcomes
        any_identified = np.zeros(self.size, dtype=bool)
        surely = np.zeros(self.size, dtype=bool)
        failed = np.zeros(self.size, dtype=bool)
        doubtful = np.zeros(self.size, dtype=bool)
        undecided = self.identified_earlier | False
        for need in self.compiled.needs:
            if need.name in outcomes and need.name in self.compiled.rules:
                applicable, achieved, _, value, left = self.outcome(need.name)
                value = achieved if part == "achieved" else value
                undecided |= left
            else:  # a need with no outcome rule: not met where surely identified
                applicable = self.need_value(need)
                value = np.full(self.size, NOT, dtype=np.int8)
            identified = applicable != NOT
            any_identified |= identified
            surely |= applicable == YES
            failed |= identified & (value == NOT) & (applicable == YES)
            doubtful |= identified & ~((value == NOT) & (applicable == YES)) & (value != YES)
        value = np.where(~any_identified | failed, NOT, np.where(doubtful | ~surely, UNSURE, YES)).astype(np.int8)
        return value, undecided

    def need_count(self, node: ir.NeedCount, reach: np.ndarray | None = None, reads: list[tuple] | None = None,
                   ) -> Counted:
        """``count of needs`` (or of distinct headlines): met ones, and as many again possibly met."""
        met: dict[str, np.ndarray] = {}
        unsure: dict[str, np.ndarray] = {}
        counted = [need for need in self.compiled.needs if node.headlines is None or need.headline in node.headlines]
        if reads is not None:
            reads.append(("needs", _everywhere(reach, self.size), [need.name for need in counted]))
        for need in counted:
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
        return Counted(low, high, no, no, False)

    def need_value(self, need: Any) -> np.ndarray:
        """A need's family value: a member-level need is met when any member holding its role meets it
        (a member not holding it is "not met" in its column), else unknown when any may."""
        if need.subject == "person":
            found = self.persons._ready(need.name)
            if found is None:
                raise Unsupported(f"need {need.name} is not covered")
            return np.maximum.reduceat(found.value, self.starts)
        found = self.rule(need.name)
        if found is None or (found.undecided is not None and found.undecided.any()):
            raise Unsupported(f"need {need.name} is not covered")
        return found.value


def _everywhere(reach: np.ndarray | None, size: int) -> np.ndarray:
    return reach if reach is not None else np.ones(size, dtype=bool)


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
