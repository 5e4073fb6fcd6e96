"""Shared helpers: a private copy of the demo feeds with a chosen set of monthly extracts."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.integrate.feeds import Feeds, load_feeds
from engine.integrate.ingest import IngestReport, ingest
from engine.storage.db import make_engine

DEMO = Path(__file__).resolve().parents[2] / "examples" / "feeds-demo"
JAN, FEB = "2024-01-31", "2024-02-29"
#: knowledge times used for the two demo loads
JAN_LOADED = datetime(2024, 2, 1, 9, 0)
FEB_LOADED = datetime(2024, 3, 1, 9, 0)


@pytest.fixture
def demo(tmp_path: Path) -> Callable[..., Feeds]:
    """Copy the demo feeds into tmp_path; call with the extract folders to include (adds to earlier ones)."""
    target = tmp_path / "feeds-demo"
    shutil.copytree(DEMO / "schemas", target / "schemas")
    shutil.copy(DEMO / "feeds.yaml", target / "feeds.yaml")
    shutil.copy(DEMO / "families.yaml", target / "families.yaml")

    def with_months(*months: str) -> Feeds:
        for month in months:
            if not (target / "extracts" / month).exists():
                shutil.copytree(DEMO / "extracts" / month, target / "extracts" / month)
        return load_feeds(target / "feeds.yaml")

    return with_months


@pytest.fixture
def engine(db_url: str):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def loaded(engine: sa.Engine, demo) -> Callable[..., IngestReport]:
    """Load January then (optionally) February, each with its own knowledge time."""

    def load(months: tuple[str, ...] = (JAN, FEB)) -> IngestReport:
        reports = []
        for month, known in ((JAN, JAN_LOADED), (FEB, FEB_LOADED)):
            if month in months:
                reports.extend(ingest(engine, demo(month), loaded_at=known, pivot_year=2024).files)
        return IngestReport(tuple(reports))

    return load
