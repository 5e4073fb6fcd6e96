"""Tables of the case lifecycle: cases, their append-only audit trail, claims and rejected actions.

The Temporal history is the replayable trail of a case; these tables are the queryable, long-lived copy
an auditor and the claim export read (histories are deleted after the namespace's retention).

- ``cases``: one row per case workflow (id ``case-<family>-<framework>-<phase>``), its current state.
- ``case_audit``: every transition, flag and recorded action, append-only (triggers refuse UPDATE and
  DELETE on SQLite and PostgreSQL). ``(case_id, seq)`` is unique: ``seq`` comes from the workflow, so a
  retried activity cannot write a step twice.
- ``claims``: one Payment by Results claim per family per phase (unique), keyed by an idempotency key
  derived from the workflow id.
- ``rejected_actions``: actions a validator refused (the workflow history keeps no trace of them).

Frameworks themselves are read from the rules engine's ``frameworks_store`` (by content hash).
Timestamps are naive UTC, as in the decisions tables, so SQLite and PostgreSQL compare them alike.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.storage.db import metadata

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("case_id", sa.String(300), primary_key=True),
    sa.Column("family_id", sa.String(120), nullable=False, index=True),
    sa.Column("framework_id", sa.String(120), nullable=False),
    sa.Column("phase", sa.String(40), nullable=False),
    sa.Column("framework_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(80), nullable=False),
    sa.Column("lead_practitioner", sa.String(200)),
    sa.Column("closure_reason", sa.String(120)),
    #: JSON list of open flags ("review_due", "no_longer_eligible", ...)
    sa.Column("flags", sa.Text, nullable=False, server_default="[]"),
    sa.Column("opened_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    #: the profiling decision that made the family eligible, when known
    sa.Column("opening_decision_id", sa.String(120)),
)

case_audit = sa.Table(
    "case_audit",
    metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(300), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    #: "opened", "transition", "flag", "evidence", "claim_requested", "timer_restarted", ...
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("from_state", sa.String(80)),
    sa.Column("to_state", sa.String(80)),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(80)),
    sa.Column("reason", sa.Text),
    sa.Column("decision_id", sa.String(120)),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),
    sa.UniqueConstraint("case_id", "seq"),
)

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("claim_id", sa.String(320), primary_key=True),
    sa.Column("case_id", sa.String(300), nullable=False),
    sa.Column("family_id", sa.String(120), nullable=False),
    sa.Column("framework_id", sa.String(120), nullable=False),
    sa.Column("phase", sa.String(40), nullable=False),
    sa.Column("framework_hash", sa.String(64), nullable=False),
    #: the financial year (starting 1 April) the claim counts against for the annual cap
    sa.Column("cap_year", sa.Integer, nullable=False),
    sa.Column("claimed_at", sa.DateTime, nullable=False),
    sa.Column("signed_off_by", sa.String(200), nullable=False),
    sa.Column("requested_by", sa.String(200)),
    sa.Column("lead_practitioner", sa.String(200)),
    sa.Column("attached_on", sa.Date),
    sa.Column("decision_id", sa.String(120)),
    #: activity attempts that reached the database (>1 after a retried, already-committed attempt)
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.UniqueConstraint("family_id", "phase"),
)

rejected_actions = sa.Table(
    "rejected_actions",
    metadata,
    sa.Column("rejection_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(300), nullable=False, index=True),
    sa.Column("action", sa.String(120), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(80)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
)

_APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER IF NOT EXISTS case_audit_no_update BEFORE UPDATE ON case_audit "
    "BEGIN SELECT RAISE(ABORT, 'case_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS case_audit_no_delete BEFORE DELETE ON case_audit "
    "BEGIN SELECT RAISE(ABORT, 'case_audit is append-only'); END",
)
_APPEND_ONLY_POSTGRES = (
    "CREATE OR REPLACE FUNCTION case_audit_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'case_audit is append-only'; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS case_audit_no_change ON case_audit",
    "CREATE TRIGGER case_audit_no_change BEFORE UPDATE OR DELETE ON case_audit "
    "FOR EACH ROW EXECUTE FUNCTION case_audit_append_only()",
)


@sa.event.listens_for(case_audit, "after_create")
def _make_audit_append_only(target, connection, **_kw) -> None:
    statements = {"sqlite": _APPEND_ONLY_SQLITE, "postgresql": _APPEND_ONLY_POSTGRES}
    for statement in statements.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)
