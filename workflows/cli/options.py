"""Options every command that reads the database shares: where the data is (``--db``, ``--home``)."""

from __future__ import annotations

import typer

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: $HEARTH_DB_URL or <home>/hearth.db).")
HOME_OPTION = typer.Option(None, "--home", help="Data directory (default: $HEARTH_HOME or ./.hearth); "
                                                "`hearth demo` writes to .hearth/demo.")


def open_db(url: str | None, home: str | None = None):
    """The database engine for ``--db`` / ``--home`` (the same resolution for every command)."""
    from engine.storage.db import make_engine

    return make_engine(url, home=home)
