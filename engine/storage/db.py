"""Database engines and the shared MetaData.

SQLite file by default (``<data_dir>/hearth.db``), PostgreSQL through a ``postgresql+psycopg://`` URL.
Every table module in :mod:`engine.storage` registers its tables on :data:`metadata`, so one
``create_all`` builds the whole schema.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.schema import CreateColumn

from engine.errors import ConfigError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

DEFAULT_DATA_DIR = ".hearth"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The directory Hearth keeps its database, Temporal state and outputs in.

    Order: the explicit argument, ``$HEARTH_HOME``, then ``./.hearth``.
    """
    path = Path(explicit or os.environ.get("HEARTH_HOME") or DEFAULT_DATA_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(url: str | None = None, home: str | os.PathLike[str] | None = None) -> str:
    """The database URL: explicit, ``$HEARTH_DB_URL``, or a SQLite file in the data directory."""
    if url:
        return url
    if os.environ.get("HEARTH_DB_URL"):
        return os.environ["HEARTH_DB_URL"]
    return f"sqlite:///{(data_dir(home) / 'hearth.db').resolve()}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
    cur = dbapi_conn.cursor()
    # WAL lets a reader (explain, a report) run while the nightly load writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str | None = None, *, create: bool = True, home: str | None = None) -> sa.Engine:
    """Create an engine for ``url`` and (by default) make sure every Hearth table exists."""
    resolved = database_url(url, home)
    try:
        engine = sa.create_engine(resolved, future=True)
    except (sa.exc.ArgumentError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"cannot use database URL {resolved!r}: {exc}. "
            "Use sqlite:///path/to/file.db or postgresql+psycopg://user@host:port/dbname."
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        import_all_tables()
        try:
            metadata.create_all(engine)
            add_missing_columns(engine)
        except sa.exc.OperationalError as exc:
            raise ConfigError(f"cannot open database {resolved!r}: {exc.orig}") from exc
    return engine


def add_missing_columns(engine: sa.Engine) -> list[str]:
    """Add the nullable columns a table of an older Hearth database lacks (``create_all`` makes missing
    tables only), so a database keeps working after an upgrade; returns them as ``table.column``. Rows
    already there get NULL, which every reader takes as "not recorded then"."""
    # (one query for every table's columns: this runs whenever a command opens the database)
    found = sa.inspect(engine).get_multi_columns()
    have = {table: {c["name"] for c in columns} for (_, table), columns in found.items()}
    added: list[str] = []
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name not in have:
                continue
            for column in table.columns:
                if column.name in have[table.name]:
                    continue
                if not column.nullable:
                    raise ConfigError(f"table {table.name} of this database lacks column {column.name}, which "
                                      "cannot be added to existing rows; make a new database and load it again")
                definition = CreateColumn(column).compile(dialect=engine.dialect)
                conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {definition}"))
                added.append(f"{table.name}.{column.name}")
    return added


def import_all_tables() -> None:
    """Import every module that defines tables so they are registered on :data:`metadata`."""
    import importlib
    import pkgutil

    import engine.storage as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("tables_"):
            importlib.import_module(f"engine.storage.{info.name}")
