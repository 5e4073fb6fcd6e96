"""Fixtures for the decision-record tests: a real database per test (SQLite file; PostgreSQL too when
``HEARTH_TEST_PG_URL`` is set)."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from engine.storage.db import make_engine, metadata

BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("HEARTH_TEST_PG_URL") else [])


def _postgres_engine() -> tuple[sa.Engine, str]:
    """A throwaway schema on the test server, so parallel runs do not see each other's rows."""
    schema = f"hearth_decisions_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(os.environ["HEARTH_TEST_PG_URL"])
    with admin.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    admin.dispose()
    engine = make_engine(os.environ["HEARTH_TEST_PG_URL"], create=False).execution_options(
        schema_translate_map={None: schema}
    )
    metadata.create_all(engine)
    return engine, schema


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path) -> sa.Engine:
    """An empty Hearth database with every table created."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'hearth.db'}")
        yield engine
        engine.dispose()
        return
    engine, schema = _postgres_engine()
    yield engine
    engine.dispose()
    admin = sa.create_engine(os.environ["HEARTH_TEST_PG_URL"])
    with admin.begin() as conn:
        conn.execute(sa.text(f'drop schema "{schema}" cascade'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A SQLite file URL with the schema created (for CLI tests that open their own engine)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    make_engine(url).dispose()
    return url
