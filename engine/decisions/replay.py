"""Replay a recorded decision: same stored framework, same knowledge state, same overrides.

Replay never reads the working tree: the framework comes from ``frameworks_store`` by the hash the
decision recorded, and the family from the loader at the decision's ``known_at``, so later loads and
edited framework files make no difference. Any difference from the stored result is listed by path
(in the full ``to_dict()`` form, whichever record format the decision was stored in).
"""

from __future__ import annotations

import inspect
import json
import time
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
from engine.storage.tables_decisions import decisions


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


def unknown_decision_message(conn: sa.Connection, decision_id: str) -> str:
    first, last = conn.execute(sa.select(sa.func.min(decisions.c.decision_id),
                                         sa.func.max(decisions.c.decision_id))).one()
    if first is None:
        return (f"no decision {decision_id!r}: no decisions are recorded yet; run `hearth profile "
                "--framework PATH --as-of DATE` first")
    return (f"no decision {decision_id!r}; recorded decisions run from {first} to {last} "
            "(find a family's latest with `hearth explain FAMILY_ID --json`)")
