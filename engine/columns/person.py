"""Person-level rules evaluated column-wise over a batch of families, as seeds for the per-family evaluator.

Bulk profiling evaluates every role, person helper rule, member need and outcome part for every member
of every family: most of a family's criteria. :class:`PersonColumns` evaluates each such rule once for
all the batch's members with NumPy (three values as int8: 0 not met, 1 unknown, 2 met; numbers and
dates as float bounds, so a count known only within bounds compares as the evaluator's ranges do), and
each family's :class:`~engine.rules.evaluator.Evaluation` takes a member's result from it instead of
running the rule (``Evaluation.seeds``).

A seeded result must be the one the per-family evaluator would build, exactly:

- its **value**;
- the **facts cited**: an aggregate cites the records it selected whose ``where`` was met or unknown,
  whatever its test decided, and a referenced rule's facts come with it - but only where evaluation
  reached them, since a Kleene ``and``/``or`` stops at its first deciding argument (a *reach* mask per
  sub-expression);
- the **parameter uses, in the order they were first read** (the encoder compares a member's list with
  the family's by position): a window's length when its aggregate runs, a ``where``'s parameters when it
  was tried on at least one record, a test's when it was tried on one, a comparison's left side before its
  right, a referenced rule's uses where it is referenced.

An unknown result is seeded only when the columns word its reasons as the evaluator would: a period of
attendance missing from the window, or a missing date of birth, and nothing else in doubt
(:mod:`engine.columns.reasons`); any other unknown is worded by the evaluator, which computes it when
asked. Covered (the aggregates are :mod:`engine.columns.aggregates`'): ``any``/``none``/``every``/
``count``/``latest``/``earliest`` over events and states registers and ``every``/``rate`` over periodic
records in a window, comparisons, and/or/not, age,
parameters, the evaluation date and arithmetic on known values, roles and person rules. A rule using
anything else (a family-scope aggregate - :mod:`engine.columns.family` has those -, ``sum``/``min``/
``max``/``average``, a window anchored on a case date, a person attribute other than age, a parameter in
a record test after the first argument of and/or, a built-in function, date arithmetic per record, a rule
that is itself not covered) is not seeded at all: the evaluator runs it as before. Tests compare the
stored records of seeded and unseeded evaluation byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.columns.aggregates import RecordAggregates
from engine.columns.facts import Facts, fact_columns, field_column
from engine.columns.gather import BatchRecords
from engine.columns.reasons import NO_BIRTH_DATE, explain_rows, reasons_of
from engine.columns.values import (
    MIRROR, NAMES, NOT, UNSURE, YES, Const, Counted, Num, Obj, Unsupported, arith_columns, arith_values,
    compare_numbers, compare_objects, compare_values, group_rows,
)
from engine.columns.worded import worded_rows
from engine.rules import ir
from engine.rules.calendar import age_on
from engine.rules.results import UNKNOWN, ParamUse, TriResult, unique_evidence
from engine.rules.sharing import person_rules
from engine.rules.values import UNK, NoRecord

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation, RuleDef

#: value names by int8 code; unknown results are left to the evaluator (None) unless the columns word them
_VALUE_NAMES = np.array([NAMES[NOT], None, NAMES[YES]], dtype=object)
_BUSY: Any = object()  # a rule under evaluation (a rule reaching itself is left to the evaluator)


@dataclass
class RuleColumns:
    """A rule's results for every member: values, and what each member's result cites."""

    value: np.ndarray
    #: per member, the number of its parameter-use list in ``lists``
    list_id: np.ndarray
    lists: list[list[ParamUse]]
    #: the fact columns whose records the rule's own aggregates cited (``own_rows`` holds which)
    own_facts: list[Facts]
    #: (referenced rule, per member whether its evaluation reached it): a reached rule's records come too
    refs: list[tuple[str, list[bool]]]
    #: per member: whether its result cites any record (its own or a reached reference's)
    cites: np.ndarray
    #: (role or None, per family whether its evaluation reached a quantifier over the members holding it,
    #: the member test's columns or None): every member's result of the role comes too, and what the test
    #: cited for each member it tried (family-level rules only: engine.columns.family)
    member_refs: list[tuple[str | None, list[bool], RuleColumns | None]] = field(default_factory=list)
    #: rows whose value these columns could not decide (they read something left to the evaluator): left
    #: to the evaluator like unknown ones, and never read as values
    undecided: np.ndarray | None = None
    #: unknown rows whose reasons these columns word (engine.columns.reasons), and the reasons' sources;
    #: every other unknown row is the evaluator's
    explained: np.ndarray | None = None
    why: list = field(default_factory=list)
    #: a family-level rule's unknown rows whose reasons the columns give for a run's figures, and their
    #: sources (engine.columns.worded); the records and explanations still take them from the evaluator
    worded: np.ndarray | None = None
    worded_why: list = field(default_factory=list)
    #: per ``own_facts``: the cited rows and their members' numbers, ascending (what a stored batch keeps:
    #: engine.columns.stored)
    own_rows: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    #: ``refs``' and ``member_refs``' reach as arrays (likewise)
    reach_arrays: list[np.ndarray] = field(default_factory=list)

    # The same as Python lists, for reading one member at a time (assembling a family's result); made
    # when first read, as a batch stored as columns (engine.columns.stored) never reads them.
    @cached_property
    def names(self) -> list:
        """Each row's value name (None: left to the evaluator)."""
        names = _VALUE_NAMES[self.value]
        if self.undecided is not None:
            names[self.undecided] = None
        if self.explained is not None:
            names[self.explained] = UNKNOWN
        return names.tolist()

    @cached_property
    def uses(self) -> list:
        """Each row's parameter uses."""
        lists = np.empty(len(self.lists), dtype=object)
        for i, uses in enumerate(self.lists):
            lists[i] = uses
        return lists[self.list_id].tolist()

    @cached_property
    def own(self) -> list[tuple[Facts, list[int], list[int]]]:
        """The records the rule's own aggregates cited: (fact columns, cited rows in member order, where each
        member's rows start in that list)."""
        ends = np.arange(len(self.value) + 1)
        return [(columns, rows.tolist(), np.searchsorted(owners, ends).tolist())
                for columns, (rows, owners) in zip(self.own_facts, self.own_rows)]

    @cached_property
    def citing(self) -> list:
        """Whether each row cites any record."""
        return self.cites.tolist()


class PersonColumns(RecordAggregates):
    """The batch's person-level results; ``Evaluation.seeds`` asks :meth:`result` for one (and
    :meth:`family_result` for a family-level rule, which :mod:`engine.columns.family` evaluates)."""

    #: the scope of the aggregates this class reads records for (one row per member)
    scope = "person"
    #: the batch's family-level results, when a batch has them
    families: Any = None

    def __init__(self, compiled: Any, evaluations: list[Evaluation], as_of: date) -> None:
        self.compiled, self.as_of = compiled, as_of
        self.first = evaluations[0]
        self.params = self.first.params
        self.defs = person_rules(compiled.framework)
        self.rules: dict[str, RuleColumns | None] = {}
        #: rule name -> its columns (None: left to the evaluator), for :meth:`result`
        self.ready: dict[str, RuleColumns | None] = {}
        self.fact_columns: dict[str, Facts] = {}
        self.members: list = []
        for ev in evaluations:
            if ev.params is not self.params or ev.coverage != self.first.coverage or ev.as_of != as_of:
                raise ValueError("a batch's seeded evaluations must share date, parameters and coverage")
            ev.seeds = (self, {m.person_id: len(self.members) + i for i, m in enumerate(ev.members)})
            self.members.extend(ev.members)
        self.size = len(self.members)
        self._age: Num | None = None
        self._gather_facts(evaluations)

    def release(self) -> None:
        """Let go of the batch's evaluation and family-level columns once every result is taken: they hold
        these columns in turn, and reference counting frees a batch without such cycles at once, where the
        cyclic collector would otherwise scan all of it (a tenth of a batch's time). Nothing can be read
        from these columns afterwards."""
        families, self.families, self.first = self.families, None, None
        if families is not None:
            families.results = families.first = None

    # Seeds ------------------------------------------------------------------------------------------
    def _ready(self, name: str) -> RuleColumns | None:
        """A rule's columns for :meth:`result` (None: left to the evaluator), evaluated on first use."""
        found = self.ready.get(name, False)
        if found is False:
            found = self.ready[name] = self.rule(name) if name in self.defs else None
        return found

    def result(self, ev: Evaluation, rule: RuleDef, person_id: str) -> TriResult | None:
        """The member's result of ``rule``, or None when it is left to the evaluator."""
        found = self.ready.get(rule.name, False)
        if found is False:
            found = self._ready(rule.name)
        if found is None:
            return None
        return self.seed(ev, rule, found, ev.seeds[1][person_id], person_id)

    @staticmethod
    def seed(ev: Evaluation, rule: RuleDef, found: RuleColumns, row: int, person_id: str | None) -> TriResult | None:
        """The result ``row`` of ``found`` gives the subject (a member, or the family when ``person_id`` is
        None), or None when it is unknown: the facts its aggregates cited and those of the references its
        evaluation reached, and its parameter uses."""
        value = found.names[row]
        if value is None:
            return None
        evidence: list = []
        if found.citing[row]:
            evidence = PersonColumns.cited(ev, found, row, person_id)
            for role, reached, test in found.member_refs:
                if reached[row]:
                    for member in ev.members:
                        if role is not None:
                            evidence.extend(ev.rule_result(role, member.person_id).evidence)
                        if test is not None:
                            evidence.extend(PersonColumns.cited(ev, test, ev.seeds[1][member.person_id],
                                                                member.person_id))
            evidence = unique_evidence(evidence)
        reasons = reasons_of(found, ev.seeds[0].rules, row, f"person {person_id}") if value == UNKNOWN else []
        return TriResult(value, rule.name, rule.kind, rule.span, rule.citations, person_id, evidence,
                         list(found.uses[row]), reasons, [], None)

    @staticmethod
    def cited(ev: Evaluation, found: RuleColumns, row: int, person_id: str | None) -> list:
        """What row ``row`` of ``found`` cites itself: its aggregates' records and its reached references'."""
        evidence: list = []
        for columns, rows, starts in found.own:
            first, last = starts[row], starts[row + 1]
            if first != last:
                evidence_of, facts = ev.evidence_of, columns.facts
                evidence += [evidence_of(facts[r]) for r in rows[first:last]]
        for ref, reached in found.refs:
            if reached[row]:
                evidence.extend(ev.rule_result(ref, person_id).evidence)
        return evidence

    def family_result(self, ev: Evaluation, rule: RuleDef) -> TriResult | None:
        """The family's result of a family-level ``rule``, or None when it is left to the evaluator."""
        return None if self.families is None else self.families.result(ev, rule)

    def rule(self, name: str) -> RuleColumns | None:
        """The rule's columns, evaluated on first use; None when it is left to the evaluator."""
        found = self.rules.get(name, False)
        if found is _BUSY:
            raise Unsupported(f"rule {name} refers to itself")
        if found is not False:
            return found
        self.rules[name] = _BUSY
        try:
            found = self._evaluate(name)
        except Unsupported:
            found = None
        except (ArithmeticError, LookupError, TypeError, ValueError):
            # Data this module did not foresee: the evaluator, which defines every result (and reports a
            # framework's own errors in its words), decides for this rule. Never a different answer.
            found = None
        self.rules[name] = found
        return found

    def _evaluate(self, name: str) -> RuleColumns:
        kind, _, condition, role = self.defs[name]
        reads: list[tuple] = []
        everyone = np.ones(self.size, dtype=bool)
        if kind == "need" and role is not None:
            held = self.ref(role, everyone, reads)
            # not a holder: not met (Kleene and, as the evaluator's and2)
            value = np.minimum(held, self.tri(condition, everyone & (held != NOT), reads)).astype(np.int8)
        else:
            value = self.tri(condition, everyone, reads)
        return self._columns(value, reads, explain=self.scope == "person")

    def _columns(self, value: np.ndarray, reads: list[tuple], explain: bool = False) -> RuleColumns:
        keys, events, refs, member_refs = [], [], [], []
        own: list[Facts] = []
        own_rows: list[tuple[np.ndarray, np.ndarray]] = []
        ref_reach, member_reach = [], []
        cites = np.zeros(self.size, dtype=bool)
        undecided = None
        for read in reads:
            if read[0] == "undecided":
                undecided = read[1] if undecided is None else undecided | read[1]
            elif read[0] in ("doubt", "gaps", "needs", "outcomes"):
                continue  # (sources of unknowns: explain_rows and worded_rows read them)
            elif read[0] == "param":
                keys.append(read[2].astype(np.int64))
                events.append(read)
            elif read[0] == "ref":
                ref = self.rules[read[1]]
                keys.append(np.where(read[2], ref.list_id, -1))
                events.append(read)
                refs.append((read[1], read[2].tolist()))
                ref_reach.append(read[2])
                cites |= read[2] & ref.cites
            elif read[0] == "members":  # (role, reach, each family's key into its table of uses, cites, test)
                keys.append(np.where(read[2], read[3], -1))
                events.append(read)
                member_refs.append((read[1], read[2].tolist(), read[6]))
                member_reach.append(read[2])
                cites |= read[2] & read[5]
            else:
                columns, rows = read[1], np.flatnonzero(read[2])
                if len(rows):
                    owners = columns.owner[rows]  # ascending: a fact type's rows are in member order
                    cites[owners] = True
                    own.append(columns)
                    own_rows.append((rows, owners))
        if keys:
            list_id, rows = group_rows(np.stack(keys, axis=1))
            lists = [self._param_list(events, row) for row in rows]
        else:
            list_id, lists = np.zeros(self.size, dtype=np.int64), [[]]
        explained, why = explain_rows(value, reads, self.rules, undecided) if explain else (None, [])
        worded, worded_why = worded_rows(self, value, reads, undecided) if self.scope == "family" else (None, [])
        return RuleColumns(value, list_id, lists, own, refs, cites, member_refs=member_refs, undecided=undecided,
                           explained=explained, why=why, worded=worded, worded_why=worded_why, own_rows=own_rows,
                           reach_arrays=ref_reach + member_reach)

    def _param_list(self, events: list[tuple], row: np.ndarray) -> list[ParamUse]:
        uses: dict[str, ParamUse] = {}
        for event, key in zip(events, row):
            if event[0] == "param":
                if key:
                    uses[event[1].name] = event[1]
            elif key >= 0:
                table = event[4] if event[0] == "members" else self.rules[event[1]].lists
                uses.update((p.name, p) for p in table[key])
        return list(uses.values())

    # Conditions -------------------------------------------------------------------------------------
    def ref(self, name: str, reach: np.ndarray, reads: list[tuple]) -> np.ndarray:
        if name not in self.defs:
            raise Unsupported(f"{name} is not a person-level rule")
        found = self.rule(name)
        if found is None:
            raise Unsupported(f"rule {name} is not covered")
        reads.append(("ref", name, reach))
        if found.undecided is not None:
            reads.append(("undecided", found.undecided))
        return found.value

    def tri(self, node: Any, reach: np.ndarray | None, reads: list[tuple] | None,
            scope: Facts | None = None) -> np.ndarray:
        kind = node.kind
        if kind in ("and", "or"):
            decisive, otherwise = (NOT, YES) if kind == "and" else (YES, NOT)
            decided = unsure = None
            for arg in node.args:
                value = self.tri(arg, reach, reads, scope)
                hit = value == decisive
                decided = hit if decided is None else decided | hit
                unsure = (value == UNSURE) if unsure is None else unsure | (value == UNSURE)
                if reach is not None:
                    reach = reach & ~hit
            return np.where(decided, decisive, np.where(unsure, UNSURE, otherwise)).astype(np.int8)
        if kind == "not":
            return (2 - self.tri(node.arg, reach, reads, scope)).astype(np.int8)
        if kind == "cmp":
            return self.compare(node, reach, reads, scope)
        if kind in ("has_role", "rule") and scope is None:
            return self.ref(node.role if kind == "has_role" else node.name, reach, reads)
        if kind == "agg" and node.fn in ("any", "none", "all") and scope is None:
            return self.aggregate(node, reach, reads)
        raise Unsupported(f"condition kind {kind}")

    def compare(self, node: ir.Compare, reach: np.ndarray | None, reads: list[tuple] | None,
                scope: Facts | None) -> np.ndarray:
        left = self.value(node.left, reach, reads, scope)
        right = self.value(node.right, reach, reads, scope)
        value = self._compared(node.op, left, right, self.size if scope is None else len(scope.facts))
        # An unknown its operands do not account for (a missing parameter, a count known within bounds) is
        # a source of doubt; inside a record test, any unknown met marks the record (engine.columns.reasons).
        unsure = value == UNSURE
        # (a count of needs known only within bounds is worded by the needs it counts: engine.columns.worded)
        operands = [side.unk | (side.lo != side.hi) if isinstance(side, Counted) else side.unk
                    for side in (left, right) if not isinstance(side, Const)]
        if scope is None:
            new = unsure & ~np.logical_or.reduce(operands) if operands else unsure
            if reads is not None and reach is not None and new.any():
                reads.append(("doubt", reach & new))
        elif self._touched is not None:
            self._touched |= np.logical_or.reduce([unsure, *operands])
        return value

    @staticmethod
    def _compared(op: str, left: Num | Obj | Const, right: Num | Obj | Const, size: int) -> np.ndarray:
        if isinstance(left, Const) and isinstance(right, Const):
            return np.full(size, compare_values(op, left.value, right.value), dtype=np.int8)
        if isinstance(left, Const):
            if op not in MIRROR:
                raise Unsupported(f"a list on the left of {op}")
            left, right, op = right, left, MIRROR[op]
        positive = op not in ("!=", "not in")
        if isinstance(right, Const):
            if right.value is UNK or (isinstance(right.value, tuple) and UNK in right.value):
                return np.full(size, UNSURE, dtype=np.int8)
            if isinstance(right.value, NoRecord):
                return np.where(left.unk, UNSURE, NOT if positive else YES).astype(np.int8)
        if isinstance(left, Num):
            decided = compare_numbers(op, left, right)
        elif isinstance(right, Const):
            decided = compare_objects(op, left, right.value)
        else:
            raise Unsupported("comparing two codes read from records")
        unk = left.unk if isinstance(right, Const) else left.unk | right.unk
        none = left.none if isinstance(right, Const) else left.none | right.none
        return np.where(unk, UNSURE, np.where(none, NOT if positive else YES, decided)).astype(np.int8)

    # Values -----------------------------------------------------------------------------------------
    def value(self, node: Any, reach: np.ndarray | None, reads: list[tuple] | None,
              scope: Facts | None) -> Num | Obj | Const:
        kind = node.kind
        if kind == "lit":
            return Const(UNK if node.value is None else node.value)
        if kind == "param":
            use = self.params.get(node.name)
            if use is None:  # (the evaluator words the missing value wherever it reads it)
                if scope is None and reads is not None and reach is not None:
                    reads.append(("doubt", reach))
                elif scope is not None and self._touched is not None:
                    self._touched[:] = True
                return Const(UNK)
            if reads is None:
                raise Unsupported("a parameter under and/or inside a record test")
            reads.append(("param", use, reach))
            return Const(use.value)
        if kind == "as_of" and node.anchor == "as_of":
            return Const(self.as_of)
        if kind == "list":
            items = [self.value(item, reach, reads, scope) for item in node.items]
            if not all(isinstance(i, Const) for i in items):
                raise Unsupported("a list of values read from records")
            return Const(tuple(i.value for i in items))
        if kind == "arith":
            left, right = self.value(node.left, reach, reads, scope), self.value(node.right, reach, reads, scope)
            if isinstance(left, Const) and isinstance(right, Const):
                return Const(arith_values(node.op, left.value, right.value, self.compiled.terms))
            result = arith_columns(node.op, left, right)
            if scope is None and reads is not None and reach is not None:  # a division by zero: doubt
                prior = [side.unk for side in (left, right) if isinstance(side, Num)]
                new = result.unk & ~np.logical_or.reduce(prior) if prior else result.unk
                if new.any():
                    reads.append(("doubt", reach & new))
            return result
        if kind == "person_attr" and node.name == "age" and scope is None:
            ages = self.ages()
            if reads is not None and reach is not None:  # no date of birth: worded as the evaluator does
                self._gaps(reads, reach & ages.unk, ~ages.unk[:, None], lambda: NO_BIRTH_DATE)
            return ages
        if kind == "field" and scope is not None:
            return self.field(scope, node.name)
        if kind == "agg" and node.fn in ("count", "latest", "earliest", "rate") and scope is None:
            return self.aggregate(node, reach, reads)
        raise Unsupported(f"value kind {kind}")

    def ages(self) -> Num:
        if self._age is None:
            born = [m.date_of_birth for m in self.members]
            ages = np.array([age_on(b, self.as_of) if b is not None else np.nan for b in born], dtype=np.float64)
            unk = np.isnan(ages)
            self._age = Num(ages, ages, unk, np.zeros(self.size, dtype=bool), False)
        return self._age

    # Records ----------------------------------------------------------------------------------------
    def facts_of(self, name: str) -> Facts:
        found = self.fact_columns.get(name)
        if found is None:
            found = self.fact_columns[name] = self._fact_columns(name, *self.records.person(name))
        return found

    def _gather_facts(self, evaluations: list[Evaluation]) -> None:
        """Every member's and every family's records, by fact type, in one pass over the batch's facts
        (the family-level columns take theirs from here too); the member records' columns are made now."""
        self.records = BatchRecords(evaluations)
        for name in self.records.person_types():
            self.facts_of(name)

    def _fact_columns(self, name: str, owner: np.ndarray, facts: list, day: np.ndarray) -> Facts:
        return fact_columns(self.compiled.fact_types[name], owner, facts, day)

    field = staticmethod(field_column)


__all__ = ["PersonColumns", "RuleColumns", "Unsupported"]
