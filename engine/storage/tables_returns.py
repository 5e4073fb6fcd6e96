"""Tables for government returns: consent/opt-out records and the log of every extract produced."""

from __future__ import annotations

import sqlalchemy as sa

from engine.storage.db import metadata

#: A person's recorded choice about a data flow (e.g. opting out of the National Impact Study).
consent_records = sa.Table(
    "consent_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_id", sa.String(64), nullable=False, index=True),
    sa.Column("flow", sa.String(40), nullable=False),  # e.g. "nis"
    sa.Column("choice", sa.String(20), nullable=False),  # "opt_out" | "withdrawn" | "consented"
    sa.Column("recorded_by", sa.String(120), nullable=False),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
)

#: Every extract that leaves Hearth: who produced it, when, how many rows, and a hash of the file.
extract_log = sa.Table(
    "extract_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(40), nullable=False),  # nis | pseudonymised | progress_return | claim_file
    sa.Column("produced_by", sa.String(120), nullable=False),
    sa.Column("produced_at", sa.DateTime, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("excluded_rows", sa.Integer, nullable=False, default=0),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("lawful_basis", sa.Text, nullable=False, default=""),
    sa.Column("parameters", sa.JSON, nullable=False, default=dict),
)
