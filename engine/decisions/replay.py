"""Replay a recorded decision: same stored framework, same knowledge state, same overrides.

Replay never reads the working tree: the framework comes from ``frameworks_store`` by the hash the
decision recorded, and the family from the loader at the decision's ``known_at``, so later loads and
edited framework files make no difference. Any difference from the stored result is listed by path
(in the full ``to_dict()`` form, whichever record format the decision was stored in). A whole run is
replayed the same way, decision by decision (:func:`replay_run`).
"""

from __future__ import annotations

import inspect
import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from engine.decisions.evaluate import compile_for, evaluate_one
from engine.decisions.overrides import overrides_in_force
from engine.decisions.profile import FamilyLoader, default_loader
from engine.decisions.compact import encode, loads
from engine.decisions.framework_text import framework_text
from engine.decisions.records import canonical_json, decision_row, row_intact, stored_bytes
from engine.decisions.rehydrate import full_form
from engine.decisions.store import load_stored_framework
from engine.errors import NotFoundError
from engine.rules.inputs import FamilyInput
from engine.rules.ir import Framework
from engine.storage.tables_decisions import decision_runs, decisions


@dataclass(frozen=True)
class Difference:
    path: str
    recorded: Any
    replayed: Any


@dataclass
class ReplayReport:
    decision_id: str
    family_id: str
    framework_hash: str
    differences: list[Difference] = field(default_factory=list)
    record_intact: bool = True
    seconds: float = 0.0

    @property
    def identical(self) -> bool:
        return not self.differences


_MISSING = "<absent>"


def json_differences(recorded: Any, replayed: Any, path: str = "$") -> list[Difference]:
    """Every leaf where two JSON values differ, as ``$.needs.EDU.result.value``-style paths."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        found: list[Difference] = []
        for key in sorted(set(recorded) | set(replayed)):
            found.extend(json_differences(recorded.get(key, _MISSING), replayed.get(key, _MISSING),
                                          f"{path}.{key}"))
        return found
    if isinstance(recorded, list) and isinstance(replayed, list):
        found = []
        for index in range(max(len(recorded), len(replayed))):
            found.extend(json_differences(recorded[index] if index < len(recorded) else _MISSING,
                                          replayed[index] if index < len(replayed) else _MISSING,
                                          f"{path}[{index}]"))
        return found
    return [] if recorded == replayed and type(recorded) is type(replayed) else [
        Difference(path, recorded, replayed)]


def record_differences(row: sa.Row, result: Any, framework: Framework, conn: sa.Connection) -> list[Difference]:
    """Every difference between a decision's stored result and ``result`` (a re-evaluation under the
    decision's stored ``framework``), in the full ``to_dict()`` form. A compact record the re-evaluation
    encodes to byte for byte is identical without expanding it; otherwise, and for format 1 and 2
    records, the full forms are compared path by path. ``conn``: what the row was read on."""
    stored = stored_bytes(row, conn)
    if encode(result, framework_text(framework)) == stored:
        return []
    return json_differences(full_form(loads(stored), framework), json.loads(canonical_json(result.to_dict())))


def load_one_family(loader: FamilyLoader, engine: sa.Engine, row: sa.Row) -> FamilyInput | None:
    """The decision's family as known at its ``known_at``."""
    return load_family(loader, engine, row.as_of, row.known_at, row.family_id)


def load_family(loader: FamilyLoader, engine: sa.Engine, as_of: date, known_at: datetime | None,
                family_id: str) -> FamilyInput | None:
    """One family from ``loader``; asks for just that family when the loader accepts a ``family_ids``
    filter (loading a whole borough to replay or explain one decision is slow)."""
    if "family_ids" in inspect.signature(loader).parameters:
        families = loader(engine, as_of, known_at, family_ids=[family_id])
    else:
        families = loader(engine, as_of, known_at)
    return next((f for f in families if f.family_id == family_id), None)


def reevaluate(engine: sa.Engine, row: sa.Row, loader: FamilyLoader | None = None,
               traces: tuple[bool, ...] = (False,), framework: Framework | None = None) -> list[Any]:
    """Evaluate a recorded decision again (once per entry of ``traces``): its stored framework (loaded
    unless given), the family as known at its ``known_at``, and the overrides in force then."""
    with engine.connect() as conn:
        if framework is None:
            framework = load_stored_framework(conn, row.framework_hash)
        in_force = overrides_in_force(conn, row.known_at, [row.family_id]).get(row.family_id, ())
    family = load_one_family(loader or default_loader(), engine, row)
    if family is None:
        # The family no longer exists in the knowledge state recorded: every part of the result differs.
        family = FamilyInput(family_id=row.family_id, members=(), facts=())
    compiled = compile_for(framework)
    return [evaluate_one(compiled, family, row.as_of, in_force, trace=trace) for trace in traces]


def find_decision(engine: sa.Engine, decision_id: str) -> sa.Row:
    with engine.connect() as conn:
        row = decision_row(conn, decision_id)
        if row is None:
            raise NotFoundError(unknown_decision_message(conn, decision_id))
    return row


def replay_decision(engine: sa.Engine, decision_id: str, loader: FamilyLoader | None = None) -> ReplayReport:
    """Re-evaluate ``decision_id`` from its stored framework and knowledge state; report differences."""
    clock = time.perf_counter()
    row = find_decision(engine, decision_id)
    with engine.connect() as conn:
        framework = load_stored_framework(conn, row.framework_hash)
    (result,) = reevaluate(engine, row, loader, (bool(row.traced),), framework)
    with engine.connect() as conn:
        report = ReplayReport(
            decision_id=row.decision_id, family_id=row.family_id, framework_hash=row.framework_hash,
            differences=record_differences(row, result, framework, conn),
            record_intact=row_intact(row, conn),
        )
    report.seconds = time.perf_counter() - clock
    return report


@dataclass
class RunReplay:
    """Every decision of one profile run replayed: how many, and the reports of those not identical (or
    no longer intact)."""

    run_id: str
    framework_hash: str
    as_of: date
    known_at: datetime
    decisions: int = 0
    differing: list[ReplayReport] = field(default_factory=list)
    #: what is wrong with the stored batches the run's decisions point to (None: each is stored and intact)
    batches_problem: str | None = None
    seconds: float = 0.0

    @property
    def identical(self) -> bool:
        return not self.differing and self.batches_problem is None


@dataclass
class _Replayed:
    """One batch of a run's replay (what a worker sends back)."""

    family_ids: list[str]
    differing: list[ReplayReport]
    #: the stored batches the decisions point to
    pointed: set[str]


def replay_run(engine: sa.Engine, run_id: str, loader: FamilyLoader | None = None, workers: int = 1,
               progress: Callable[[int, int], None] | None = None) -> RunReplay:
    """Re-evaluate every decision of profile run ``run_id`` as :func:`replay_decision` does one (the family
    as known at the run's ``known_at``, the overrides in force then, the stored framework, and the
    per-family evaluator, whichever way the run computed it), reading the run's knowledge state a batch
    of families at a time as the run did, in ``workers`` processes; or all at once from ``loader``.
    ``progress(replayed, decisions)`` is called as each batch is done."""
    from engine.decisions.batches import verify_batches
    from engine.decisions.evaluate import map_batches
    from engine.decisions.profile import snapshot_batches

    clock = time.perf_counter()
    with engine.connect() as conn:
        run = conn.execute(sa.select(decision_runs).where(decision_runs.c.run_id == run_id)).first()
        if run is None:
            raise NotFoundError(unknown_run_message(conn, run_id))
        framework = load_stored_framework(conn, run.framework_hash)
        in_force = overrides_in_force(conn, run.known_at)
        left = set(conn.execute(sa.select(decisions.c.family_id).where(decisions.c.run_id == run_id)).scalars())
    report = RunReplay(run_id, run.framework_hash, run.as_of, run.known_at)
    total = len(left)
    if progress is not None:
        progress(0, total)
    replaying = _RunReplaying(engine, run, framework, in_force)
    if loader is not None:
        parts = map_batches(replaying.batch, [list(loader(engine, run.as_of, run.known_at))])
    else:
        batches, load, workers = snapshot_batches(engine, run.as_of, run.known_at, workers)
        parts = map_batches(lambda batch: replaying.batch(load(batch)), batches, workers)
    pointed: set[str] = set()
    with closing(parts):
        for part in itertools.chain(parts, [None]):
            if part is None:  # decisions whose family the knowledge state lacks: replayed as replay_decision does
                part = replaying.batch([FamilyInput(family_id=family_id, members=(), facts=()) for family_id in left])
            left.difference_update(part.family_ids)
            report.decisions += len(part.family_ids)
            report.differing += part.differing
            pointed |= part.pointed
            if progress is not None:
                progress(report.decisions, total)
    with engine.connect() as conn:
        report.batches_problem = verify_batches(conn, pointed)
    report.differing.sort(key=lambda found: found.decision_id)
    report.seconds = time.perf_counter() - clock
    return report


class _RunReplaying:
    """Replays a run's decisions a batch of families at a time (in a worker process, on a connection of its
    own)."""

    def __init__(self, engine: sa.Engine, run: sa.Row, framework: Framework, in_force: dict[str, Any]) -> None:
        self.engine, self.run_id, self.as_of = engine, run.run_id, run.as_of
        self.framework, self.in_force = framework, in_force
        self.compiled = compile_for(framework)

    def batch(self, families: list[FamilyInput]) -> _Replayed:
        """Replay the run's decisions of ``families`` (families it did not decide are passed over)."""
        from engine.decisions.batches import is_pointer, key_of

        by_id = {family.family_id: family for family in families}
        done = _Replayed([], [], set())
        with self.engine.connect() as conn:
            for row in _run_rows(conn, self.run_id, sorted(by_id)):
                result = evaluate_one(self.compiled, by_id[row.family_id], self.as_of,
                                      self.in_force.get(row.family_id, ()), trace=bool(row.traced))
                found = ReplayReport(row.decision_id, row.family_id, row.framework_hash,
                                     record_differences(row, result, self.framework, conn), row_intact(row))
                if is_pointer(row.result_zlib):
                    done.pointed.add(key_of(row.result_zlib))
                done.family_ids.append(row.family_id)
                if not (found.identical and found.record_intact):
                    done.differing.append(found)
        return done


def _run_rows(conn: sa.Connection, run_id: str, family_ids: list[str], chunk: int = 500) -> Iterator[sa.Row]:
    """The run's decision rows of ``family_ids``, a chunk fetched at a time (the connection reads stored
    batches meanwhile)."""
    for start in range(0, len(family_ids), chunk):
        yield from conn.execute(sa.select(decisions).where(
            decisions.c.run_id == run_id, decisions.c.family_id.in_(family_ids[start:start + chunk]),
        ).order_by(decisions.c.seq)).all()


def unknown_run_message(conn: sa.Connection, run_id: str) -> str:
    latest = conn.execute(sa.select(decision_runs.c.run_id, decision_runs.c.as_of)
                          .order_by(decision_runs.c.started_at.desc()).limit(3)).all()
    if not latest:
        return f"no profile run {run_id!r}: no runs are recorded yet; run `hearth profile` first"
    listed = ", ".join(f"{r.run_id} (as of {r.as_of})" for r in latest)
    return f"no profile run {run_id!r}; the latest runs are {listed} (`hearth profile` prints each run's id)"


def unknown_decision_message(conn: sa.Connection, decision_id: str) -> str:
    first, last = conn.execute(sa.select(sa.func.min(decisions.c.decision_id),
                                         sa.func.max(decisions.c.decision_id))).one()
    if first is None:
        return (f"no decision {decision_id!r}: no decisions are recorded yet; run `hearth profile "
                "--framework PATH --as-of DATE` first")
    return (f"no decision {decision_id!r}; recorded decisions run from {first} to {last} "
            "(find a family's latest with `hearth explain FAMILY_ID --json`)")
