"""Append-only decision records, hash-chained so that tampering is detectable.

The chain runs over every decision ever written, in ``seq`` order. A record's hash covers the previous
record's hash and the canonical JSON of everything stored about the decision (result and evidence
included), so changing, inserting or deleting a row breaks the link at (or just after) that row.
Deleting the newest rows of a run leaves the chain intact, so :func:`verify_chain` also checks that
every run still holds as many decisions as it recorded, and that every framework a decision names is
still stored unaltered (format 3 records take their citations and rule sources from it).
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Sequence

import sqlalchemy as sa
import zstandard

from engine.decisions.batches import batch_figures, family_digest, is_pointer, key_of, record_bytes, verify_batches
from engine.errors import IntegrityError
from engine.storage.tables_decisions import GENESIS_HASH, decision_runs, decisions


def canonical_json(value: Any) -> str:
    """The one JSON spelling Hearth hashes and compares: sorted keys, no spaces, ISO dates."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False,
                      default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"cannot put {type(value).__name__} {value!r} in a decision record")


def utc_naive(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime (how the decision tables store time)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


#: the columns a record hash covers, in addition to ``prev_hash`` (which is hashed as a prefix)
HASHED_COLUMNS = (
    "seq", "decision_id", "run_id", "family_id", "person_ids", "framework_hash", "engine_version",
    "as_of", "known_at", "override_ids", "traced", "result_sha256",
)


#: how a stored result starts when it is a zstd frame; rows written before zstd are zlib streams (which
#: start 0x78), read the same
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: each thread's zstd compressor and decompressor (they are not safe to share between threads)
_codecs = threading.local()


def _zstd() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    found = getattr(_codecs, "pair", None)
    if found is None:
        found = _codecs.pair = (zstandard.ZstdCompressor(level=1), zstandard.ZstdDecompressor())
    return found


def pack_result(text: str | bytes) -> tuple[bytes, str]:
    """The stored form of a result's canonical JSON: zstd bytes (level 1: about three times faster to write
    and to read than zlib's fastest level, and smaller) and the JSON's sha256."""
    data = text.encode() if isinstance(text, str) else text
    return _zstd()[0].compress(data), hashlib.sha256(data).hexdigest()


def decompress(stored: bytes) -> bytes:
    """The canonical JSON bytes of a stored result, zstd (what runs write) or zlib (rows written before)."""
    if bytes(stored[:4]) == _ZSTD_MAGIC:
        return _zstd()[1].decompress(stored)
    return zlib.decompress(stored)


def unpack_result(stored: bytes) -> str:
    return decompress(stored).decode()


def stored_result(row: sa.Row, frameworks: Any = None, conn: sa.Connection | None = None) -> dict[str, Any]:
    """The result a decision row recorded, in the full ``FamilyResult.to_dict()`` form whatever format
    it was stored in (compact records are expanded; see :mod:`engine.decisions.compact`). Format 3 records
    (what profile runs write) need ``frameworks``: the connection the row was read on (its stored
    framework is loaded once per connection), the framework itself, or a resolver
    (:func:`engine.decisions.framework_text.resolver`). A decision stored as its batch's columns (format
    5) needs the connection: ``frameworks`` when it is one, else ``conn``."""
    from engine.decisions.compact import loads
    from engine.decisions.rehydrate import full_form

    return full_form(loads(stored_bytes(row, conn if conn is not None else frameworks)), frameworks)


def stored_bytes(row: sa.Row, conn: Any = None) -> bytes:
    """The canonical JSON bytes of the record a decision row stored (for a format 5 row, the record
    derived from its stored batch, which needs the connection the row was read on)."""
    if is_pointer(row.result_zlib):
        if not isinstance(conn, sa.Connection):
            raise IntegrityError(f"decision {row.decision_id} is stored as its batch's columns: read it with the "
                                 "connection it was read on (stored_result(row, conn))")
        return record_bytes(conn, row)
    return decompress(row.result_zlib)


def parse_stored(stored: bytes) -> dict[str, Any]:
    """The JSON data of a stored result, as stored (format 1 full, or format 2 or 3 compact)."""
    from engine.decisions.compact import loads

    return loads(decompress(stored))


def record_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """sha256(prev_hash + canonical JSON of the hashed columns of ``row``)."""
    body = canonical_json({name: row[name] for name in HASHED_COLUMNS})
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


#: how canonical_json spells a string (json's own encoder for it, as ``json.dumps`` with
#: ``ensure_ascii=False`` calls it)
_spelled = json.encoder.encode_basestring  # type: ignore[attr-defined]


class _RunHasher:
    """:func:`record_hash` for a run's rows, which share all but six of the hashed columns: the canonical
    JSON of the shared ones is spelled once, and each row's own values are spelled into its gaps with the
    encoder canonical_json uses (the bytes are the same: ``tests/decisions/test_append_rows.py``)."""

    _OWN = ("seq", "decision_id", "family_id", "person_ids", "override_ids", "result_sha256")

    def __init__(self, shared: dict[str, Any]) -> None:
        pieces, text = [], "{"
        for name in sorted(HASHED_COLUMNS):
            text += canonical_json(name) + ":"
            if name in self._OWN:
                pieces.append(text)
                text = ""
            else:
                text += canonical_json(shared[name])
            text += ","
        self.pieces = pieces + [text[:-1] + "}"]
        self.order = tuple(name for name in sorted(HASHED_COLUMNS) if name in self._OWN)

    def __call__(self, prev_hash: str, own: dict[str, Any]) -> str:
        values = [str(own[name]) if name == "seq" else _spelled(own[name]) for name in self.order]
        body = "".join(piece + value for piece, value in zip(self.pieces, values)) + self.pieces[-1]
        return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def decision_id_for(seq: int) -> str:
    return f"D{seq:09d}"


@dataclass(frozen=True)
class NewDecision:
    """What a run knows about one family's decision before it is chained and stored."""

    family_id: str
    person_ids: tuple[str, ...]
    result_zlib: bytes
    result_sha256: str
    override_ids: tuple[int, ...] = ()


def chain_tail(conn: sa.Connection) -> tuple[int, str]:
    """The last ``seq`` written and its record hash (``0, GENESIS_HASH`` for an empty chain)."""
    row = conn.execute(
        sa.select(decisions.c.seq, decisions.c.record_hash).order_by(decisions.c.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), row.record_hash)


def append_decisions(
    conn: sa.Connection,
    *,
    run_id: str,
    framework_hash: str,
    engine_version: str,
    as_of: date,
    known_at: datetime,
    items: Sequence[NewDecision],
    traced: bool = False,
    batch_size: int = 5000,
) -> list[str]:
    """Chain and insert ``items`` (in the order given) inside the caller's transaction; their ids.

    A run appends hundreds of thousands of rows: the values every row shares are converted to what the
    driver stores once (by the columns' own types, so rows read back exactly as SQLAlchemy would have
    written them), and the rows go to the driver's ``executemany`` as plain tuples."""
    seq, prev = chain_tail(conn)
    known_at = utc_naive(known_at)
    # the hash reads dates as canonical_json spells them (ISO text), so they are spelled once here
    shared = {"run_id": run_id, "framework_hash": framework_hash, "engine_version": engine_version,
              "as_of": as_of.isoformat(), "known_at": known_at.isoformat(), "traced": traced}
    hashed = _RunHasher(shared)
    stored = _driver_values(conn, {**shared, "as_of": as_of, "known_at": known_at})
    binary = _driver_values(conn, {"result_zlib": b""}, converter_only=True)["result_zlib"]
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    insert = f"INSERT INTO {decisions.name} ({', '.join(_INSERTED)}) VALUES ({', '.join([mark] * len(_INSERTED))})"
    ids: list[str] = []
    rows: list[tuple] = []
    for item in items:
        seq += 1
        decision_id = decision_id_for(seq)
        person_ids = "[" + ",".join(map(_spelled, sorted(item.person_ids))) + "]"  # canonical_json's spelling
        override_ids = canonical_json(sorted(item.override_ids)) if item.override_ids else "[]"
        record = hashed(prev, {"seq": seq, "decision_id": decision_id, "family_id": item.family_id,
                               "person_ids": person_ids, "override_ids": override_ids,
                               "result_sha256": item.result_sha256})
        rows.append((seq, decision_id, stored["run_id"], item.family_id, person_ids, stored["framework_hash"],
                     stored["engine_version"], stored["as_of"], stored["known_at"], override_ids, stored["traced"],
                     binary(item.result_zlib) if binary else item.result_zlib, item.result_sha256, prev, record))
        prev = record
        ids.append(decision_id)
        if len(rows) >= batch_size:
            conn.exec_driver_sql(insert, rows)
            rows = []
    if rows:
        conn.exec_driver_sql(insert, rows)
    return ids


#: the columns :func:`append_decisions` inserts, in the order of its rows' tuples
_INSERTED = ("seq", "decision_id", "run_id", "family_id", "person_ids", "framework_hash", "engine_version", "as_of",
             "known_at", "override_ids", "traced", "result_zlib", "result_sha256", "prev_hash", "record_hash")


def _driver_values(conn: sa.Connection, values: dict[str, Any], converter_only: bool = False) -> dict[str, Any]:
    """``values`` of decision columns as the driver receives them from SQLAlchemy (each column type's
    bind processor), or with ``converter_only`` the processors themselves (None where there is none)."""
    converted = {}
    for name, value in values.items():
        process = decisions.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        converted[name] = process if converter_only else (process(value) if process else value)
    return converted


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking the chain: how far it holds, and the first broken link if any."""

    checked: int
    broken_decision_id: str | None = None
    broken_seq: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_decision_id is None and not self.problem


def _normalise_row(row: sa.Row) -> dict[str, Any]:
    data = dict(row._mapping)
    # Drivers return dates/datetimes; hash them exactly as they were written.
    data["known_at"] = utc_naive(data["known_at"])
    return data


def verify_chain(conn: sa.Connection, chunk: int = 2000) -> ChainReport:
    """Walk every decision in ``seq`` order and report the first link that does not hold."""
    prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    batches: set[str] = set()  # the stored batches decisions point to (format 5)
    while True:
        rows = conn.execute(
            sa.select(decisions).where(decisions.c.seq > last_seq).order_by(decisions.c.seq).limit(chunk)
        ).fetchall()
        if not rows:
            break
        for row in rows:
            data = _normalise_row(row)
            where = data["decision_id"]
            if data["seq"] != expected_seq:
                return ChainReport(checked, where, data["seq"],
                                   f"decision(s) missing before {where}: expected seq {expected_seq}, "
                                   f"found {data['seq']}")
            if data["prev_hash"] != prev:
                return ChainReport(checked, where, data["seq"],
                                   f"{where} points to previous hash {data['prev_hash'][:12]}..., but the "
                                   f"decision before it hashes to {prev[:12]}... (a row was changed or removed)")
            content = _content_digest(data["result_zlib"], data["family_id"], batches)
            if content != data["result_sha256"]:
                return ChainReport(checked, where, data["seq"],
                                   f"{where} stored result does not match its digest (the result was "
                                   "altered after it was written)")
            actual = record_hash(prev, data)
            if actual != data["record_hash"]:
                return ChainReport(checked, where, data["seq"],
                                   f"{where} content does not match its record hash "
                                   f"(stored {data['record_hash'][:12]}..., computed {actual[:12]}...): "
                                   "the row was altered after it was written")
            prev = data["record_hash"]
            expected_seq += 1
            checked += 1
        last_seq = rows[-1].seq
    wrong = verify_batches(conn, batches)
    if wrong is not None:
        return ChainReport(checked, None, None, wrong)
    counted = _verify_run_counts(conn, checked)
    return counted if not counted.intact else _verify_frameworks(conn, checked)


def row_intact(row: sa.Row, conn: sa.Connection | None = None) -> bool:
    """Whether one stored decision still matches its own digest and record hash (and, read on ``conn``,
    the stored batch it points to, if any, its key)."""
    data = _normalise_row(row)
    batches: set[str] = set()
    return (_content_digest(data["result_zlib"], data["family_id"], batches) == data["result_sha256"]
            and record_hash(data["prev_hash"], data) == data["record_hash"]
            and (conn is None or not batches or verify_batches(conn, batches) is None))


def _content_digest(stored: bytes, family_id: str, batches: set[str] | None = None) -> str | None:
    """The digest ``result_sha256`` must hold: of the record's JSON, or for a decision pointing to a
    stored batch, of the batch's key and the family (the batch's own digest is checked by key)."""
    if is_pointer(stored):
        key = key_of(stored)
        if batches is not None:
            batches.add(key)
        return family_digest(key, family_id)
    try:
        return hashlib.sha256(decompress(stored)).hexdigest()
    except (zlib.error, zstandard.ZstdError):
        return None


def _verify_run_counts(conn: sa.Connection, checked: int) -> ChainReport:
    counts = dict(
        conn.execute(sa.select(decisions.c.run_id, sa.func.count()).group_by(decisions.c.run_id)).all()
    )
    for run_id, families in conn.execute(
        sa.select(decision_runs.c.run_id, decision_runs.c.families).order_by(decision_runs.c.started_at)
    ):
        if counts.get(run_id, 0) != families:
            return ChainReport(checked, None, None,
                               f"run {run_id} recorded {families} decisions but {counts.get(run_id, 0)} "
                               "are stored (decisions were deleted from the end of the chain)")
    return ChainReport(checked)


def _verify_frameworks(conn: sa.Connection, checked: int) -> ChainReport:
    """Every framework the decisions name still loads and hashes to its key."""
    from engine.decisions.store import load_stored_framework
    from engine.errors import HearthError

    for framework_hash in conn.execute(sa.select(decisions.c.framework_hash).distinct()).scalars():
        try:
            load_stored_framework(conn, framework_hash)
        except HearthError as exc:
            return ChainReport(checked, None, None, f"framework {framework_hash[:12]}... of recorded decisions: {exc}")
    return ChainReport(checked)


def decision_row(conn: sa.Connection, decision_id: str) -> sa.Row | None:
    return conn.execute(sa.select(decisions).where(decisions.c.decision_id == decision_id)).first()


def latest_decision_row(conn: sa.Connection, family_id: str, as_of: date | None = None) -> sa.Row | None:
    query = sa.select(decisions).where(decisions.c.family_id == family_id)
    if as_of is not None:
        query = query.where(decisions.c.as_of == as_of)
    return conn.execute(query.order_by(decisions.c.seq.desc()).limit(1)).first()


def known_family_ids(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.select(decisions.c.family_id).distinct()).scalars())


@dataclass(frozen=True)
class DecisionSummary:
    """The figures reports count from a decision, read without expanding the record."""

    eligible: str
    needs_met: tuple[str, ...]
    headlines_met: tuple[str, ...]
    #: whether the framework scores families, and the first (primary) score's RAG rating (None: not rated)
    scored: bool
    rag: str | None


def decision_summary(stored: bytes | sa.Row, conn: sa.Connection | None = None) -> DecisionSummary:
    """:class:`DecisionSummary` of a stored result, in any format: every format writes the family-level
    results of needs, headlines and eligibility, and the scores, in place (only members' criteria and
    outcomes are abbreviated), so nothing needs the framework's tables or :func:`stored_result`'s
    expansion, which costs about a millisecond a decision. ``stored`` is a stored result, or a decision row
    (read with ``conn``, which a format 5 row needs)."""
    from engine.decisions.compact import loads

    if not isinstance(stored, (bytes, memoryview)) and is_pointer(stored.result_zlib) and isinstance(conn, sa.Connection):
        figures = batch_figures(conn, stored)  # (from the batch's columns: no record derived)
        if figures is not None:
            return DecisionSummary(*figures)
    data = parse_stored(stored) if isinstance(stored, (bytes, memoryview)) else loads(stored_bytes(stored, conn))
    first_score = next(iter(data.get("scores", {}).values()), None)
    return DecisionSummary(
        eligible=data["eligible"]["value"],
        needs_met=tuple(code for code, need in data["needs"].items() if need["result"]["value"] == "met"),
        headlines_met=tuple(code for code, tri in data["headlines"].items() if tri["value"] == "met"),
        scored=first_score is not None,
        rag=first_score.get("rag") if first_score else None,
    )
