"""Tables owned by person matching: runs, record -> person links, persons, identity events, review.

A match run's assignments are known from its ``finished_at`` (knowledge time). ``person_links`` holds
every record's person per run, so "who was who on 1 March" is one query. ``persons`` are never
deleted or reused: a retired id keeps its row with the run that retired it.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.storage.db import metadata

match_runs = sa.Table(
    "match_runs",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, index=True, comment="UTC; NULL while running or if it failed"),
    sa.Column("params", sa.JSON, nullable=False, comment="settings, m/u per level, prior, blocking report"),
    sa.Column("counts", sa.JSON, nullable=False, comment="records, pairs, persons, merges, splits, review"),
)

person_links = sa.Table(
    "person_links",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("match_runs.run_id"), primary_key=True),
    sa.Column("record_key", sa.String(300), primary_key=True),
    sa.Column("person_id", sa.String(40), nullable=False, index=True),
)

persons = sa.Table(
    "persons",
    metadata,
    sa.Column("person_id", sa.String(40), primary_key=True),
    sa.Column("created_run", sa.Integer, sa.ForeignKey("match_runs.run_id"), nullable=False),
    sa.Column("retired_run", sa.Integer, sa.ForeignKey("match_runs.run_id"), comment="NULL while current"),
)

identity_events = sa.Table(
    "identity_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("match_runs.run_id"), nullable=False, index=True),
    sa.Column("kind", sa.String(10), nullable=False, comment="merge | split"),
    sa.Column("person_ids_before", sa.JSON, nullable=False),
    sa.Column("person_ids_after", sa.JSON, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False, comment="links (record keys, weight, probability), reasons"),
)

review_queue = sa.Table(
    "review_queue",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("match_runs.run_id"), primary_key=True),
    sa.Column("record_key_a", sa.String(300), primary_key=True),
    sa.Column("record_key_b", sa.String(300), primary_key=True),
    sa.Column("match_weight", sa.Float, nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
)

review_decisions = sa.Table(
    "review_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_key_a", sa.String(300), nullable=False, index=True, comment="the smaller key of the pair"),
    sa.Column("record_key_b", sa.String(300), nullable=False, index=True),
    sa.Column("decision", sa.String(10), nullable=False, comment="confirm | reject; the latest row wins"),
    sa.Column("reviewer", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
)
