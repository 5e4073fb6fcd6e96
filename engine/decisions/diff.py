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
from typing import Any, Mapping, Sequence

import sqlalchemy as sa

from engine.decisions.evaluate import batches_for_workers, map_batches, seeded_evaluations
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


def _cite(tri: TriResult | None) -> tuple[str | None, tuple[str, ...]]:
    if tri is None:
        return None, ()
    return (str(tri.span) if tri.span else None), tuple(c.text for c in tri.citations)


def _param_text(p: ParamUse) -> str:
    return f"{p.name} = {p.value} (from {p.effective_from.isoformat()})"


def _change(family_id: str, kind: str, code: str, old: TriResult | None, new: TriResult | None,
            because: tuple[str, ...] = ()) -> Change:
    span, citations = _cite(new if new is not None else old)
    return Change(family_id, kind, code, old.value if old else ABSENT, new.value if new else ABSENT, span,
                  citations, because)


def compare_results(a: FamilyResult, b: FamilyResult) -> list[Change]:
    """Changes from ``a`` (old framework) to ``b`` (new framework) for one family."""
    fid = a.family_id
    changes: list[Change] = []
    need_changes: list[str] = []
    for code in sorted(set(a.needs) | set(b.needs)):
        old, new = a.needs.get(code), b.needs.get(code)
        if not _same(old.value if old else ABSENT, new.value if new else ABSENT):
            changes.append(_change(fid, "need", code, old.result if old else None, new.result if new else None))
            need_changes.append(f"need {code} {changes[-1].before} -> {changes[-1].after}")
    for name in sorted(set(a.rules) | set(b.rules)):
        old, new = a.rules.get(name), b.rules.get(name)
        if not _same(old.value if old else ABSENT, new.value if new else ABSENT):
            changes.append(_change(fid, "rule", name, old, new))
    if a.family_definition.value != b.family_definition.value:
        changes.insert(0, _change(fid, "family_definition", "family_definition", a.family_definition,
                                  b.family_definition))
    if a.eligible.value != b.eligible.value:
        old_params = {_param_text(p) for p in a.eligible.parameters}
        moved = tuple(f"parameter {_param_text(p)}" for p in b.eligible.parameters
                      if _param_text(p) not in old_params)
        changes.insert(0, _change(fid, "eligible", "eligible", a.eligible, b.eligible,
                                  tuple(need_changes) + moved))
    for code in sorted(set(a.outcomes) | set(b.outcomes)):
        old, new = a.outcomes.get(code), b.outcomes.get(code)
        if not _same(old.value if old else ABSENT, new.value if new else ABSENT):
            changed = _change(fid, "outcome", code, old.achieved if old else None, new.achieved if new else None)
            changes.append(Change(fid, "outcome", code, old.value if old else ABSENT, new.value if new else ABSENT,
                                  changed.span, changed.citations))
    if a.claimable.value != b.claimable.value:
        changes.append(_change(fid, "claimable", "claimable", a.claimable, b.claimable))
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
    """A batch's diff. Both frameworks' values come first, column-wise (engine.columns.summary): a family
    whose values all agree does not change, and only the others are evaluated in full (no sub-criteria
    trees), since a change reads the rules' spans, citations and parameters too."""
    from engine.columns.summary import FamilyValues, family_values

    report = FrameworkDiff()
    ordered = sorted(families, key=lambda f: f.family_id)
    with collector_paused():
        before = seeded_evaluations(compiled_a, ordered, as_of, overrides)
        after = seeded_evaluations(compiled_b, ordered, as_of, overrides)
        values = zip(family_values(compiled_a, before), family_values(compiled_b, after))
        for i, (a, b) in enumerate(values):
            if a is None or b is None or _values_differ(a, b):
                result_a, result_b = before[i].family_result(), after[i].family_result()
                changes = compare_results(result_a, result_b)
                if changes:
                    report.changes[ordered[i].family_id] = changes
                a, b = FamilyValues.of_result(result_a), FamilyValues.of_result(result_b)
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
    return report


def _values_differ(a: Any, b: Any) -> bool:
    """Whether :func:`compare_results` would find a change, from the two frameworks' values alone."""
    if (a.family_definition, a.eligible, a.claimable) != (b.family_definition, b.eligible, b.claimable):
        return True
    return any(not _same(old.get(key, ABSENT), new.get(key, ABSENT))
               for old, new in ((a.needs, b.needs), (a.rules, b.rules), (a.outcomes, b.outcomes))
               for key in old.keys() | new.keys())
