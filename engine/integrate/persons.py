"""Which person each source record belongs to: the matcher's answer, or one person per record.

The matcher (``engine.matching.store.current_assignments``) is picked up automatically once it exists.
Until then, and for records loaded after the last match run, each record stands for its own person
(person id = record key); :class:`PersonAssignments` says which happened so outputs can tell the user.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType

import sqlalchemy as sa

MATCHER = "matcher"
ONE_PER_RECORD = "one person per record"


@dataclass(frozen=True)
class PersonAssignments:
    person_of: dict[str, str]  # record_key -> person_id
    source: str  # MATCHER or ONE_PER_RECORD
    unmatched: int  # records the matcher has not assigned yet (each its own person)

    def describe(self) -> str:
        if self.source == ONE_PER_RECORD:
            return ("persons: one person per record (matching has not run or is not installed; "
                    "run `hearth families build` again after matching)")
        note = f"; {self.unmatched} record(s) not yet matched, each its own person" if self.unmatched else ""
        return f"persons: from the matcher{note}"


def _matching_module(name: str) -> ModuleType | None:
    """``engine.matching.<name>`` if matching is installed; a broken matching module still raises."""
    try:
        return importlib.import_module(f"engine.matching.{name}")
    except ModuleNotFoundError as exc:
        if exc.name in {f"engine.matching.{name}", "engine.matching"}:
            return None
        raise


def run_matcher(engine: sa.Engine) -> str | None:
    """Run the matcher over all source records when it is installed; returns a one-line summary.

    Returns None when matching is not available. Errors from matching (for example too few records)
    propagate as the HearthError subclasses matching raises.
    """
    pipeline = _matching_module("pipeline")
    if pipeline is None or not hasattr(pipeline, "run_matching"):
        return None
    summary = pipeline.run_matching(engine)
    return (f"matching run {summary.run_id}: {summary.records} records -> {summary.persons} persons "
            f"({summary.merges} merges, {summary.splits} splits, {summary.review_pairs} pairs for review)")


def _matcher_assignments(conn: sa.Connection, known_at: datetime | None) -> dict[str, str] | None:
    store = _matching_module("store")
    if store is None:
        return None
    current = getattr(store, "current_assignments", None)
    if current is None:
        return None
    return dict(current(conn, known_at=known_at))


def assign_persons(
    conn: sa.Connection, record_keys: Iterable[str], known_at: datetime | None = None
) -> PersonAssignments:
    """Person ids for ``record_keys``: matched where the matcher has run, else the record's own key."""
    matched = _matcher_assignments(conn, known_at)
    person_of: dict[str, str] = {}
    unmatched = 0
    for key in record_keys:
        person = matched.get(key) if matched else None
        if person is None:
            unmatched += 1
            person = key
        person_of[key] = person
    if not matched:
        return PersonAssignments(person_of, ONE_PER_RECORD, unmatched)
    return PersonAssignments(person_of, MATCHER, unmatched)
