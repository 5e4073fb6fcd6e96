"""``hearth test PATH``: run a framework's scenario files and report every mismatch.

(The rest of the rules commands - profile, explain, replay, diff, audit, override - live in
:mod:`workflows.cli.rules_audit`.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from engine.errors import ConfigError


def register(app: typer.Typer) -> None:
    @app.command("test")
    def test(
        path: Path = typer.Argument(..., help="A scenario file, a framework's tests/ folder, or a framework folder."),
        framework: Optional[Path] = typer.Option(
            None, "--framework", "-f",
            help="Run the scenarios against this framework folder instead of the one they belong to."),
        explain: bool = typer.Option(True, "--explain/--no-explain", help="Show the explanation of each failure."),
    ) -> None:
        """Run scenario tests (family, date, expected results) against a framework; exit 1 on failures."""
        from dsl.scenarios import compiled_framework, framework_dir_for, run_file, scenario_files

        if not path.exists():
            raise ConfigError(f"{path}: no such file or folder; give a scenario .yaml file or a framework folder")
        files = scenario_files(path)
        if not files:
            raise ConfigError(f"{path}: no scenario files found (expected *.yaml in {path / 'tests'} or {path})")
        console = Console(highlight=False, soft_wrap=True)
        table = Table(title=f"Scenarios in {path}", show_lines=False)
        table.add_column("file:line", no_wrap=True)
        table.add_column("scenario")
        table.add_column("result", no_wrap=True)
        failures = []
        total = 0
        for file in files:
            folder = framework if framework is not None else framework_dir_for(file)
            runs = run_file(file, compiled_framework(folder))
            for run in runs:
                total += 1
                s = run.scenario
                status = "[green]pass[/]" if run.passed else f"[bold red]FAIL[/] ({len(run.mismatches)})"
                table.add_row(f"{Path(s.file).name}:{s.line}", s.name, status)
                if not run.passed:
                    failures.append(run)
        console.print(table)
        for run in failures:
            console.rule(f"[red]{run.scenario.name}")
            text = run.report() if explain else "\n".join(m.describe(run.scenario) for m in run.mismatches)
            console.print(text, markup=False)
        passed = total - len(failures)
        colour = "green" if not failures else "red"
        console.print(f"[{colour}]{passed} passed, {len(failures)} failed[/] ({total} scenarios in {len(files)} file(s))")
        if failures:
            raise typer.Exit(1)
