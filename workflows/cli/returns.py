"""``hearth returns progress|nis|pseudonymised|log`` and ``hearth consent``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from workflows.cli.console import cli_console
from workflows.cli.run import DB_OPTION, FRAMEWORK_OPTION, HOME_OPTION, _parse_date

console = cli_console()


def _headlines(framework: Path) -> list[str]:
    from dsl import load_framework

    return [h.code for h in load_framework(framework).headlines]


def _done(kind: str, result) -> None:
    extra = f", {result.excluded} excluded (opt-outs)" if result.excluded else ""
    console.print(f"{kind}: {result.rows} rows{extra} -> [bold]{result.path}[/] (sha256 {result.sha256[:12]}…, logged)")


def register(app: typer.Typer) -> None:
    returns = typer.Typer(help="Government returns and extracts (every extract is logged).", no_args_is_help=True)
    consent = typer.Typer(help="Record opt-outs and consent withdrawals for data flows.", no_args_is_help=True)

    @returns.command("progress")
    def progress_cmd(
        period_start: str = typer.Option(..., "--period-start", help="First day of the quarter (YYYY-MM-DD)."),
        period_end: str = typer.Option(..., "--period-end", help="Last day of the quarter (YYYY-MM-DD)."),
        la_code: str = typer.Option("999", "--la-code", help="The council's DfE LA code."),
        out: Path = typer.Option(Path("progress_return.csv"), "--out"),
        actor: str = typer.Option(..., "--actor", help="Who is producing the return (logged)."),
        framework: Path = FRAMEWORK_OPTION, db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Quarterly progress return: families worked with, needs by headline, outcomes achieved and claimed."""
        from engine.returns.service import write_progress
        from engine.storage.db import make_engine

        start, end = _parse_date(period_start, "--period-start"), _parse_date(period_end, "--period-end")
        if start > end:
            from engine.errors import ConfigError

            raise ConfigError(f"--period-start {start} is after --period-end {end}; give the quarter's first day "
                              "and then its last, e.g. --period-start 2024-04-01 --period-end 2024-06-30")
        _done("progress return", write_progress(make_engine(db, home=home), out, la_code=la_code, period_start=start,
                                                period_end=end, headlines=_headlines(framework), actor=actor))

    @returns.command("nis")
    def nis_cmd(
        out: Path = typer.Option(Path("nis_extract.csv"), "--out"),
        as_of: Optional[str] = typer.Option(None, "--as-of", help="Membership date (default today)."),
        actor: str = typer.Option(..., "--actor", help="Who is producing the extract (logged)."),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """National Impact Study identifiers for the cohort only, honouring recorded opt-outs."""
        from engine.returns.service import write_nis
        from engine.storage.db import make_engine

        _done("NIS extract", write_nis(make_engine(db, home=home), out, as_of=_parse_date(as_of, "--as-of") or date.today(),
                                       actor=actor))

    @returns.command("pseudonymised")
    def pseudo_cmd(
        out: Path = typer.Option(Path("analysis_extract.csv"), "--out"),
        as_of: Optional[str] = typer.Option(None, "--as-of", help="Membership date (default today)."),
        actor: str = typer.Option(..., "--actor", help="Who is producing the extract (logged)."),
        framework: Path = FRAMEWORK_OPTION, db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Analysis extract with keyed-hash ids and no direct identifiers."""
        from engine.returns.service import pseudonym_key, write_pseudonymised
        from engine.storage.db import data_dir, make_engine

        _done("pseudonymised extract", write_pseudonymised(
            make_engine(db, home=home), out, as_of=_parse_date(as_of, "--as-of") or date.today(),
            headlines=_headlines(framework), key=pseudonym_key(data_dir(home)), actor=actor))

    @returns.command("log")
    def log_cmd(db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION) -> None:
        """Every extract produced: kind, who, when, rows, exclusions and file hash."""
        import sqlalchemy as sa

        from engine.storage.db import make_engine
        from engine.storage.tables_returns import extract_log

        table = Table(title="Extract log")
        # what an auditor looks for is never cut to fit the terminal: the file's path folds under its kind
        for col in ("when", "kind and file", "by", "rows", "excluded", "sha256"):
            table.add_column(col, no_wrap=col != "kind and file", overflow="fold")
        with make_engine(db, home=home).connect() as conn:
            for r in conn.execute(sa.select(extract_log).order_by(extract_log.c.id)):
                table.add_row(f"{r.produced_at:%Y-%m-%d %H:%M}", f"{r.kind}\n{r.path}", r.produced_by, str(r.rows),
                              str(r.excluded_rows), r.sha256[:8])
        console.print(table)

    @consent.command("record")
    def consent_cmd(
        person_id: str = typer.Argument(..., help="Hearth person id."),
        choice: str = typer.Option(..., "--choice", help="opt_out | withdrawn | consented"),
        flow: str = typer.Option("nis", "--flow", help="The data flow, e.g. nis."),
        by: str = typer.Option(..., "--by", help="Who records it."),
        reason: str = typer.Option("", "--reason"),
        db: Optional[str] = DB_OPTION, home: Optional[str] = HOME_OPTION,
    ) -> None:
        """Record a person's choice about a data flow; later extracts honour it."""
        from engine.errors import ConfigError
        from engine.returns.service import record_consent
        from engine.storage.db import make_engine

        if choice not in {"opt_out", "withdrawn", "consented"}:
            raise ConfigError(f"--choice {choice!r} is not valid; give opt_out, withdrawn or consented")
        record_consent(make_engine(db, home=home), person_id, flow=flow, choice=choice, by=by, reason=reason)
        console.print(f"recorded: {person_id} {choice} for {flow}")

    app.add_typer(returns, name="returns")
    app.add_typer(consent, name="consent")
