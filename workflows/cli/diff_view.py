"""How ``hearth diff`` shows a phase change to a policy lead: the borough-wide summary first, then a
sample of families, with every change one option away.

A borough diff can change tens of thousands of families; listing every criterion of every one of them
on a terminal buries the answer. The default view is what a policy lead decides on: how eligibility
moves, which need changes and parameter values move it (ranked by how many families each moves), the
headline counts, and the first families whose eligibility changes with their reasons. ``--family ID``
shows one family's every change with the rules' file:line and guidance; ``--all``, ``--csv`` and
``--json`` give every change.
"""

from __future__ import annotations

import csv
import sys
from typing import Any

from rich.table import Table

from engine.decisions.diff import Change, FrameworkDiff

#: how many reasons behind eligibility changes the summary ranks
TOP_REASONS = 15
#: how many of a family's reasons the sample lists before saying how many more there are
REASONS_PER_FAMILY = 3


def print_diff(console: Any, report: FrameworkDiff, label_a: str, label_b: str, *, family: str | None = None,
               show_all: bool = False, limit: int = 20) -> None:
    title = f"{label_a} -> {label_b}"
    if family is not None:
        _print_family(console, report, family, title)
        return
    if show_all:
        console.print(_changes_table(f"Every change: {title}", sorted(report.changes.items())))
    moved = report.eligibility_changes()
    console.print(f"{title}: {report.families:,} families, {len(report.changes):,} change, "
                  f"{len(moved):,} of them in eligibility")
    console.print("eligible before: " + _counts(report.eligible_before) + " | after: " + _counts(report.eligible_after))
    if moved:
        console.print(_moves_table(report))
        for table in _reasons_tables(report):
            console.print(table)
    console.print(_headlines_table(report))
    if moved:
        console.print(_sample_table(moved, limit))
    if report.changes and not show_all:
        console.print("Every change of one family, with the rules' file:line and guidance: add --family FAMILY_ID; "
                      "every change of every family: --all, --csv or --json")


def write_diff_csv(report: FrameworkDiff) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(["family_id", "kind", "code", "before", "after", "span", "citations", "because"])
    for family_id, changes in sorted(report.changes.items()):
        for c in changes:
            writer.writerow([family_id, c.kind, c.code, c.before, c.after, c.span or "", " | ".join(c.citations),
                             " | ".join(c.because)])


def _counts(counter: Any) -> str:
    return ", ".join(f"{value} {n:,}" for value, n in sorted(counter.items())) or "no families"


def _what(c: Change) -> str:
    return f"{c.kind} {c.code}" if c.kind in ("need", "outcome", "rule") else c.kind


def _changes_table(title: str, changes: list[tuple[str, list[Change]]]) -> Table:
    table = Table(title=title)
    for name in ("family", "what", "before", "after", "rule", "because"):
        table.add_column(name)
    for family_id, family_changes in changes:
        for c in family_changes:
            rule = c.span or ""
            if c.citations:
                rule += f"\n{'; '.join(c.citations)}"
            table.add_row(family_id, _what(c), c.before, c.after, rule, "\n".join(c.because))
    return table


def _print_family(console: Any, report: FrameworkDiff, family: str, title: str) -> None:
    changes = report.changes.get(family)
    if changes is None:
        console.print(f"family {family}: nothing changes ({title}; {report.families:,} families compared)")
        return
    console.print(_changes_table(f"Family {family}: {title}", [(family, changes)]))


def _moves_table(report: FrameworkDiff) -> Table:
    table = Table(title="How eligibility moves")
    table.add_column("before")
    table.add_column("after")
    table.add_column("families", justify="right")
    for (before, after), n in sorted(report.eligibility_moves().items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(before, after, f"{n:,}")
    return table


def _reasons_tables(report: FrameworkDiff) -> list[Table]:
    """The need changes behind eligibility changes, ranked by how many families each moved, and the
    parameter values the new framework's eligibility reads that the old one's did not (a changed
    threshold, or one the old framework lacked) with how many of those families read them."""
    ranked = report.ranked_reasons()
    needs = [(reason, n) for reason, n in ranked if not reason.startswith("parameter ")]
    params = [(reason.removeprefix("parameter "), n) for reason, n in ranked if reason.startswith("parameter ")]
    tables = []
    if needs:
        shown = needs[:TOP_REASONS]
        title = "Need changes behind eligibility changes"
        title += f" (top {len(shown)} of {len(needs)})" if len(shown) < len(needs) else ""
        tables.append(_count_table(title, "need: before -> after", shown))
    if params:
        tables.append(_count_table("Parameter values new to the eligibility rule", "parameter = value", params))
    return tables


def _count_table(title: str, what: str, rows: list[tuple[str, int]]) -> Table:
    table = Table(title=title)
    table.add_column(what)
    table.add_column("families", justify="right")
    for reason, n in rows:
        table.add_row(reason.removeprefix("need "), f"{n:,}")
    return table


def _headlines_table(report: FrameworkDiff) -> Table:
    table = Table(title=f"By headline ({report.families:,} families; {len(report.changes):,} change)")
    for name in ("headline", "met before", "met after", "gained", "lost"):
        table.add_column(name, justify="right" if name != "headline" else "left")
    for code, counts in sorted(report.headlines.items()):
        table.add_row(code, f"{counts.before:,}", f"{counts.after:,}", f"{counts.gained:,}", f"{counts.lost:,}")
    return table


def _sample_table(moved: list[Change], limit: int) -> Table:
    shown = moved[:max(0, limit)]
    title = "Families whose eligibility changes"
    title += f" (first {len(shown)} of {len(moved):,}; --limit N for more)" if len(shown) < len(moved) else ""
    table = Table(title=title)
    table.add_column("family")
    table.add_column("eligible")
    table.add_column("because")
    for c in shown:
        because = list(c.because[:REASONS_PER_FAMILY])
        if len(c.because) > REASONS_PER_FAMILY:
            because.append(f"and {len(c.because) - REASONS_PER_FAMILY} more")
        table.add_row(c.family_id, f"{c.before} -> {c.after}", "\n".join(because))
    return table
