"""Family-level unknowns the columns word, for a run's figures (:mod:`engine.columns.figures`).

A family-level rule left unknown (eligibility, the claim, an eligibility helper) was worded by the
evaluator, asked family by family: on a real borough that was most of the families with an unknown. Its
reasons come from what it reached, and the usual sources are results the columns already hold:

- ``count of needs`` / ``count of distinct headlines``: "need CODE: REASON" for each counted need unknown
  for the family, for each of the need's own reasons (a member-level need's: its holders' reasons, in
  member order, each once; a family-level need's: its own worded reasons);
- ``all_outcomes_achieved()`` / ``..._sustained()``: each identified need's outcome parts' reasons, where
  the outcome or the need's identification is unknown (a member-level part's: the reasons of the members
  who had the need, by person id);
- ``any/every/count member is ROLE`` (no test): each member's reasons for the role, in member order;
- a referenced family-level rule unknown for the family: its reasons.

A family-level rule's unknown row is *worded* (``RuleColumns.worded``) when every source its evaluation
reached is one of those and each gives its reasons from the columns. Anything else reached - a record
read, a member quantifier with a test, a missing parameter, a division by zero, an undecided row, a need whose
holder's unknown the columns do not word - leaves the row to the evaluator, as before. A worded row
therefore reads no record, member's detail or case date (``Evaluation.inputs_read``).

Only the figures read these: the stored records, and ``hearth explain``, still take a family-level
unknown from the evaluator. Tests compare the figures both ways for every family of the test corpora.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.columns.reasons import reasons_of
from engine.columns.values import NOT, UNSURE

if TYPE_CHECKING:
    from engine.columns.family import FamilyColumns
    from engine.columns.person import RuleColumns


def worded_rows(families: FamilyColumns, value: np.ndarray, reads: list[tuple],
                undecided: np.ndarray | None) -> tuple[np.ndarray | None, list[tuple]]:
    """A family-level rule's unknown rows whose reasons the columns give, and the ordered sources of those
    reasons: ("needs", reach, need names), ("outcomes", reach, part), ("members", reach, role) and ("ref",
    rows, rule name)."""
    size = len(value)
    doubt = np.zeros(size, dtype=bool) if undecided is None else undecided.copy()
    sourced = np.zeros(size, dtype=bool)
    why: list[tuple] = []
    for read in reads:
        kind = read[0]
        if kind in ("doubt", "gaps", "undecided"):
            doubt |= read[1]
        elif kind == "members":  # ("members", role, reach, ..., test)
            role, reach, test = read[1], read[2], read[6]
            if role is None or test is not None:  # (a test's reasons: the evaluator's)
                doubt |= reach
                continue
            found = families.persons.rules.get(role)
            doubt |= reach & np.logical_or.reduceat(unworded(found, "explained", families.persons.size),
                                                    families.starts)
            why.append(("members", reach, role))
            sourced |= reach
        elif kind in ("param", "facts"):  # (a family-level aggregate's reach is a "doubt" read of its own)
            continue
        elif kind == "ref":
            ref = families.rules[read[1]]
            unknown = read[2] & (ref.value == UNSURE)
            worded = unknown & ref.worded if ref.worded is not None else np.zeros(size, dtype=bool)
            doubt |= unknown & ~worded
            if worded.any():
                why.append(("ref", worded, read[1]))
                sourced |= worded
        elif kind == "needs":
            for name in read[2]:
                doubt |= read[1] & (need_values(families, name) == UNSURE) & ~_need_worded(families, name)
            why.append(read)
            sourced |= read[1]
        elif kind == "outcomes":
            doubt |= read[1] & ~_outcomes_worded(families, read[2])
            why.append(read)
            sourced |= read[1]
        else:  # a source this module does not know: never a reason it might miss
            doubt[:] = True
    worded = (value == UNSURE) & sourced & ~doubt
    return (worded, why) if worded.any() else (None, [])


def family_reasons(families: FamilyColumns, found: RuleColumns, row: int,
                   memo: dict[tuple[str, str], list[str]] | None = None) -> list[str]:
    """A worded row's reasons, each once, in the order the evaluator collects them (``memo``: the reasons
    of the needs and rules already worded for this family)."""
    memo = {} if memo is None else memo
    reasons: list[str] = []
    for kind, rows, source in found.worded_why:
        if not rows[row]:
            continue
        if kind == "needs":
            for name in source:
                values = _cached(families, ("need list", name), lambda: need_values(families, name).tolist())
                if values[row] == UNSURE:
                    worded = memo.get(("need", name))
                    if worded is None:
                        worded = memo[("need", name)] = [f"need {name}: {r}" for r in need_reasons(families, name, row)]
                    reasons += worded
        elif kind == "outcomes":
            reasons += _outcome_reasons(families, source, row, memo)
        elif kind == "members":  # (each member's result of the role, in member order)
            role = families.persons.rules[source]
            reasons += [reason for r in range(*_bounds(families, row)) if role.value[r] == UNSURE
                        for reason in row_reasons(families, source, r)]
        else:
            worded = memo.get(("rule", source))
            if worded is None:
                worded = memo[("rule", source)] = family_reasons(families, families.rules[source], row, memo)
            reasons += worded
    return list(dict.fromkeys(reasons))


def need_reasons(families: FamilyColumns, name: str, row: int) -> list[str]:
    """The reasons of a need unknown for family ``row`` (``Evaluation._family_need``'s)."""
    rule = families.compiled.rules[name]
    if rule.subject != "person":
        return family_reasons(families, families.rules[name], row)
    found = families.persons.rules[name]
    reasons: list[str] = []
    holder = holders(families, name)
    for r in range(*_bounds(families, row)):
        if found.value[r] == UNSURE and holder[r]:
            reasons += row_reasons(families, name, r)
    return list(dict.fromkeys(reasons))


def row_reasons(families: FamilyColumns, name: str, row: int) -> list[str]:
    """The reasons of member row ``row``'s explained unknown of person-level rule ``name``, worded once
    for the batch (a need's and its outcome parts' are read by several family-level rules)."""
    key = ("reasons", name, row)
    found = families.worded_cache.get(key)
    if found is None:
        persons = families.persons
        found = families.worded_cache[key] = reasons_of(persons.rules[name], persons.rules, row,
                                                        f"person {persons.members[row].person_id}",
                                                        families.worded_cache)
    return found


# What each source needs ------------------------------------------------------------------------------
def _bounds(families: FamilyColumns, row: int) -> tuple[int, int]:
    starts = families.starts
    return int(starts[row]), int(starts[row + 1]) if row + 1 < families.size else families.persons.size


def _cached(families: FamilyColumns, key: tuple, make) -> np.ndarray:
    found = families.worded_cache.get(key)
    if found is None:
        found = families.worded_cache[key] = make()
    return found


def need_values(families: FamilyColumns, name: str) -> np.ndarray:
    """A need's family values (``FamilyColumns.need_value``), once per batch."""
    return _cached(families, ("need", name), lambda: families.need_value(families.compiled.rules[name]))


def part_values(families: FamilyColumns, code: str, rule) -> np.ndarray:
    """A member-level outcome part's family values (``FamilyColumns.outcome_part``), once per batch."""
    return _cached(families, ("part", rule.name), lambda: families.outcome_part(rule.name, code, "person")[0])


def unworded(found: RuleColumns | None, worded_by: str, size: int) -> np.ndarray:
    """Rows whose value the evaluator words or decides (an unknown not in ``found.<worded_by>``, or
    undecided); every row of a rule the columns do not cover."""
    if found is None:
        return np.ones(size, dtype=bool)
    left, explained = found.value == UNSURE, getattr(found, worded_by)
    if explained is not None:
        left = left & ~explained
    return left | found.undecided if found.undecided is not None else left


def holders(families: FamilyColumns, name: str) -> np.ndarray:
    """Per member: whether they may hold the need's role (a role the evaluator words counts)."""
    def make() -> np.ndarray:
        persons, role = families.persons, families.compiled.rules[name].role
        if role is None:
            return np.ones(persons.size, dtype=bool)
        found = persons.rules.get(role)
        return unworded(None, "explained", persons.size) if found is None else (
            (found.value != NOT) | unworded(found, "explained", persons.size))
    return _cached(families, ("holders", name), make)


def _need_worded(families: FamilyColumns, name: str) -> np.ndarray:
    """Per family: whether the need's reasons come from the columns (where it is unknown)."""
    def make() -> np.ndarray:
        rule = families.compiled.rules[name]
        if rule.subject != "person":
            return ~_family_unworded(families, name)
        found = families.persons.rules.get(name)
        left = holders(families, name) & unworded(found, "explained", families.persons.size)
        return ~np.logical_or.reduceat(left, families.starts)
    return _cached(families, ("need worded", name), make)


def _outcome_parts(families: FamilyColumns, code: str) -> list:
    rules = families.compiled.rules
    return [rules[f"{code}.{suffix}"] for suffix in ("achieved", "sustained") if f"{code}.{suffix}" in rules]


def _part_worded(families: FamilyColumns, code: str, rule) -> np.ndarray:
    """Per family: whether an outcome part's reasons come from the columns (where it is unknown)."""
    if rule.subject != "person":
        return ~_family_unworded(families, rule.name)
    if families.compiled.rules[code].subject != "person":
        return np.zeros(families.size, dtype=bool)  # (a family need's member parts: the evaluator's)
    persons = families.persons
    found, had = persons.rules.get(rule.name), persons.rules.get(code)
    if had is None:
        return np.zeros(families.size, dtype=bool)
    left = holders(families, code) & (had.value != NOT) & unworded(found, "explained", persons.size)
    return ~np.logical_or.reduceat(left, families.starts)


def _family_unworded(families: FamilyColumns, name: str) -> np.ndarray:
    found = families.rules.get(name)
    return unworded(found, "worded", families.size)


def _outcomes_worded(families: FamilyColumns, part: str) -> np.ndarray:
    """Per family: whether ``all_outcomes_PART()``'s reasons come from the columns: every need it reads
    that is identified has an outcome rule, and each part it may word is worded."""
    def make() -> np.ndarray:
        compiled = families.compiled
        ok = ~families.identified_earlier
        for need in compiled.needs:
            identified = need_values(families, need.name) != NOT
            if need.name not in compiled.outcomes or need.name not in compiled.rules:
                ok &= ~identified  # ("need CODE has no outcome rule": the evaluator's)
                continue
            for rule in _outcome_parts(families, need.name):
                ok &= ~identified | _part_worded(families, need.name, rule)
        return ok
    return _cached(families, ("outcomes worded", part), make)


def _outcome_reasons(families: FamilyColumns, part: str, row: int, memo: dict[tuple[str, str], list[str]],
                     ) -> list[str]:
    """What ``all_outcomes(part)`` collects (``engine.rules.outcomes.all_outcomes``)."""
    reasons: list[str] = []
    for name, parts, applicable, judged in _outcome_table(families, part):
        if applicable[row] == NOT:
            continue
        if judged[row] == UNSURE or applicable[row] == UNSURE:
            for rule in parts:
                worded = memo.get(("part", rule.name))
                if worded is None:
                    worded = memo[("part", rule.name)] = part_reasons(families, name, rule, row)
                reasons += worded
    return reasons


def _outcome_table(families: FamilyColumns, part: str) -> list[tuple[str, list, list[int], list[int]]]:
    """Per need with an outcome rule: its name, outcome parts, and per family whether it is identified and
    what ``all_outcomes(part)`` judges of its outcome (as lists: read one family at a time)."""
    def make() -> list[tuple[str, list, list[int], list[int]]]:
        table = []
        compiled = families.compiled
        for need in compiled.needs:
            if need.name not in compiled.outcomes or need.name not in compiled.rules:
                continue  # (never identified in a worded row)
            applicable, achieved, _, value, _ = families.outcome(need.name)
            judged = achieved if part == "achieved" else value
            table.append((need.name, _outcome_parts(families, need.name), applicable.tolist(), judged.tolist()))
        return table
    return _cached(families, ("outcome table", part), make)


def part_reasons(families: FamilyColumns, code: str, rule, row: int) -> list[str]:
    """An outcome part's reasons for family ``row`` (none unless it is unknown for the family)."""
    found = families.rules[rule.name] if rule.subject != "person" else None
    value = found.value if found is not None else part_values(families, code, rule)
    if value[row] != UNSURE:
        return []
    if found is not None:
        return family_reasons(families, found, row)
    persons = families.persons
    part, had, holder = persons.rules[rule.name], persons.rules[code], holders(families, code)
    rows = [r for r in range(*_bounds(families, row)) if holder[r] and had.value[r] != NOT]
    reasons: list[str] = []
    for r in sorted(rows, key=lambda r: persons.members[r].person_id):
        if part.value[r] == UNSURE:
            reasons += row_reasons(families, rule.name, r)
    return list(dict.fromkeys(reasons))


__all__ = ["family_reasons", "holders", "need_reasons", "need_values", "part_reasons", "part_values", "row_reasons",
           "unworded", "worded_rows"]
