"""``hearth version`` (and, later, run/demo/evaluate/report)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("version")
    def version() -> None:
        """Print Hearth's version."""
        import engine

        typer.echo(f"hearth {engine.__version__}")
