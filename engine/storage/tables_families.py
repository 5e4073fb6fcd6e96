"""Tables owned by data integration for families: builds, families, dated memberships, merge/split events.

A family build groups persons (from the matcher, or one per record before matching has run) with the
layer's grouping rules. Family ids are stable: a family keeps its id across builds by the largest
member overlap. Memberships are never rewritten, only ended: a row records who started it
(``started_build``) and who ended it (``ended_build``), so membership as known at any past time can be
rebuilt from the builds' ``finished_at``.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.storage.db import metadata

family_builds = sa.Table(
    "family_builds",
    metadata,
    sa.Column("build_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.DateTime, nullable=False, comment="UTC"),
    sa.Column("finished_at", sa.DateTime, comment="UTC; memberships are known from here"),
    sa.Column("as_of", sa.Date, nullable=False, comment="latest extract date the build saw"),
    sa.Column("persons_from", sa.String(40), nullable=False, comment="matcher | one person per record"),
    sa.Column("rules", sa.JSON, nullable=False, comment="the layers and rules used"),
    sa.Column("summary", sa.JSON, comment="per layer: families, created, merged, split, dissolved"),
)

families = sa.Table(
    "families",
    metadata,
    sa.Column("family_id", sa.String(40), primary_key=True),
    sa.Column("layer", sa.String(60), nullable=False, index=True),
    sa.Column("created_build", sa.Integer, nullable=False),
    sa.Column("dissolved_build", sa.Integer),
    sa.Column("dissolved_on", sa.Date),
)

family_memberships = sa.Table(
    "family_memberships",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("family_id", sa.String(40), nullable=False, index=True),
    sa.Column("layer", sa.String(60), nullable=False),
    sa.Column("person_id", sa.String(300), nullable=False, index=True),
    sa.Column("from_date", sa.Date, nullable=False),
    sa.Column("to_date", sa.Date, comment="exclusive; NULL while a member"),
    sa.Column("started_build", sa.Integer, nullable=False),
    sa.Column("ended_build", sa.Integer),
    # the person's source records at the start: family ids follow records when person ids change
    sa.Column("record_keys", sa.JSON(none_as_null=True)),
    sa.Index("ix_family_memberships_layer_open", "layer", "ended_build"),
)

family_events = sa.Table(
    "family_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("build_id", sa.Integer, nullable=False, index=True),
    sa.Column("layer", sa.String(60), nullable=False),
    sa.Column("event", sa.String(20), nullable=False, comment="created | merged | split | dissolved"),
    sa.Column("family_id", sa.String(40), nullable=False, index=True),
    sa.Column("related_family_ids", sa.JSON, nullable=False),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("detail", sa.JSON(none_as_null=True)),
)
