"""``hearth check`` and ``hearth fmt``: the rule language's command-line tools."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        paths: List[Path] = typer.Argument(..., help="Framework folders or .hearth files."),
        strict: bool = typer.Option(False, "--strict", help="Fail on warnings too."),
    ) -> None:
        """Parse and check frameworks; print every problem as file:line:col, in one pass.

        Exit 0 when clean, 1 when there are errors (or warnings with --strict).
        """
        from dsl.api import check_paths, framework_roots

        roots = framework_roots(paths)
        diagnostics = check_paths(roots)
        for diagnostic in diagnostics:
            typer.echo(diagnostic.render())
        errors = sum(d.is_error for d in diagnostics)
        warnings = len(diagnostics) - errors
        shown = ", ".join(str(r) for r in roots)
        typer.echo(f"{shown}: {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
        if errors or (strict and warnings):
            raise typer.Exit(1)

    @app.command("fmt")
    def fmt(
        paths: List[Path] = typer.Argument(..., help=".hearth files or folders (searched recursively)."),
        check_only: bool = typer.Option(False, "--check", help="Change nothing; exit 1 if a file would change."),
    ) -> None:
        """Format .hearth files canonically (indentation, spacing; order and comments kept)."""
        from dsl.errors import DslError
        from dsl.format import format_text
        from dsl.parser import read_source

        files = _hearth_files(paths)
        changed, failed = [], 0
        for file in files:
            try:
                text = read_source(file)
                formatted = format_text(text, str(file))
            except DslError as exc:
                typer.echo(exc.render(), err=True)
                failed += 1
                continue
            if formatted != text:
                changed.append(file)
                if not check_only:
                    file.write_text(formatted, encoding="utf-8")
        verb = "would reformat" if check_only else "reformatted"
        for file in changed:
            typer.echo(f"{verb} {file}")
        typer.echo(f"{len(files)} file(s): {len(changed)} {verb}, {failed} with errors")
        if failed or (check_only and changed):
            raise typer.Exit(1)


def _hearth_files(paths: List[Path]) -> List[Path]:
    from engine.errors import ConfigError

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.rglob("*.hearth")))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return files
