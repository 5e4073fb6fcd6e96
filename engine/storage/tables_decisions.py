"""Tables of the rules engine: stored frameworks, decision runs, hash-chained decisions, overrides.

Decisions are append-only. Each row carries ``prev_hash`` (the record hash of the decision before it,
in ``seq`` order) and ``record_hash = sha256(prev_hash + canonical JSON of the record)``; the record
names its result by ``result_sha256``, the digest of the result JSON (stored compressed: evidence for a
borough runs to gigabytes of JSON, a sixth of that compressed), so editing or
deleting any stored decision breaks the chain at that row (``hearth audit verify``). ``prev_hash`` is
unique: two writers appending after the same decision cannot fork the chain; the second one fails.

Timestamps are stored as naive UTC datetimes so SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.storage.db import metadata

#: ``prev_hash`` of the first decision ever written
GENESIS_HASH = "0" * 64

frameworks_store = sa.Table(
    "frameworks_store",
    metadata,
    sa.Column("framework_hash", sa.String(64), primary_key=True, comment="sha256 of the canonical IR JSON"),
    sa.Column("framework_id", sa.String(200), nullable=False),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("phase", sa.String(50), nullable=False),
    sa.Column("ir_json", sa.Text, nullable=False, comment="Framework.canonical_json(), source texts included"),
    sa.Column("stored_at", sa.DateTime, nullable=False),
)

decision_runs = sa.Table(
    "decision_runs",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column(
        "framework_hash", sa.String(64), sa.ForeignKey("frameworks_store.framework_hash"), nullable=False
    ),
    sa.Column("engine_version", sa.String(40), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("known_at", sa.DateTime, nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("families", sa.Integer, nullable=False),
    sa.Column("eligible_met", sa.Integer, nullable=False),
    sa.Column("eligible_not_met", sa.Integer, nullable=False),
    sa.Column("eligible_unknown", sa.Integer, nullable=False),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("decision_id", sa.String(40), nullable=False, unique=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("decision_runs.run_id"), nullable=False, index=True),
    sa.Column("family_id", sa.String(200), nullable=False, index=True),
    sa.Column("person_ids", sa.Text, nullable=False, comment="JSON list, sorted"),
    sa.Column("framework_hash", sa.String(64), nullable=False),
    sa.Column("engine_version", sa.String(40), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("known_at", sa.DateTime, nullable=False),
    sa.Column("override_ids", sa.Text, nullable=False, comment="JSON list of overrides applied"),
    sa.Column("traced", sa.Boolean, nullable=False, comment="result includes the sub-criteria tree"),
    sa.Column("result_zlib", sa.LargeBinary, nullable=False,
              comment="the result as canonical JSON, UTF-8, compressed (zstd; zlib in older rows): a "
                      "format 4 compact record "
                      "citing its stored framework (engine.decisions.compact; older rows: format 2, "
                      "self-contained, or format 1, FamilyResult.to_dict()); or a pointer to the stored "
                      "batch it is derived from (format 5, decision_batches)"),
    sa.Column("result_sha256", sa.String(64), nullable=False,
              comment="sha256 of the uncompressed JSON bytes (format 5: of '<batch key>:<family id>')"),
    sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("record_hash", sa.String(64), nullable=False),
)

decision_batches = sa.Table(
    "decision_batches",
    metadata,
    sa.Column("batch_key", sa.String(64), primary_key=True, comment="sha256 of the stored bytes"),
    sa.Column("framework_hash", sa.String(64), nullable=False),
    sa.Column("stored", sa.LargeBinary, nullable=False,
              comment="a batch's columns (engine.columns.stored, format 5): the records of the decisions "
                      "whose result_zlib points here are derived from them"),
)

overrides = sa.Table(
    "overrides",
    metadata,
    sa.Column("override_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("family_id", sa.String(200), nullable=False, index=True),
    sa.Column("person_id", sa.String(200), nullable=True),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("value", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
    # the role the actor acted in, which the framework's lifecycle authorises (`overrides by ROLE`); and who
    # revoked the override, in which role and why. NULL in rows made before Hearth recorded them.
    sa.Column("role", sa.String(100), nullable=True),
    sa.Column("revoked_by", sa.String(200), nullable=True),
    sa.Column("revoked_role", sa.String(100), nullable=True),
    sa.Column("revoke_reason", sa.Text, nullable=True),
    sa.CheckConstraint("value in ('met', 'not_met', 'unknown')", name="value_is_tri"),
)
