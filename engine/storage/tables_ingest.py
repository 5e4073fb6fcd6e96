"""Tables owned by data integration: loaded batches, standardised identity rows, quarantine and facts.

``source_records`` is the contract with matching: one standardised identity row per person per feed,
keyed ``"<feed>:<record_id>"``. The matcher reads it and assigns person ids; every other table points
at ``record_key``.

Knowledge time is a batch's ``loaded_at``: a fact is known from the moment its batch was loaded. A
later batch re-stating a fact with different content adds a new version (same ``fact_id``, new
``batch_id``) instead of overwriting, so "what did we know on 1 March" can be rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.storage.db import metadata

#: Standardised identity rows (latest values per record; ``batch_id`` is the batch that last stated it).
source_records = sa.Table(
    "source_records",
    metadata,
    sa.Column("record_key", sa.String(300), primary_key=True, comment='"<feed>:<record_id>"'),
    sa.Column("feed", sa.String(100), nullable=False, index=True),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("batch_id", sa.String(200), nullable=False, index=True, comment="last batch stating it"),
    sa.Column("first_seen_batch", sa.String(200), nullable=False),
    # Names are upper case ASCII, titles removed; given_name has nicknames resolved (BILL -> WILLIAM),
    # given_name_as_written keeps the standardised form before that, for display and explanation.
    sa.Column("given_name", sa.String(200)),
    sa.Column("given_name_as_written", sa.String(200)),
    sa.Column("middle_names", sa.String(300)),
    sa.Column("family_name", sa.String(200)),
    sa.Column("date_of_birth", sa.Date),
    sa.Column("sex", sa.String(1), comment="F, M, X or U"),
    sa.Column("address", sa.String(500), comment="normalised: upper case, one line, no punctuation"),
    sa.Column("postcode", sa.String(10), comment="normalised 'AA9 9AA'"),
    sa.Column("uprn", sa.BigInteger),
    sa.Column("nhs_number", sa.String(10), comment="valid mod-11 only; invalid ones are dropped"),
    sa.Column("upn", sa.String(13), comment="valid check letter only"),
    sa.Column("ni_number", sa.String(9), comment="valid format only, no spaces"),
    sa.Column("extra_ids", sa.JSON(none_as_null=True), comment="other identifier columns: name -> value"),
    # Stated relationships, ready for family grouping. household_ref is namespaced "<feed>:<value>";
    # parent_record_keys lists the record keys this record's person is stated to be a child of.
    sa.Column("household_ref", sa.String(300), index=True),
    sa.Column("parent_record_keys", sa.JSON(none_as_null=True)),
    sa.Column("address_since_batch", sa.String(200), comment="batch where the current address appeared"),
    sa.UniqueConstraint("feed", "record_id"),
)

#: One row per loaded file (or SQL query result); unique per feed, content checksum and extract date.
batches = sa.Table(
    "batches",
    metadata,
    sa.Column("batch_id", sa.String(200), primary_key=True),
    sa.Column("feed", sa.String(100), nullable=False, index=True),
    sa.Column("source_path", sa.String(1000), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False, comment="sha256 of the file bytes"),
    sa.Column("extract_date", sa.Date, nullable=False),
    sa.Column("loaded_at", sa.DateTime, nullable=False, index=True, comment="UTC; knowledge time"),
    sa.Column("rows_in", sa.Integer, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("quarantined", sa.Integer, nullable=False),
    sa.Column("warnings", sa.Integer, nullable=False, default=0),
    # Copied from the feed declaration at load time so coverage can be rebuilt without the YAML.
    sa.Column("fact_types", sa.JSON, nullable=False),
    sa.Column("coverage_from", sa.Date),
    # the same bytes may arrive as two extracts (an unchanged or empty monthly file): each moves coverage on
    sa.UniqueConstraint("feed", "checksum", "extract_date"),
)

#: Rows not accepted (severity "rejected"), and accepted rows that lost a value (severity "warning").
quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(200), nullable=False, index=True),
    sa.Column("feed", sa.String(100), nullable=False, index=True),
    sa.Column("row_number", sa.Integer, nullable=False, comment="line (CSV/JSONL), element (JSON), sheet row"),
    sa.Column("raw", sa.JSON(none_as_null=True), comment="the row as read"),
    sa.Column("field", sa.String(200)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("severity", sa.String(10), nullable=False, comment="rejected | warning"),
)

#: Facts about a record's person; one version per (fact_id, batch) when the content changed.
facts = sa.Table(
    "facts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fact_id", sa.String(500), nullable=False, comment="<feed>:<fact_type>:<id columns>"),
    sa.Column("feed", sa.String(100), nullable=False),
    sa.Column("fact_type", sa.String(100), nullable=False, index=True),
    sa.Column("record_key", sa.String(300), nullable=False, index=True),
    sa.Column("event_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.String(32), nullable=False),
    sa.Column("batch_id", sa.String(200), nullable=False, index=True),
    sa.UniqueConstraint("fact_id", "batch_id"),
    sa.Index("ix_facts_feed_fact_id", "feed", "fact_id"),
)
