"""``hearth feeds check``, ``hearth ingest``, ``hearth quarantine``, ``hearth families build|show``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from workflows.cli.console import cli_console
from workflows.cli.options import DB_OPTION, HOME_OPTION, open_db

#: piped output (CI logs, files) gets room for the tables instead of the 80-column fallback
console = cli_console(highlight=False)



def register(app: typer.Typer) -> None:
    feeds_app = typer.Typer(help="Feed declarations.", no_args_is_help=True)
    families_app = typer.Typer(help="Families built from records, persons and grouping rules.", no_args_is_help=True)
    app.add_typer(feeds_app, name="feeds")
    app.add_typer(families_app, name="families")

    @feeds_app.command("check")
    def feeds_check(feeds_file: Path = typer.Argument(..., help="The feeds YAML file.")) -> None:
        """Check a feeds file (keys, fact types, JSON Schemas) and list the files each feed would load."""
        from engine.errors import DataError
        from engine.integrate.feeds import load_feeds
        from engine.integrate.readers import open_sources

        feeds = load_feeds(feeds_file)
        table = Table(title=f"{feeds_file}: {len(feeds.feeds)} feed(s), declarations valid")
        for column in ("feed", "system", "source", "files", "facts", "coverage from"):
            table.add_column(column)
        missing = 0
        for feed in feeds.feeds:
            try:
                files = str(len(open_sources(feed, feeds.base_dir))) if feed.source.type != "sql" else "query"
            except DataError as exc:
                files, missing = f"[red]{escape(exc.render())}[/]", missing + 1
            table.add_row(feed.name, escape(feed.system), feed.source.type, files, ", ".join(feed.fact_types) or "-",
                          str(feed.coverage.from_) if feed.coverage else "-")
        console.print(table)
        if missing:
            raise typer.Exit(1)

    @app.command("ingest")
    def ingest_command(
        feeds_file: Path = typer.Argument(..., help="The feeds YAML file."),
        feed: Optional[List[str]] = typer.Option(None, "--feed", help="Load only this feed (repeatable)."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Load every declared feed's files as batches; print the reconciliation table.

        Exit 1 if any file could not be read (after loading all the others).
        """
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from engine.integrate.feeds import load_feeds
        from engine.integrate.ingest import ingest

        feeds = load_feeds(feeds_file)
        if feed:
            known = {f.name for f in feeds.feeds}
            unknown = sorted(set(feed) - known)
            if unknown:
                from engine.errors import ConfigError

                raise ConfigError(f"--feed {', '.join(unknown)}: no such feed in {feeds_file}; "
                                  f"feeds: {', '.join(sorted(known))}")
        engine = open_db(db, home)
        tasks: dict[tuple[str, str], int] = {}
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                      TimeElapsedColumn(), console=console, transient=True) as progress:

            def on_rows(feed_name: str, source: str, rows: int) -> None:
                key = (feed_name, source)
                if key not in tasks:
                    tasks[key] = progress.add_task(f"{feed_name}: {Path(source).name}", total=None)
                progress.update(tasks[key], completed=rows)

            report = ingest(engine, feeds, only=set(feed) if feed else None, progress=on_rows)
        console.print(_reconciliation_table(report))
        for failed in report.unreadable:
            console.print(f"[bold red]unreadable:[/] {failed.feed}: {escape(failed.error or '')}", soft_wrap=True)
        if report.unreadable:
            raise typer.Exit(1)

    @app.command("quarantine")
    def quarantine_command(
        feed: Optional[str] = typer.Option(None, "--feed", help="Only this feed."),
        batch: Optional[str] = typer.Option(None, "--batch", help="Only this batch id."),
        warnings: bool = typer.Option(True, "--warnings/--no-warnings", help="Include accepted rows' warnings."),
        limit: int = typer.Option(200, "--limit", min=1, help="Show at most this many entries."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """List quarantined rows (and warnings) with their row number, field and reason."""
        import sqlalchemy as sa

        from engine.storage.tables_ingest import quarantine

        query = sa.select(quarantine).order_by(quarantine.c.batch_id, quarantine.c.row_number, quarantine.c.id)
        if feed:
            query = query.where(quarantine.c.feed == feed)
        if batch:
            query = query.where(quarantine.c.batch_id == batch)
        if not warnings:
            query = query.where(quarantine.c.severity == "rejected")
        with open_db(db, home).connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
            rows = conn.execute(query.limit(limit)).mappings().all()
        table = Table(title=f"quarantine: {total} entr{'y' if total == 1 else 'ies'}"
                      + (f" (first {limit})" if total > limit else ""))
        for column in ("batch", "row", "severity", "field", "reason"):
            table.add_column(column, overflow="fold")
        for row in rows:
            style = "red" if row["severity"] == "rejected" else "yellow"
            table.add_row(escape(row["batch_id"]), str(row["row_number"]), f"[{style}]{row['severity']}[/]",
                          escape(row["field"] or "-"), escape(row["reason"]))
        console.print(table)

    @families_app.command("build")
    def families_build(
        rules: Optional[Path] = typer.Option(None, "--rules", help="Grouping rules YAML (default: one "
                                             "household layer: address, stated household, parent-child)."),
        match: bool = typer.Option(True, "--match/--no-match", help="Run person matching first (when "
                                   "installed) so families group persons, not records."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Group persons into families; ids stay stable across runs, moves are dated, merges/splits recorded."""
        from engine.integrate.families import build_families
        from engine.integrate.grouping import load_grouping
        from engine.integrate.persons import run_matcher

        grouping = load_grouping(rules)
        engine = open_db(db, home)
        if match:
            summary = run_matcher(engine)
            console.print(summary or "matching is not installed: each record is its own person")
        report = build_families(engine, grouping)
        console.print(f"build {report.build_id}, as of extract date {report.as_of}; {report.persons}")
        table = Table(title="families by layer")
        for column in ("layer", "families", "persons", "created", "merged", "split", "dissolved", "moved"):
            table.add_column(column, justify="left" if column == "layer" else "right")
        for name, s in report.layers.items():
            table.add_row(name, *(str(v) for v in (s.families, s.persons, s.created, s.merged, s.split,
                                                   s.dissolved, s.members_moved)))
        console.print(table)

    @families_app.command("show")
    def families_show(
        family_id: str = typer.Argument(..., help="A family id, e.g. F000001."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Show a family's members over time, their source records and the family's history."""
        from engine.integrate.families import describe_family

        view = describe_family(open_db(db, home), family_id)
        status = f", dissolved {view.dissolved_on}" if view.dissolved_on else ""
        console.print(f"[bold]{view.family_id}[/] ({view.layer} layer{status}); {view.persons}")
        members = Table(title="members")
        for column in ("person", "from", "to", "records"):
            members.add_column(column, overflow="fold")
        for person, joined, left in view.memberships:
            records = "\n".join(
                f"{r['record_key']}: {r['given_name_as_written'] or ''} {r['family_name'] or ''}, born {r['date_of_birth'] or '?'}"
                f"{', ' + r['postcode'] if r['postcode'] else ''}" for r in view.records.get(person, [])
            )
            members.add_row(escape(person), str(joined), str(left) if left else "(member)", escape(records or "-"))
        console.print(members)
        if view.events:
            events = Table(title="history")
            for column in ("build", "date", "event", "family", "related"):
                events.add_column(column)
            for e in view.events:
                events.add_row(str(e["build_id"]), str(e["on_date"]), e["event"], e["family_id"],
                               ", ".join(e["related_family_ids"]) or "-")
            console.print(events)


def _reconciliation_table(report) -> Table:
    table = Table(title="reconciliation: rows in = accepted + quarantined (warnings are accepted rows)")
    table.add_column("feed", no_wrap=True)
    table.add_column("extract", no_wrap=True)
    for column in ("rows in", "accepted", "quarantined", "warnings"):
        table.add_column(column, justify="right", min_width=len(column))
    table.add_column("result", min_width=len("already loaded"))
    for f in report.files:
        if f.status == "loaded":
            result = "[green]ok[/]" if f.reconciles else "[red]MISMATCH[/]"
            numbers = (str(f.rows_in), str(f.accepted), str(f.quarantined), str(f.warnings))
        else:
            result = "[red]UNREADABLE[/]" if f.status == "unreadable" else "already loaded"
            numbers = ("-",) * 4
        table.add_row(f.feed, str(f.extract_date or "-"), *numbers, result)
    return table
