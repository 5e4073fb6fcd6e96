"""``hearth run``, ``hearth demo``, ``hearth evaluate``, ``hearth report``, ``hearth returns``, ``hearth version``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from workflows.cli.console import cli_console
from workflows.cli.options import DB_OPTION, HOME_OPTION, workers_option

console = cli_console()

DEFAULT_FRAMEWORK = Path(__file__).resolve().parents[2] / "frameworks" / "phase3"
FRAMEWORK_OPTION = typer.Option(DEFAULT_FRAMEWORK, "--framework", help="Framework folder or .hearth file.")


def _parse_date(text: str | None, option: str) -> date | None:
    from engine.errors import ConfigError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a date; give it as YYYY-MM-DD, e.g. 2024-03-31") from None


def _month_table(result) -> Table:
    table = Table(title="Pipeline by monthly extract")
    for col in ("extract", "files", "rows in", "accepted", "quarantined", "people", "families", "eligible", "not met", "unknown"):
        table.add_column(col, justify="right" if col != "extract" else "left")

    def count(value) -> str:
        return "-" if value is None else f"{value:,}"

    for m in result.months:
        met, not_met, unknown = m.eligible or (None, None, None)
        loaded = ("up to date", "-", "-", "-") if m.skipped else (
            str(m.files_loaded), f"{m.rows_in:,}", f"{m.accepted:,}", f"{m.quarantined:,}")
        table.add_row(m.extract_date.isoformat(), *loaded,
                      count(m.persons), count(m.families), count(met), count(not_met), count(unknown))
    return table


def _print_skipped(result) -> None:
    skipped = [m.extract_date for m in result.months if m.skipped]
    if not skipped:
        return
    span = skipped[0].isoformat() + (f" .. {skipped[-1].isoformat()}" if len(skipped) > 1 else "")
    what = "every extract" if len(skipped) == len(result.months) else f"{len(skipped)} extract(s)"
    console.print(f"up to date: {what} ({span}) already loaded and profiled, so not decided again (the "
                  "counts are those runs'; the newest is decided again under a new framework or whenever "
                  "anything new is known); --rerun decides them all again with this framework and what is known now")


def _stage_table(result) -> Table:
    table = Table(title="Time by stage")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, seconds in sorted(result.seconds_by_stage().items(), key=lambda kv: -kv[1]):
        table.add_row(stage, f"{seconds:.1f}")
    return table


def run_data_pipeline(engine, framework, feeds_path: Path, *, until: date | None = None, workers: int = 1,
                      rerun: bool = False):
    """Ingest -> match -> families -> profile for every monthly extract not yet profiled with this
    framework (all of them with ``rerun``), printing progress."""
    from workflows.pipeline import Pipeline

    with console.status("starting…") as status:
        pipeline = Pipeline(engine, framework, note=lambda msg: status.update(msg), workers=workers, rerun=rerun)
        result = pipeline.run(feeds_path, until=until)
    console.print(_month_table(result))
    _print_skipped(result)
    for month in result.months:
        for problem in month.unreadable:
            console.print(f"[red]unreadable feed file[/] ({month.extract_date}): {problem}")
    if result.months:  # why the newest profile has unknowns it will lose when the feeds catch up
        for gap in result.months[-1].waiting_for:
            console.print(f"[yellow]not delivered yet[/] ({result.months[-1].extract_date}): {gap.describe()}")
    return result


def open_cases(engine, run_id: str, *, address: str | None, home: str | None):
    """Open a case workflow for every eligible family of a profiling run (idempotent), on the configured
    cluster or the embedded dev server; an embedded server this call started is stopped cleanly after."""
    import asyncio
    import os

    from engine.storage.db import data_dir
    from workflows.activities import CaseActivities
    from workflows.cases import CaseClient
    from workflows.server import ensure_address, running_server, stop_dev_server
    from workflows.worker import ADDRESS_ENV, TASK_QUEUE, build_worker, connect, worker_gc

    embedded = not (address or os.environ.get(ADDRESS_ENV))
    started_here = embedded and running_server(data_dir(home)) is None
    target = ensure_address(address, home)

    async def main():
        client = await connect(target)
        cases = CaseClient(client, engine, TASK_QUEUE)
        async with build_worker(client, CaseActivities(engine), TASK_QUEUE):
            return await cases.start_cases_for_run(run_id)

    try:
        with console.status(f"opening cases on Temporal at {target}"), worker_gc():
            return asyncio.run(main())
    finally:
        if started_here:
            stop_dev_server(data_dir(home))


def write_report(engine, framework, out: Path, *, claims_cap: int | None = None, evaluation=None) -> Path:
    from engine.reporting.collect import collect_report
    from engine.reporting.html import write_report as write_html

    names = {h.code: h.name for h in framework.headlines}
    data = collect_report(
        engine, framework_label=f"{framework.header.id} {framework.header.version}", headline_names=names,
        claims_cap=claims_cap,
    )
    if evaluation is not None:
        data.matching.precision = evaluation.matching.precision
        data.matching.recall = evaluation.matching.recall
        data.matching.f1 = evaluation.matching.f1
        data.matching.family_accuracy = evaluation.families.f1
        data.matching.eligibility_agreement = evaluation.eligibility_agreement
        data.matching.need_agreement = evaluation.need_agreement
    return write_html(data, out)


def can_open_browser() -> bool:
    """A graphical browser can be opened here: a desktop session, and not a test run. (On a bare
    Linux console ``webbrowser`` would fall back to a text browser that takes over the terminal.)"""
    import os
    import sys

    if os.environ.get("PYTEST_CURRENT_TEST"):
        return False
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show_report(path: Path, open_it: bool | None) -> None:
    """Print where the report is (path and file:// address) and open it in a browser when asked or,
    by default, when there is a desktop to open it on."""
    url = path.resolve().as_uri()
    console.print(f"\nreport: [bold]{path}[/]  {url}")
    if open_it is None:
        open_it = can_open_browser()
    if not open_it:
        console.print("open it in any browser (it is self-contained: no network needed)")
        return
    import webbrowser

    if not webbrowser.open(url):
        console.print("no browser could be started here; open the address above in any browser")


def print_evaluation(report) -> None:
    table = Table(title=f"Pipeline against ground truth, as of {report.as_of.isoformat()}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    pct = lambda v: "n/a" if v is None else f"{v * 100:.2f}%"  # noqa: E731
    rows = [
        ("person matching precision", pct(report.matching.precision)),
        ("person matching recall", pct(report.matching.recall)),
        ("person matching F1", pct(report.matching.f1)),
        ("family grouping F1 (pairwise)", pct(report.families.f1)),
        ("households reproduced exactly", pct(report.exact_households)),
        ("eligibility agreement", pct(report.eligibility_agreement)),
        ("need agreement", pct(report.need_agreement)),
        ("households compared", f"{report.compared_households:,}"),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if report.attribution is not None:
        console.print(_cause_table(report))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")


def _cause_table(report) -> Table:
    """Disagreements with the truth by cause (see engine.evaluation.attribution), a row per cause."""
    from engine.evaluation.attribution import CAUSE_HELP, CAUSES

    attribution = report.attribution
    table = Table(title="Disagreements with the truth, by cause")
    for col in ("cause", "households (eligibility)", "household needs", "meaning"):
        table.add_column(col, justify="right" if col.startswith("house") else "left")
    for cause in CAUSES:
        table.add_row(cause, f"{attribution.eligibility[cause]:,}", f"{attribution.needs[cause]:,}", CAUSE_HELP[cause])
    households, needs = sum(attribution.eligibility.values()), sum(attribution.needs.values())
    table.add_row("[bold]all[/]", f"[bold]{households:,}[/] of {report.compared_households:,}",
                  f"[bold]{needs:,}[/] of {report.compared_needs:,}", "")
    return table


def register(app: typer.Typer) -> None:
    @app.command("version")
    def version() -> None:
        """Print Hearth's version."""
        import engine

        typer.echo(f"hearth {engine.__version__}")

    @app.command("run")
    def run_cmd(
        path: Path = typer.Argument(..., help="A borough folder holding feeds.yaml (or the feeds.yaml itself), or examples/borough (generated on first use)."),
        framework: Path = FRAMEWORK_OPTION,
        until: Optional[str] = typer.Option(None, "--until", help="Load extracts up to this date (YYYY-MM-DD)."),
        db: Optional[str] = DB_OPTION,
        home: Optional[str] = HOME_OPTION,
        workers: int = workers_option("ingest (reading and mapping feeds), matching and profiling"),
        rerun: bool = typer.Option(False, "--rerun", help="Profile every extract again, also those already "
                                   "profiled with this framework when nothing known has changed since."),
        report: Optional[Path] = typer.Option(None, "--report", help="Where to write the HTML report."),
        cases: bool = typer.Option(True, "--cases/--no-cases", help="Open case workflows for eligible families."),
        temporal_address: Optional[str] = typer.Option(
            None, "--temporal-address", help="An existing Temporal cluster (default: the embedded dev server)."),
        open_report: Optional[bool] = typer.Option(
            None, "--open/--no-open", help="Open the report in a browser (default: when a desktop is available)."),
    ) -> None:
        """Run the pipeline on a borough: ingest -> match -> families -> profile for each monthly extract,
        open cases for eligible families on Temporal, then write the report. Run it nightly: extracts
        already loaded and profiled are not decided again (the newest is, under a new framework or when
        anything new is known)."""
        from dsl import load_framework
        from engine.storage.db import data_dir, make_engine
        from workflows.cli.borough import SPEC_FILE, ensure_generated
        from workflows.pipeline import find_feeds

        if (path / SPEC_FILE).is_file() and not (path / "feeds.yaml").is_file():
            # a generator folder such as examples/borough: generate its borough first (once)
            feeds_path = ensure_generated(path, data_dir(home) / "borough", echo=console.print)
        else:
            feeds_path = find_feeds(path)
        fw = load_framework(framework)
        engine = make_engine(db, home=home)
        result = run_data_pipeline(engine, fw, feeds_path, until=_parse_date(until, "--until"), workers=workers,
                                   rerun=rerun)
        console.print(_stage_table(result))
        if cases and result.last_run_id:
            started = open_cases(engine, result.last_run_id, address=temporal_address, home=home)
            console.print(f"cases: {len(started.created)} opened, {len(started.existing)} already open, "
                          f"{len(started.flagged)} flagged (no longer eligible before attachment), "
                          f"{len(started.closed_not_reopened)} closed and not reopened, "
                          f"{len(started.rechecked)} waiting on a guard re-checked as of the run's date")
        out = write_report(engine, fw, report or data_dir(home) / "report.html")
        show_report(out, open_report)
        if any(m.unreadable for m in result.months):
            raise typer.Exit(1)

    @app.command("demo")
    def demo_cmd(
        residents: int = typer.Option(1200, "--residents", help="About how many residents (1,000 or more)."),
        seed: int = typer.Option(7, "--seed", help="Same seed, same borough and same simulated casework."),
        future_months: int = typer.Option(14, "--months", min=7, max=20,
                                          help="Months of casework to simulate: outcomes are achieved, then "
                                               "sustained for 6 months, then claimed, so claims need 12 or more."),
        framework: Path = FRAMEWORK_OPTION,
        home: Optional[str] = typer.Option(None, "--home", help="Where the demo writes (default <data dir>/demo)."),
        open_report: Optional[bool] = typer.Option(
            None, "--open/--no-open", help="Open the report in a browser (default: when a desktop is available)."),
    ) -> None:
        """Generate a small borough and run everything on it: feeds, matching, families, profiling, cases on
        a time-skipping Temporal server with simulated casework, claims, returns, evaluation and the report."""
        from dsl import load_framework
        from engine.storage.db import data_dir
        from workflows.demo import DemoSettings, run_demo

        settings = DemoSettings(home=Path(home) if home else data_dir() / "demo", residents=residents, seed=seed,
                                future_months=future_months)
        fw = load_framework(framework)
        with console.status("starting the demo…") as status:
            result = run_demo(settings, fw, note=lambda msg: status.update(msg))
        console.print(_month_table(result.pipeline))
        console.print(_stage_table(result.pipeline))
        actions = Table(title="Simulated casework")
        actions.add_column("action")
        actions.add_column("count", justify="right")
        for action, count in sorted(result.actions.items()):
            actions.add_row(action, str(count))
        console.print(actions)
        states = ", ".join(f"{k} {v}" for k, v in sorted(result.cases_by_state.items()))
        console.print(f"cases by state: {states or 'none'}; claims: {result.claims}")
        print_evaluation(result.evaluation)
        for name, path in result.outputs.items():
            console.print(f"{name}: {path}")
        show_report(result.report, open_report)

    @app.command("evaluate")
    def evaluate_cmd(
        truth: Path = typer.Option(..., "--truth", help="The borough's truth/ folder (never read by the pipeline)."),
        as_of: Optional[str] = typer.Option(None, "--as-of", help="Evaluation date (default: latest profiling run)."),
        framework: Path = FRAMEWORK_OPTION,
        db: Optional[str] = DB_OPTION,
        home: Optional[str] = HOME_OPTION,
        report: Optional[Path] = typer.Option(None, "--report", help="Also write the HTML report with these figures."),
        details: Optional[Path] = typer.Option(None, "--details", help="Write every disagreement with its cause "
                                               "(one CSV row per household and subject)."),
    ) -> None:
        """Compare the pipeline's people, families, eligibility and needs with the ground truth."""
        from dsl import load_framework
        from engine.evaluation.truth import Truth, evaluate_against_truth
        from engine.rules.evaluator import compile_framework
        from engine.storage.db import make_engine

        engine = make_engine(db, home=home)
        fw = load_framework(framework)
        day = _parse_date(as_of, "--as-of") or _latest_as_of(engine)
        result = evaluate_against_truth(engine, Truth.load(truth), day, compiled=compile_framework(fw))
        print_evaluation(result)
        if details and result.attribution is not None:
            from engine.evaluation.attribution import write_disagreements

            console.print(f"disagreements: {write_disagreements(details, result.attribution)}")
        if report:
            console.print(f"report: {write_report(engine, fw, report, evaluation=result)}")

    @app.command("report")
    def report_cmd(
        out: Optional[Path] = typer.Option(None, "--out", help="Where to write the HTML report (default: "
                                           "report.html in the data directory, as `hearth run` writes it)."),
        framework: Path = FRAMEWORK_OPTION,
        db: Optional[str] = DB_OPTION,
        home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Write the self-contained HTML programme report from the database."""
        from dsl import load_framework
        from engine.storage.db import data_dir, make_engine

        out = out or data_dir(home) / "report.html"
        console.print(f"report: {write_report(make_engine(db, home=home), load_framework(framework), out)}")


def _latest_as_of(engine) -> date:
    import sqlalchemy as sa

    from engine.errors import NotFoundError
    from engine.storage.db import metadata

    runs = metadata.tables["decision_runs"]
    with engine.connect() as conn:
        day = conn.execute(sa.select(sa.func.max(runs.c.as_of))).scalar()
    if day is None:
        raise NotFoundError("no profiling run in this database: run `hearth run PATH` or `hearth profile` first")
    return day
