"""A family's values under a framework, read from a batch's columns: what ``hearth diff`` compares.

Comparing two frameworks needs only values: the family definition, eligibility (and the parameters it
read, which a diff names when they moved it), claim readiness, every need, helper rule, outcome and
headline; each change cites its rule, which the framework holds. When both frameworks' columns decide a
family, its full results (evidence, reasons, members) need not be built; every other family is
evaluated in full, as before.

Values here are exactly the evaluator's, unknown included: an unknown value is a value. A family is left
undecided (None) when the batch was not evaluated column-wise for it (overrides, what-if values, no
members), when a rule it needs is left to the evaluator, or where :class:`FamilyColumns` says so (an
outcome judged on an earlier identification date).
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.columns.family import FamilyColumns
from engine.columns.values import NAMES, UNSURE, Unsupported
from engine.rules.results import FamilyResult, ParamUse

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation


@dataclass(frozen=True)
class FamilyValues:
    """The values one framework gives one family, as its ``FamilyResult`` holds them."""

    family_definition: str
    eligible: str
    claimable: str
    needs: dict[str, str]
    rules: dict[str, str]
    outcomes: dict[str, str]
    headlines: dict[str, str]
    #: the parameter uses eligibility read, in the order it read them (a diff names those that moved it)
    eligible_parameters: tuple[ParamUse, ...] = ()

    @classmethod
    def of_result(cls, result: FamilyResult) -> FamilyValues:
        """The same values read from a family's full result."""
        return cls(result.family_definition.value, result.eligible.value, result.claimable.value,
                   {code: n.value for code, n in result.needs.items()},
                   {name: r.value for name, r in result.rules.items()},
                   {code: o.value for code, o in result.outcomes.items()},
                   {code: h.value for code, h in result.headlines.items()},
                   tuple(result.eligible.parameters))


def family_values(compiled: Any, evaluations: list[Evaluation]) -> list[FamilyValues | None]:
    """Each evaluation's family values (None where the columns do not decide them all); the evaluations
    must have been seeded (``engine.columns.family.seed_batch``)."""
    return [None if found is None else _values(*found) for found in _rows(compiled, evaluations)]


def _values(table: dict[str, Any], row: int) -> FamilyValues:
    return FamilyValues(
        **{name: NAMES[table[name][row]] for name in ("family_definition", "eligible", "claimable")},
        **{part: {code: NAMES[values[row]] for code, values in table[part].items()}
           for part in ("needs", "rules", "outcomes", "headlines")},
        eligible_parameters=tuple(table["eligible_parameters"][row]))


def run_figures(compiled: Any, evaluations: list[Evaluation]) -> list[tuple[str, tuple[tuple[str, str], ...]] | None]:
    """What a profile run counts of each evaluation's family: its eligibility and its headlines' values
    (sorted by code), None where :func:`family_values` gives None; without building the rest."""
    spelled: dict[tuple[int, bytes], tuple[tuple[str, str], ...]] = {}
    grids: dict[int, tuple[list[str], np.ndarray]] = {}
    found: list[tuple[str, tuple[tuple[str, str], ...]] | None] = []
    for item in _rows(compiled, evaluations):
        if item is None:
            found.append(None)
            continue
        table, row = item
        grid = grids.get(id(table))
        if grid is None:  # (_rows holds every table it made until it is done: ids are not reused)
            codes = sorted(table["headlines"])
            grid = grids[id(table)] = (codes, np.stack([table["headlines"][c] for c in codes], axis=1)
                                       if codes else np.zeros((len(table["undecided"]), 0), dtype=np.int8))
        key = (id(table), grid[1][row].tobytes())
        headlines = spelled.get(key)
        if headlines is None:
            headlines = spelled[key] = tuple((code, NAMES[v]) for code, v in zip(grid[0], grid[1][row].tolist()))
        found.append((NAMES[table["eligible"][row]], headlines))
    return found


def _rows(compiled: Any, evaluations: list[Evaluation]) -> Iterator[tuple[dict[str, Any], int] | None]:
    """Each evaluation's (batch's table of values, its family's row), None where the columns do not decide
    them all."""
    tables: dict[int, dict[str, Any] | None] = {}
    for ev in evaluations:
        families = ev.seeds[0].families if ev.seeds is not None else None
        if families is None:
            yield None
            continue
        if id(families) not in tables:
            tables[id(families)] = _table(compiled, families)
        table = tables[id(families)]
        row = families.row_of_start[ev.seeds[1][ev.members[0].person_id]]
        yield None if table is None or table["undecided"][row] else (table, row)


def figure_table(compiled: Any, families: FamilyColumns) -> dict[str, Any] | None:
    """What a report counts of a batch's families - eligibility, and every need's and headline's value - as
    arrays over the families (and ``undecided``: the rows whose eligibility the columns leave to the
    evaluator), or None when a need is left to it."""
    if "eligible" not in families.defs:
        return None
    try:
        needs = {need.name: families.need_value(need) for need in compiled.needs}
    except Unsupported:
        return None
    eligible = families.rule("eligible")
    if eligible is None:
        return None
    undecided = eligible.undecided if eligible.undecided is not None else np.zeros(families.size, dtype=bool)
    return {"eligible": eligible.value, "needs": needs, "headlines": _headlines(compiled, needs, families.size),
            "undecided": undecided}


def _table(compiled: Any, families: FamilyColumns) -> dict[str, Any] | None:
    """Every value as an array over the batch's families, or None when a rule is left to the evaluator."""
    undecided = np.zeros(families.size, dtype=bool)

    def rule(name: str) -> np.ndarray:
        nonlocal undecided
        if name not in families.defs:  # (the evaluator's answer for a framework without the rule)
            return np.full(families.size, UNSURE, dtype=np.int8)
        columns = families.rule(name)
        if columns is None:
            raise Unsupported(name)
        if columns.undecided is not None:
            undecided = undecided | columns.undecided
        return columns.value

    try:
        needs = {need.name: families.need_value(need) for need in compiled.needs}
        table: dict[str, Any] = {name: rule(name) for name in ("family_definition", "eligible", "claimable")}
        eligible = families.rule("eligible") if "eligible" in families.defs else None
        table["eligible_parameters"] = eligible.uses if eligible is not None else [()] * families.size
        table["rules"] = {name: rule(name) for name in compiled.family_helpers}
        outcomes = {}
        for code in compiled.outcome_codes:
            if code in compiled.rules:
                outcome = families.outcome(code)
                outcomes[code] = outcome[3]
                undecided |= outcome[4]
    except Unsupported:
        return None
    table.update(needs=needs, outcomes=outcomes, headlines=_headlines(compiled, needs, families.size),
                 undecided=undecided)
    return table


def _headlines(compiled: Any, needs: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """Each headline (every declared one, and any a need names): met when a need under it is met, else
    unknown when one may be (``engine.rules.scoring.headline_results``)."""
    under: dict[str, list[np.ndarray]] = {h.code: [] for h in compiled.framework.headlines}
    for need in compiled.needs:
        under.setdefault(need.headline, []).append(needs[need.name])
    return {code: np.maximum.reduce(values) if values else np.zeros(size, dtype=np.int8)
            for code, values in under.items()}


__all__ = ["FamilyValues", "family_values", "figure_table", "run_figures"]
