"""What switching framework does: evaluate two frameworks on the same families and list the changes.

A family changes when its family definition, eligibility, claim readiness, any need or any outcome has
a different value under the two frameworks. Each change names the rule responsible with its span and
guidance citations (from the framework that produces the new value, or the old one when the rule was
removed), and, for eligibility, the needs and parameter values that moved it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa

from engine.decisions.evaluate import (
    batch_columns, batches_for_workers, map_batches, release_columns, seeded_evaluations,
)
from engine.decisions.overrides import OverrideRecord
from engine.integrate.collector import collector_paused
from engine.rules.inputs import FamilyInput
from engine.rules.results import NOT_MET, FamilyResult, ParamUse, TriResult

ABSENT = "absent"


def _same(old: str, new: str) -> bool:
    """A rule one framework lacks counts as not met: adding a need nobody has is not a change."""
    return (NOT_MET if old == ABSENT else old) == (NOT_MET if new == ABSENT else new)


@dataclass(frozen=True)
class Change:
    """One criterion whose value differs between the two frameworks for one family."""

    family_id: str
    kind: str  # family_definition | eligible | claimable | need | outcome | rule (a named family rule)
    code: str
    before: str
    after: str
    span: str | None
    citations: tuple[str, ...] = ()
    because: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"family_id": self.family_id, "kind": self.kind, "code": self.code, "before": self.before,
                "after": self.after, "span": self.span, "citations": list(self.citations),
                "because": list(self.because)}


@dataclass
class HeadlineCounts:
    before: int = 0
    after: int = 0
    gained: int = 0
    lost: int = 0


@dataclass
class FrameworkDiff:
    families: int = 0
    changes: dict[str, list[Change]] = field(default_factory=dict)
    headlines: dict[str, HeadlineCounts] = field(default_factory=dict)
    eligible_before: Counter = field(default_factory=Counter)
    eligible_after: Counter = field(default_factory=Counter)

    def merge(self, part: FrameworkDiff) -> None:
        """Add the diff of further families (none of them already counted here)."""
        self.families += part.families
        self.changes.update(part.changes)
        for code, counts in part.headlines.items():
            mine = self.headlines.setdefault(code, HeadlineCounts())
            mine.before += counts.before
            mine.after += counts.after
            mine.gained += counts.gained
            mine.lost += counts.lost
        self.eligible_before.update(part.eligible_before)
        self.eligible_after.update(part.eligible_after)

    def eligibility_changes(self) -> list[Change]:
        """Each family's eligibility change, by family id."""
        return [c for _, changes in sorted(self.changes.items()) for c in changes if c.kind == "eligible"]

    def eligibility_moves(self) -> Counter:
        """(before, after) -> how many families' eligibility moved that way."""
        return Counter((c.before, c.after) for c in self.eligibility_changes())

    def eligibility_reasons(self) -> Counter:
        """Each need change or parameter value behind an eligibility change -> how many families it moved:
        the rules responsible for the switch, most telling first when ranked."""
        return Counter(reason for c in self.eligibility_changes() for reason in c.because)

    def ranked_reasons(self) -> list[tuple[str, int]]:
        """:meth:`eligibility_reasons`, the reason moving most families first (ties by name)."""
        return sorted(self.eligibility_reasons().items(), key=lambda kv: (-kv[1], kv[0]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "families": self.families,
            "families_changed": len(self.changes),
            "eligible_before": dict(sorted(self.eligible_before.items())),
            "eligible_after": dict(sorted(self.eligible_after.items())),
            "eligibility_moves": {f"{a} -> {b}": n for (a, b), n in sorted(self.eligibility_moves().items())},
            "eligibility_reasons": [{"reason": reason, "families": n} for reason, n in self.ranked_reasons()],
            "headlines": {code: vars(c) for code, c in sorted(self.headlines.items())},
            "changes": {fid: [c.to_dict() for c in changes] for fid, changes in sorted(self.changes.items())},
        }


#: where a change's rule is cited from: (kind, code) -> (span, guidance citations) of the rule giving the value
Cites = Callable[[str, str], tuple[str | None, tuple[str, ...]]]


def _cite(tri: TriResult | None) -> tuple[str | None, tuple[str, ...]]:
    if tri is None:
        return None, ()
    return (str(tri.span) if tri.span else None), tuple(c.text for c in tri.citations)


def result_cites(result: FamilyResult) -> Cites:
    """A family's full result as the source of its rules' spans and citations."""
    def cite(kind: str, code: str) -> tuple[str | None, tuple[str, ...]]:
        if kind == "need":
            return _cite(result.needs[code].result)
        if kind == "rule":
            return _cite(result.rules[code])
        if kind == "outcome":
            return _cite(result.outcomes[code].achieved)
        return _cite(getattr(result, kind))
    return cite


def framework_cites(compiled: Any) -> Cites:
    """A compiled framework as the source: a result's span and citations are always its rule's (an outcome's,
    its achieved part's), and a top-level rule the framework lacks has none."""
    def cite(kind: str, code: str) -> tuple[str | None, tuple[str, ...]]:
        rule = compiled.rules.get(f"{code}.achieved" if kind == "outcome" else code)
        if rule is None:
            return None, ()
        return (str(rule.span) if rule.span else None), tuple(c.text for c in rule.citations)
    return cite


def _param_text(p: ParamUse) -> str:
    return f"{p.name} = {p.value} (from {p.effective_from.isoformat()})"


def compare_results(a: FamilyResult, b: FamilyResult) -> list[Change]:
    """Changes from ``a`` (old framework) to ``b`` (new framework) for one family."""
    from engine.columns.summary import FamilyValues

    return compare_values(a.family_id, FamilyValues.of_result(a), FamilyValues.of_result(b), result_cites(a),
                          result_cites(b))


def compare_values(fid: str, a: Any, b: Any, cite_a: Cites, cite_b: Cites) -> list[Change]:
    """Changes from the old framework's values ``a`` to the new one's ``b`` (``FamilyValues``), each citing
    the rule that gives the new value (the old one's when the new framework lacks it)."""
    def change(kind: str, code: str, old: str | None, new: str | None, because: tuple[str, ...] = ()) -> Change:
        span, citations = cite_b(kind, code) if new is not None else cite_a(kind, code)
        return Change(fid, kind, code, old if old is not None else ABSENT, new if new is not None else ABSENT,
                      span, citations, because)

    changes: list[Change] = []
    need_changes: list[str] = []
    for code in sorted(set(a.needs) | set(b.needs)):
        old, new = a.needs.get(code), b.needs.get(code)
        if not _same(old or ABSENT, new or ABSENT):
            changes.append(change("need", code, old, new))
            need_changes.append(f"need {code} {changes[-1].before} -> {changes[-1].after}")
    for name in sorted(set(a.rules) | set(b.rules)):
        old, new = a.rules.get(name), b.rules.get(name)
        if not _same(old or ABSENT, new or ABSENT):
            changes.append(change("rule", name, old, new))
    if a.family_definition != b.family_definition:
        changes.insert(0, change("family_definition", "family_definition", a.family_definition, b.family_definition))
    if a.eligible != b.eligible:
        old_params = {_param_text(p) for p in a.eligible_parameters}
        moved = tuple(f"parameter {_param_text(p)}" for p in b.eligible_parameters
                      if _param_text(p) not in old_params)
        changes.insert(0, change("eligible", "eligible", a.eligible, b.eligible, tuple(need_changes) + moved))
    for code in sorted(set(a.outcomes) | set(b.outcomes)):
        old, new = a.outcomes.get(code), b.outcomes.get(code)
        if not _same(old or ABSENT, new or ABSENT):
            changes.append(change("outcome", code, old, new))
    if a.claimable != b.claimable:
        changes.append(change("claimable", "claimable", a.claimable, b.claimable))
    return changes


def diff_frameworks(
    compiled_a: Any,
    compiled_b: Any,
    families: Sequence[FamilyInput],
    as_of: date,
    overrides: Mapping[str, Sequence[OverrideRecord]] | None = None,
    workers: int = 1,
) -> FrameworkDiff:
    """Evaluate both compiled frameworks on ``families`` (the same knowledge state) and compare; the
    report is the same for any number of ``workers`` (forked processes sharing the batches)."""
    batches, workers = batches_for_workers(families, workers)
    return _merged(map_batches(lambda batch: _diff_batch(compiled_a, compiled_b, batch, as_of, overrides), batches,
                               workers))


def diff_snapshot(
    engine: sa.Engine,
    compiled_a: Any,
    compiled_b: Any,
    as_of: date,
    known_at: datetime | None = None,
    overrides: Mapping[str, Sequence[OverrideRecord]] | None = None,
    workers: int = 1,
) -> FrameworkDiff:
    """:func:`diff_frameworks` on the database's families as of ``as_of``, known at ``known_at``: loaded a
    batch at a time by the process comparing it, so a borough never sits in memory whole."""
    from engine.decisions.profile import snapshot_batches

    batches, load, workers = snapshot_batches(engine, as_of, known_at, workers)
    return _merged(map_batches(lambda batch: _diff_batch(compiled_a, compiled_b, load(batch), as_of, overrides),
                               batches, workers))


def _merged(parts: Iterator[FrameworkDiff]) -> FrameworkDiff:
    report = FrameworkDiff()
    with closing(parts):
        for part in parts:
            report.merge(part)
    return report


def _diff_batch(compiled_a: Any, compiled_b: Any, families: Sequence[FamilyInput], as_of: date,
                overrides: Mapping[str, Sequence[OverrideRecord]] | None) -> FrameworkDiff:
    """A batch's diff. Both frameworks' values come first, column-wise (engine.columns.summary), and the
    changes are read from them, each citing its rule from the framework; only families the columns leave
    undecided are evaluated in full (no sub-criteria trees)."""
    from engine.columns.summary import FamilyValues, family_values

    report = FrameworkDiff()
    ordered = sorted(families, key=lambda f: f.family_id)
    cite_a, cite_b = framework_cites(compiled_a), framework_cites(compiled_b)
    with collector_paused():
        before = seeded_evaluations(compiled_a, ordered, as_of, overrides)
        after = seeded_evaluations(compiled_b, ordered, as_of, overrides)
        columns = batch_columns(before) + batch_columns(after)
        values = zip(family_values(compiled_a, before), family_values(compiled_b, after))
        for i, (a, b) in enumerate(values):
            if a is None or b is None:
                result_a, result_b = before[i].family_result(), after[i].family_result()
                a, b = FamilyValues.of_result(result_a), FamilyValues.of_result(result_b)
                changes = compare_values(ordered[i].family_id, a, b, result_cites(result_a), result_cites(result_b))
            else:
                changes = compare_values(ordered[i].family_id, a, b, cite_a, cite_b)
            if changes:
                report.changes[ordered[i].family_id] = changes
            before[i] = after[i] = None  # each evaluation is freed once its family is compared
            report.families += 1
            report.eligible_before[a.eligible] += 1
            report.eligible_after[b.eligible] += 1
            for code in set(a.headlines) | set(b.headlines):
                counts = report.headlines.setdefault(code, HeadlineCounts())
                was, now = a.headlines.get(code) == "met", b.headlines.get(code) == "met"
                counts.before += was
                counts.after += now
                counts.gained += now and not was
                counts.lost += was and not now
        release_columns(columns)
    return report

