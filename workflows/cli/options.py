"""Options every command that reads the database shares: where the data is (``--db``, ``--home``), and
how many worker processes to use (``--workers``)."""

from __future__ import annotations

import os

import typer

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: $HEARTH_DB_URL or <home>/hearth.db).")
HOME_OPTION = typer.Option(None, "--home", help="Data directory (default: $HEARTH_HOME or ./.hearth); "
                                                "`hearth demo` writes to .hearth/demo.")


def open_db(url: str | None, home: str | None = None):
    """The database engine for ``--db`` / ``--home`` (the same resolution for every command)."""
    from engine.storage.db import make_engine

    return make_engine(url, home=home)


def default_workers() -> int:
    """Worker processes for a command not told how many: one per CPU this process may use, up to four.
    Results never depend on the number; a council's 2-core server should not run on one core."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, usable))


def workers_option(what: str) -> typer.Option:
    return typer.Option(default_workers(), "--workers", min=1,
                        help=f"Worker processes for {what} (default: one per CPU, up to 4; results are identical).")
