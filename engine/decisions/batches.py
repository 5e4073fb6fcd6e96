"""Decisions stored as their batch's columns (format 5): written once per batch, each record derived when read.

A profile run's batch whose families the columns decide entirely stores the batch's columns once
(:mod:`engine.columns.stored`, table ``decision_batches``, keyed by the sha256 of the stored bytes). Each
such family's decision row holds a pointer to them in ``result_zlib`` and, as ``result_sha256``, the
sha256 of ``"<batch key>:<family id>"``; the chain covers that digest like any other, and ``hearth audit
verify`` checks that every batch a decision points to is stored and still hashes to its key. Reading the
decision derives its format 4 record from the batch (:func:`record_bytes`), byte for byte the record the
run would have written itself.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa

from engine.errors import IntegrityError
from engine.storage.tables_decisions import decision_batches

#: how a decision's ``result_zlib`` starts when it points to a stored batch (a zstd frame or a zlib
#: stream never starts so)
POINTER = b"HEARTH-BATCH:"


def is_pointer(stored: bytes) -> bool:
    return bytes(stored[:len(POINTER)]) == POINTER


def pointer(key: str) -> bytes:
    return POINTER + key.encode()


def key_of(stored: bytes) -> str:
    return bytes(stored[len(POINTER):]).decode()


def batch_key(stored: bytes) -> str:
    return hashlib.sha256(stored).hexdigest()


def family_digest(key: str, family_id: str) -> str:
    """A pointing decision's ``result_sha256``."""
    return hashlib.sha256(f"{key}:{family_id}".encode()).hexdigest()


def store_batches(conn: sa.Connection, framework_hash: str, batches: dict[str, bytes]) -> None:
    """Insert stored batches not yet in the table (a batch's key is its content's digest)."""
    if not batches:
        return
    have = set(conn.execute(sa.select(decision_batches.c.batch_key)
                            .where(decision_batches.c.batch_key.in_(list(batches)))).scalars())
    rows = [{"batch_key": key, "framework_hash": framework_hash, "stored": stored}
            for key, stored in batches.items() if key not in have]
    if rows:
        conn.execute(decision_batches.insert(), rows)


#: batches read back, by key (a report reads a run's decisions in order, a batch's families together)
_READ: OrderedDict[str, Any] = OrderedDict()
_READ_KEEP = 2
#: batches one family was read from, with its record (another family read from one reads the whole batch)
_ASKED: OrderedDict[str, tuple[str, bytes]] = OrderedDict()


def record_bytes(conn: sa.Connection, row: Any) -> bytes:
    """The canonical JSON of the format 4 record a pointing decision row stands for."""
    from engine.columns.stored import StoredBatch
    from engine.decisions.compact import canonical_bytes, compact

    key = key_of(row.result_zlib)
    found = _READ.get(key)
    one = _ASKED.get(key)
    if found is None and one is not None and one[0] == row.family_id:
        return one[1]
    if found is None and key not in _ASKED:  # the first family asked of a batch: read only its rows (explain, replay)
        stored, compiled, text = _batch_of(conn, row, key)
        batch = StoredBatch(stored, compiled, row.family_id)
        _ASKED[key] = (row.family_id, canonical_bytes(compact(batch.result(row.family_id), text)))
        while len(_ASKED) > 16:
            _ASKED.popitem(last=False)
        return _ASKED[key][1]
    batch, text = _whole(conn, row, key)  # (a report reads them all)
    return canonical_bytes(compact(batch.result(row.family_id), text))


#: each batch's report figures by family (StoredBatch.figures), by key
_FIGURES: OrderedDict[str, dict[str, Any]] = OrderedDict()


def batch_figures(conn: sa.Connection, row: Any) -> tuple[str, tuple[str, ...], tuple[str, ...], bool, str | None] | None:
    """What a report counts of a pointing decision's family (``StoredBatch.figures``: eligibility, the needs
    and headlines it meets, whether it is scored and its first score's RAG rating), read from its batch's
    columns without deriving its record (a report reads every decision of a run); None where the columns
    leave its eligibility to the evaluator."""
    key = key_of(row.result_zlib)
    found = _FIGURES.get(key)
    if found is None:
        found = _FIGURES[key] = _whole(conn, row, key)[0].figures()
        while len(_FIGURES) > _READ_KEEP:
            _FIGURES.popitem(last=False)
    return found.get(row.family_id)


def _whole(conn: sa.Connection, row: Any, key: str) -> tuple[Any, Any]:
    """The whole stored batch ``row`` points to, read back, and its framework's table (kept for the next
    families read from it)."""
    from engine.columns.stored import StoredBatch

    found = _READ.get(key)
    if found is None:
        stored, compiled, text = _batch_of(conn, row, key)
        found = _READ[key] = (StoredBatch(stored, compiled), text)
        while len(_READ) > _READ_KEEP:
            _READ.popitem(last=False)
    return found


def _batch_of(conn: sa.Connection, row: Any, key: str) -> tuple[bytes, Any, Any]:
    """The stored bytes of batch ``key``, and the compiled framework and table of ``row``'s framework."""
    from engine.decisions.evaluate import compile_for
    from engine.decisions.framework_text import framework_text
    from engine.decisions.store import load_stored_framework

    stored = conn.execute(sa.select(decision_batches.c.stored).where(decision_batches.c.batch_key == key)).scalar()
    if stored is None:
        raise IntegrityError(f"decision {row.decision_id} points to stored batch {key[:12]}..., which is "
                             "missing (`hearth audit verify` checks every batch a decision points to)")
    framework = load_stored_framework(conn, row.framework_hash)
    return bytes(stored), compile_for(framework), framework_text(framework)


def verify_batches(conn: sa.Connection, keys: set[str]) -> str | None:
    """None when every batch in ``keys`` is stored and hashes to its key, else what is wrong."""
    seen: set[str] = set()
    for key in sorted(keys):  # (one at a time: a run's batches are megabytes each)
        stored = conn.execute(sa.select(decision_batches.c.stored).where(decision_batches.c.batch_key == key)).scalar()
        if stored is not None:
            if batch_key(bytes(stored)) != key:
                return f"stored batch {key[:12]}... does not hash to its key (it was altered after it was written)"
            seen.add(key)
    missing = sorted(keys - seen)
    if missing:
        return f"stored batch {missing[0][:12]}... that decisions point to is missing"
    return None
