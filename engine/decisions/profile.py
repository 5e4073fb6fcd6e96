"""Profile every family as of a date and record one hash-chained decision per family in a run.

The whole run (framework stored, run row, every decision) is written in one transaction: a run is
either recorded completely or not at all.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Sequence

import sqlalchemy as sa

import engine as engine_pkg
from engine.decisions.evaluate import Evaluated, compile_for, evaluate_families
from engine.decisions.overrides import overrides_in_force
from engine.decisions.records import NewDecision, append_decisions, utc_naive, utc_now
from engine.decisions.store import store_framework
from engine.errors import HearthError
from engine.rules.inputs import FamilyInput
from engine.rules.ir import Framework
from engine.storage.tables_decisions import decision_runs

#: ``load_families(engine, as_of, known_at)`` as provided by :mod:`engine.integrate.snapshot`
FamilyLoader = Callable[[sa.Engine, date, datetime | None], Sequence[FamilyInput]]


def default_loader() -> FamilyLoader:
    from engine.integrate.snapshot import load_families

    return load_families


@dataclass
class Summary:
    """Counts over a run's results, for the CLI's summary table."""

    families: int = 0
    eligible: Counter = field(default_factory=Counter)
    needs_by_headline: Counter = field(default_factory=Counter)
    needs_unknown_by_headline: Counter = field(default_factory=Counter)
    unknown_criteria: int = 0
    families_with_unknowns: int = 0

    def add(self, item: Evaluated) -> None:
        """Count one family's result."""
        self.families += 1
        self.eligible[item.eligible] += 1
        for headline, value in item.headlines:
            if value == "met":
                self.needs_by_headline[headline] += 1
            elif value == "unknown":
                self.needs_unknown_by_headline[headline] += 1
        self.unknown_criteria += item.unknowns
        self.families_with_unknowns += item.unknowns > 0


@dataclass
class ProfileRun:
    run_id: str
    framework_hash: str
    as_of: date
    known_at: datetime
    decision_ids: list[str]
    evaluated: list[Evaluated]
    summary: Summary
    seconds_loading: float
    seconds_evaluating: float
    seconds_writing: float


def new_run_id(started: datetime) -> str:
    return f"R{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def profile(
    engine: sa.Engine,
    framework: Framework,
    as_of: date,
    known_at: datetime | None = None,
    *,
    workers: int = 1,
    families: Sequence[FamilyInput] | None = None,
    loader: FamilyLoader | None = None,
    compiled: Any = None,
    trace: bool = False,
) -> ProfileRun:
    """Evaluate ``framework`` for every family known at ``known_at`` (default now) and record the run.

    ``families`` may be given directly (e.g. from a generator); otherwise ``loader`` (default
    :func:`engine.integrate.snapshot.load_families`) reads them from the database. ``trace`` stores
    each rule's tree of sub-criteria too (about three times the size and twice the time; without it
    ``hearth explain`` re-derives the tree and checks it against the record).
    """
    started = utc_now()
    known_at = utc_naive(known_at) if known_at else started
    clock = time.perf_counter()
    if families is None:
        families = (loader or default_loader())(engine, as_of, known_at)
    loaded = time.perf_counter()
    compiled = compiled if compiled is not None else compile_for(framework)
    with engine.connect() as conn:
        in_force = overrides_in_force(conn, known_at)
    evaluated = evaluate_families(compiled, families, as_of, in_force, workers=workers, trace=trace)
    summary = Summary()
    for item in evaluated:
        summary.add(item)
    done = time.perf_counter()
    run_id = new_run_id(started)
    try:
        digest, ids = _write_run(engine, framework, run_id, as_of, known_at, started, summary, evaluated, trace)
    except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
        # A unique seq/prev_hash clash (PostgreSQL) or a lock conflict (SQLite) means another run got
        # there first; any other database failure is not ours to reword.
        if isinstance(exc, sa.exc.OperationalError) and "locked" not in str(exc.orig):
            raise
        raise ConcurrentWriteError(
            f"run {run_id} could not be recorded: another process appended decisions at the same time "
            f"({type(exc.orig).__name__}). Nothing of this run was written; run the profile again."
        ) from exc
    written = time.perf_counter()
    return ProfileRun(run_id, digest, as_of, known_at, ids, evaluated, summary,
                      loaded - clock, done - loaded, written - done)


class ConcurrentWriteError(HearthError, RuntimeError):
    """Two runs tried to extend the decision chain at once; the later one is rolled back."""


def _write_run(engine: sa.Engine, framework: Framework, run_id: str, as_of: date, known_at: datetime,
               started: datetime, summary: Summary, evaluated: list[Evaluated], trace: bool,
               ) -> tuple[str, list[str]]:
    """The framework, the run row and every decision, in one transaction."""
    with engine.begin() as conn:
        digest = store_framework(conn, framework)
        conn.execute(decision_runs.insert().values(
            run_id=run_id, framework_hash=digest, engine_version=engine_pkg.__version__, as_of=as_of,
            known_at=known_at, started_at=started, finished_at=utc_now(), families=summary.families,
            eligible_met=summary.eligible["met"], eligible_not_met=summary.eligible["not_met"],
            eligible_unknown=summary.eligible["unknown"],
        ))
        ids = append_decisions(
            conn, run_id=run_id, framework_hash=digest, engine_version=engine_pkg.__version__, as_of=as_of,
            known_at=known_at, traced=trace,
            items=[NewDecision(e.family_id, e.person_ids, e.result_zlib, e.result_sha256, e.override_ids) for e in evaluated],
        )
    return digest, ids
