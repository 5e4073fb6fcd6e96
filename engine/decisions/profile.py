"""Profile every family as of a date and record one hash-chained decision per family in a run.

The whole run (framework stored, run row, every decision) is written in one transaction: a run is
either recorded completely or not at all.

Families are evaluated in batches (consecutive family ids) and each batch's decisions are written as it
comes, so the main process never holds every family's input: read from the database, each batch is
loaded by the worker that evaluates it. The decisions (ids, order, bytes) are the same whatever the
batch size and the number of workers. The price of writing as batches come: the run's transaction is
open from its first batch to its last, so on SQLite other writers wait for the whole run, not only its
last seconds (readers are not held up: the database is in WAL mode).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

import engine as engine_pkg
from engine.decisions.batches import store_batches
from engine.decisions.evaluate import Evaluated, as_given, compile_for, evaluate_batches, family_batches
from engine.decisions.overrides import overrides_in_force
from engine.decisions.records import NewDecision, append_decisions, utc_naive, utc_now
from engine.decisions.store import store_framework
from engine.errors import HearthError
from engine.integrate.snapshot import BatchLoader, FamilyBatch, batch_size_for, plan_snapshot
from engine.rules.inputs import FamilyInput
from engine.rules.ir import Framework
from engine.storage.tables_decisions import decision_runs

#: ``load_families(engine, as_of, known_at)`` as provided by :mod:`engine.integrate.snapshot`
FamilyLoader = Callable[[sa.Engine, date, datetime | None], Sequence[FamilyInput]]


def default_loader() -> FamilyLoader:
    """How replay and explain read a family: exactly as a profile run's snapshot held it."""
    from engine.integrate.snapshot import load_snapshot_families

    return load_snapshot_families


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


#: families per batch: a batch's inputs (tens of MB) are what a worker holds at once
DEFAULT_BATCH_SIZE = 2000


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
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ProfileRun:
    """Evaluate ``framework`` for every family known at ``known_at`` (default now) and record the run.

    Without ``families`` or ``loader`` the families are read from the database a batch of
    ``batch_size`` at a time (:func:`engine.integrate.snapshot.plan_snapshot`), each by the worker
    process that evaluates it. ``families`` may be given directly (e.g. from a generator), or ``loader``
    reads them all at once. ``trace`` stores each rule's tree of sub-criteria too (about three times
    the size and twice the time; without it ``hearth explain`` re-derives the tree and checks it
    against the record).

    ``seconds_loading`` is the time to read the snapshot's plan (or all the families, from ``loader``),
    ``seconds_writing`` the main process's time writing decisions, and ``seconds_evaluating`` the rest:
    waiting for batches to be loaded and evaluated.
    """
    started = utc_now()
    known_at = utc_naive(known_at) if known_at else started
    clock = time.perf_counter()
    compiled = compiled if compiled is not None else compile_for(framework)
    with engine.connect() as conn:
        in_force = overrides_in_force(conn, known_at)
    if families is None and loader is None:
        snapshot, load, workers = snapshot_batches(engine, as_of, known_at, workers, batch_size)
        parts = evaluate_batches(compiled, snapshot, load, as_of, in_force, workers=workers, trace=trace,
                                 stored=not trace)
    else:
        if families is None:
            families = loader(engine, as_of, known_at)
        batches = family_batches(families, batch_size_for(len(families), batch_size, _min_batches(workers)), workers)
        parts = evaluate_batches(compiled, batches, as_given, as_of, in_force, workers=workers, trace=trace,
                                 stored=not trace)
    loaded = time.perf_counter()
    run_id = new_run_id(started)
    try:
        with closing(parts):
            written = _write_run(engine, framework, run_id, as_of, known_at, started, parts, trace)
    except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
        # A unique seq/prev_hash clash (PostgreSQL) or a lock conflict (SQLite) means another run got
        # there first; any other database failure is not ours to reword.
        if isinstance(exc, sa.exc.OperationalError) and "locked" not in str(exc.orig):
            raise
        raise ConcurrentWriteError(
            f"run {run_id} could not be recorded: another process appended decisions at the same time "
            f"({type(exc.orig).__name__}). Nothing of this run was written; run the profile again."
        ) from exc
    finished = time.perf_counter()
    return ProfileRun(run_id, written.framework_hash, as_of, known_at, written.decision_ids, written.evaluated,
                      written.summary, loaded - clock, finished - loaded - written.seconds, written.seconds)


def snapshot_batches(engine: sa.Engine, as_of: date, known_at: datetime | None, workers: int,
                     batch_size: int = DEFAULT_BATCH_SIZE) -> tuple[Sequence[FamilyBatch], BatchLoader, int]:
    """The database's families as of ``as_of`` in batches to load one at a time, the loader, and how many
    worker processes may load them (one when the database cannot be reached from a forked process).
    With several workers the engine's pool is emptied: no open connection may cross the fork."""
    plan = plan_snapshot(engine, as_of, known_at, batch_size=batch_size, min_batches=_min_batches(workers),
                         workers=workers)
    if workers > 1 and not _workers_can_connect(engine):
        workers = 1
    if workers > 1:
        engine.dispose()
    return plan.batches, BatchLoader(engine, plan), workers


def _min_batches(workers: int) -> int:
    return workers * 4 if workers > 1 else 1  # enough batches to keep every worker busy to the end


def _workers_can_connect(engine: sa.Engine) -> bool:
    """Forked workers open connections of their own: a private in-memory SQLite database has none to give."""
    return not (engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"))


class ConcurrentWriteError(HearthError, RuntimeError):
    """Two runs tried to extend the decision chain at once; the later one is rolled back."""


@dataclass
class _Written:
    framework_hash: str
    decision_ids: list[str]
    evaluated: list[Evaluated]
    summary: Summary
    seconds: float  # the main process's own time writing (the rest of the run it waits for batches)


def _write_run(engine: sa.Engine, framework: Framework, run_id: str, as_of: date, known_at: datetime,
               started: datetime, parts: Iterator[list[Evaluated]], trace: bool) -> _Written:
    """The framework, the run row and every decision, in one transaction, each batch's decisions
    appended as it arrives (the run row's counts are filled in at the end)."""
    first = next(parts, [])  # the workers start before this process opens a connection to write
    written = _Written("", [], [], Summary(), 0.0)
    with engine.begin() as conn:
        clock = time.perf_counter()
        written.framework_hash = digest = store_framework(conn, framework)
        conn.execute(decision_runs.insert().values(
            run_id=run_id, framework_hash=digest, engine_version=engine_pkg.__version__, as_of=as_of,
            known_at=known_at, started_at=started, finished_at=started, families=0,
            eligible_met=0, eligible_not_met=0, eligible_unknown=0,
        ))
        written.seconds += time.perf_counter() - clock
        for part in itertools.chain([first], parts):  # waiting on ``parts`` is the workers' time
            clock = time.perf_counter()
            for item in part:
                written.summary.add(item)
            store_batches(conn, digest, {item.batch[0]: item.batch[1] for item in part if item.batch is not None})
            written.decision_ids += append_decisions(
                conn, run_id=run_id, framework_hash=digest, engine_version=engine_pkg.__version__, as_of=as_of,
                known_at=known_at, traced=trace,
                items=[NewDecision(e.family_id, e.person_ids, e.result_zlib, e.result_sha256, e.override_ids)
                       for e in part],
            )
            written.evaluated += part
            written.seconds += time.perf_counter() - clock
        clock = time.perf_counter()
        summary = written.summary
        conn.execute(decision_runs.update().where(decision_runs.c.run_id == run_id).values(
            finished_at=utc_now(), families=summary.families, eligible_met=summary.eligible["met"],
            eligible_not_met=summary.eligible["not_met"], eligible_unknown=summary.eligible["unknown"],
        ))
    written.seconds += time.perf_counter() - clock  # the commit included
    return written
