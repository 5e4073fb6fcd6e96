"""The real data pipeline for decision tests: demo feeds ingested month by month, families built,
snapshots loaded by :func:`engine.integrate.snapshot.load_families` at a knowledge time."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from engine.integrate.families import build_families
from engine.integrate.feeds import load_feeds
from engine.integrate.grouping import load_grouping
from engine.integrate.ingest import ingest
from engine.rules import ir

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "feeds-demo"
PHASE3 = ROOT / "frameworks" / "phase3"
JAN, FEB = "2024-01-31", "2024-02-29"
#: when each month's extracts were loaded, and when families were rebuilt after each load
LOADED = {JAN: datetime(2024, 2, 1, 9, 0), FEB: datetime(2024, 3, 1, 9, 0)}
BUILT = {JAN: datetime(2024, 2, 1, 10, 0), FEB: datetime(2024, 3, 1, 10, 0)}
AS_OF = date(2024, 2, 15)
#: a decision made between the January and February loads
DECIDED_AT = datetime(2024, 2, 15, 12, 0)


@lru_cache(maxsize=1)
def phase3() -> ir.Framework:
    from dsl import load_framework

    return load_framework(PHASE3)


class DemoFeeds:
    """A private copy of the demo feeds; ``load(month)`` ingests one month and rebuilds families."""

    def __init__(self, engine: sa.Engine, folder: Path) -> None:
        self.engine, self.folder = engine, folder
        shutil.copytree(DEMO / "schemas", folder / "schemas")
        shutil.copy(DEMO / "feeds.yaml", folder / "feeds.yaml")

    def load(self, month: str) -> None:
        shutil.copytree(DEMO / "extracts" / month, self.folder / "extracts" / month)
        report = ingest(self.engine, load_feeds(self.folder / "feeds.yaml"), only=None, loaded_at=LOADED[month],
                        pivot_year=2024)
        assert report.files, f"no demo files loaded for {month}"
        build_families(self.engine, load_grouping(DEMO / "families.yaml"), now=BUILT[month])


def forge_record(engine: sa.Engine, decision_id: str, edit, *, digest: bool = True) -> dict:
    """Edit a stored decision's record in place, as a tamperer with database access would: ``edit(data)``
    changes its full form (returned); with ``digest`` the row's ``result_sha256`` is recomputed to match,
    so only the chain's record hash still tells."""
    from engine.decisions.records import canonical_json, pack_result, stored_result
    from engine.storage.tables_decisions import decisions

    with engine.begin() as conn:
        row = conn.execute(sa.select(decisions).where(decisions.c.decision_id == decision_id)).one()
        data = stored_result(row, conn)
        edit(data)
        packed, sha256 = pack_result(canonical_json(data))
        changed = {"result_zlib": packed, **({"result_sha256": sha256} if digest else {})}
        conn.execute(decisions.update().where(decisions.c.seq == row.seq).values(**changed))
    return data
