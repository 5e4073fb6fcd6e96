"""Fixtures for the decision-record tests: a real database per test, on a SQLite file and (when
``HEARTH_TEST_PG_URL`` is set) on PostgreSQL, through the shared ``db_url`` fixture."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.storage.db import make_engine


@pytest.fixture
def db(db_url: str) -> sa.Engine:
    """An empty Hearth database with every table created."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
