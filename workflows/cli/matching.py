"""``hearth match``, ``match-run``, ``explain-match`` and ``review``: person matching commands."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from workflows.cli.options import DB_OPTION, HOME_OPTION, open_db

REVIEWER = typer.Option(..., "--reviewer", help="Who decided (stored with the decision).")
REASON = typer.Option(..., "--reason", help="Why (stored with the decision).")



def _weight(value: float) -> str:
    return f"{value:+.2f}"


def register(app: typer.Typer) -> None:
    review_app = typer.Typer(help="Clerical review of possible matches.", no_args_is_help=True)
    app.add_typer(review_app, name="review")
    console = Console()
    if not console.is_terminal:  # piped or captured: wide enough for the waterfall's columns
        console = Console(width=160)

    @app.command("match")
    def match(
        files: List[Path] = typer.Argument(..., help="Person CSV files: one deduplicates, several link."),
        id_column: str = typer.Option(..., "--id-column", help="Column holding each row's record id."),
        mappings: List[str] = typer.Option(
            [], "--map", help="FIELD=COLUMN[,COLUMN...]; FIELD is an identity field (repeatable)."),
        extra_ids: List[str] = typer.Option([], "--extra-id", help="Another identifier column to compare."),
        out: Path = typer.Option(..., "--out", help="Output CSV: source,record_id,person_id."),
    ) -> None:
        """Match people across CSV files (no database) and write one row per input record."""
        from engine.matching.csv_mode import match_files, parse_mappings

        spec = parse_mappings(list(mappings), list(extra_ids), id_column)
        result, persons = match_files(list(files), spec, out)
        report = result.blocking_report.summary()
        typer.echo(f"{len(result.table)} records -> {persons} persons; "
                   f"{report['candidate_pairs']} pairs compared; {len(result.review_pairs())} possible "
                   f"matches in the review band; wrote {out}")
        for rule, skipped in report["skipped_blocks"].items():
            typer.echo(f"note: blocking rule '{rule}' skipped {skipped['blocks']} oversized block(s) "
                       f"({skipped['records']} records)")
        for rule in report["dropped_rules_over_pair_budget"]:
            typer.echo(f"note: blocking rule '{rule}' was dropped: too many pairs for this data size")

    @app.command("match-run")
    def match_run(db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION) -> None:
        """Match all loaded source records into persons, keeping ids stable across runs."""
        from engine.matching.pipeline import run_matching

        summary = run_matching(open_db(db, home))
        typer.echo(
            f"match run {summary.run_id}: {summary.records} records -> {summary.persons} persons "
            f"({summary.created} new, {summary.retired} retired, {summary.merges} merges, {summary.splits} splits); "
            f"{summary.candidate_pairs} pairs compared; {summary.review_pairs} pairs to review; {summary.seconds:.1f} s"
        )

    @app.command("explain-match")
    def explain_match(
        record_a: str = typer.Argument(..., help="Record key '<feed>:<record_id>'."),
        record_b: str = typer.Argument(..., help="Record key '<feed>:<record_id>'."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Show why two records do or do not match: each field's level, m, u, weight (waterfall)."""
        from engine.matching.explain import explain

        with open_db(db, home).connect() as conn:
            found = explain(conn, record_a, record_b)
        table = Table(title=f"{record_a} vs {record_b} (model of match run {found.run_id})")
        for name in ("comparison", "left", "right", "level", "m", "u", "weight", "tf adj", "running"):
            table.add_column(name, justify="right" if name in {"m", "u", "weight", "tf adj", "running"} else "left")
        running = 0.0
        for row in found.rows:
            running += row.weight + row.tf_adjustment
            table.add_row(row.comparison, "" if row.left is None else str(row.left),
                          "" if row.right is None else str(row.right), row.level,
                          "" if row.m is None else f"{row.m:.4g}", "" if row.u is None else f"{row.u:.4g}",
                          _weight(row.weight), _weight(row.tf_adjustment) if row.tf_adjustment else "",
                          _weight(running))
        console.print(table)
        verdict = "match" if found.probability >= found.match_threshold else "no match"
        if found.listed_apart:
            verdict = "never linked: listed apart"
            console.print("listed apart: one extract of one source lists these records as two people (same "
                          "first extract; one home with another given name, two homes, or two birth dates), so "
                          "they are never linked whatever the weight (docs/matching.md)", highlight=False)
        same = found.person_a is not None and found.person_a == found.person_b
        console.print(f"total match weight {found.total_weight:+.2f} -> probability {found.probability:.6f} "
                      f"({verdict} at threshold {found.match_threshold}); persons: {found.person_a} / "
                      f"{found.person_b}{' (same person)' if same else ''}", highlight=False)

    @review_app.command("list")
    def review_list(db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION, limit: int = typer.Option(50, "--limit", min=1)) -> None:
        """Possible matches waiting for a decision, most likely first."""
        from engine.matching.store import open_reviews

        with open_db(db, home).connect() as conn:
            rows = open_reviews(conn)
        if not rows:
            typer.echo("no possible matches waiting for review")
            return
        table = Table(title=f"{len(rows)} possible match(es) to review")
        for name in ("record A", "record B", "weight", "probability"):
            table.add_column(name)
        for row in rows[:limit]:
            table.add_row(row.record_key_a, row.record_key_b, _weight(row.match_weight), f"{row.probability:.4f}")
        console.print(table)
        console.print("decide with: hearth review confirm|reject A B --reviewer NAME --reason TEXT", highlight=False)

    def _decide(decision: str, a: str, b: str, reviewer: str, reason: str, db: str | None, home: str | None) -> None:
        from engine.matching.store import record_decision

        with open_db(db, home).begin() as conn:
            record_decision(conn, a, b, decision, reviewer, reason)
        effect = "they will be linked" if decision == "confirm" else "they will never be linked"
        typer.echo(f"{decision}ed {a} / {b}: {effect} from the next `hearth match-run` on")

    @review_app.command("confirm")
    def review_confirm(a: str, b: str, reviewer: str = REVIEWER, reason: str = REASON,
                       db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION) -> None:
        """Confirm two records are the same person (a forced link in every later run)."""
        _decide("confirm", a, b, reviewer, reason, db, home)

    @review_app.command("reject")
    def review_reject(a: str, b: str, reviewer: str = REVIEWER, reason: str = REASON,
                      db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION) -> None:
        """Reject a possible match (the two records can never be linked again)."""
        _decide("reject", a, b, reviewer, reason, db, home)
