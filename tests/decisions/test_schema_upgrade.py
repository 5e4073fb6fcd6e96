"""A database made before a column existed keeps working: opening it adds the nullable columns it lacks,
and the rows already there read as "not recorded then"."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine.decisions.overrides import list_overrides
from engine.storage.db import add_missing_columns, make_engine

#: columns the overrides table gained after its first release
LATER = ("role", "revoked_by", "revoked_role", "revoke_reason")


def test_opening_an_older_database_adds_the_columns_it_lacks(db_url: str) -> None:
    make_engine(db_url).dispose()
    old = sa.create_engine(db_url)
    with old.begin() as conn:  # the table as an older Hearth made it, with one override in it
        for column in LATER:
            conn.execute(sa.text(f"ALTER TABLE overrides DROP COLUMN {column}"))
        conn.execute(sa.text(
            "INSERT INTO overrides (family_id, rule, value, reason, actor, created_at) "
            "VALUES ('F000001', 'eligible', 'met', 'case review', 'a.khan', :at)"), {"at": datetime(2024, 2, 1, 9)})
    old.dispose()

    engine = make_engine(db_url)
    try:
        names = {c["name"] for c in sa.inspect(engine).get_columns("overrides")}
        assert set(LATER) <= names
        with engine.connect() as conn:
            (record,) = list_overrides(conn)
        assert (record.actor, record.role, record.revoked_by) == ("a.khan", None, None)
        assert "by a.khan on 2024-02-01" in record.describe()  # no role claimed for it
        assert add_missing_columns(engine) == []  # (and only once)
    finally:
        engine.dispose()
