"""append_decisions hands the driver plain tuples: the rows must read back exactly as SQLAlchemy's own
insert would have stored them (dates, microseconds, booleans, bytes, JSON lists) and hash as recorded."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from engine.decisions.records import (NewDecision, append_decisions, canonical_json, pack_result, record_hash,
                                      row_intact, verify_chain)
from engine.decisions.store import store_framework
from engine.storage.tables_decisions import decision_runs, decisions

from tests.decisions.test_chain import FRAMEWORK

AS_OF = date(2024, 2, 29)
#: an aware time with microseconds: stored as naive UTC, to the microsecond
KNOWN_AT = datetime(2024, 3, 1, 7, 30, 15, 123456, tzinfo=timezone(timedelta(hours=1)))


def test_rows_read_back_as_written_and_hash_as_recorded(db: sa.Engine) -> None:
    items = [NewDecision("F2", ("P9", "P1"), *pack_result(canonical_json({"family": "F2", "é": "ü"})), (7, 3)),
             NewDecision("F1", ("P5",), *pack_result(canonical_json({"family": "F1"})))]
    with db.begin() as conn:
        digest = store_framework(conn, FRAMEWORK)
        conn.execute(decision_runs.insert().values(
            run_id="R1", framework_hash=digest, engine_version="t", as_of=AS_OF, known_at=KNOWN_AT.replace(tzinfo=None),
            started_at=datetime(2024, 3, 1), finished_at=datetime(2024, 3, 1), families=2, eligible_met=0,
            eligible_not_met=0, eligible_unknown=2))
        ids = append_decisions(conn, run_id="R1", framework_hash=digest, engine_version="t", as_of=AS_OF,
                               known_at=KNOWN_AT, items=items, traced=True, batch_size=1)
    assert ids == ["D000000001", "D000000002"]
    with db.connect() as conn:
        rows = conn.execute(sa.select(decisions).order_by(decisions.c.seq)).all()
        assert verify_chain(conn).intact
    first, second = rows
    assert (first.family_id, first.person_ids, first.override_ids) == ("F2", '["P1","P9"]', "[3,7]")
    assert (second.family_id, second.person_ids, second.override_ids) == ("F1", '["P5"]', "[]")
    for row, item in zip(rows, items):
        assert row.as_of == AS_OF and isinstance(row.as_of, date)
        assert row.known_at == datetime(2024, 3, 1, 6, 30, 15, 123456)
        assert row.traced is True and bytes(row.result_zlib) == item.result_zlib
        assert row.run_id == "R1" and row.framework_hash == digest and row.engine_version == "t"
        assert row_intact(row)
    assert second.prev_hash == first.record_hash
    # the hash covers the same values SQLAlchemy reads back, spelled by canonical_json
    assert first.record_hash == record_hash(first.prev_hash, dict(first._mapping))


#: family and person ids that JSON spells with escapes: quotes, backslashes, control characters, line
#: separators, accents, characters outside the basic plane
AWKWARD_IDS = ['F"1', "F\\2", "F\n3\t", "F\x01\x1f", "F\u2028\u2029", "Fé-ü", "F\U0001F600", ""]


def test_a_runs_rows_hash_exactly_as_canonical_json_spells_them(db: sa.Engine) -> None:
    """append_decisions spells each row's own values into the run's shared JSON: for every awkward id the
    hash is the one record_hash (and so verify_chain) computes from the row as read back."""
    items = [NewDecision(family, (family + "/p", "P\u00a0" + family), *pack_result(canonical_json({"f": family})),
                         (2, 1) if n % 2 else ())
             for n, family in enumerate(AWKWARD_IDS)]
    with db.begin() as conn:
        digest = store_framework(conn, FRAMEWORK)
        conn.execute(decision_runs.insert().values(
            run_id='R"\u00e9', framework_hash=digest, engine_version="t\\", as_of=AS_OF,
            known_at=KNOWN_AT.replace(tzinfo=None), started_at=datetime(2024, 3, 1), finished_at=datetime(2024, 3, 1),
            families=len(items), eligible_met=0, eligible_not_met=0, eligible_unknown=len(items)))
        append_decisions(conn, run_id='R"\u00e9', framework_hash=digest, engine_version="t\\", as_of=AS_OF,
                         known_at=KNOWN_AT, items=items)
    with db.connect() as conn:
        rows = conn.execute(sa.select(decisions).order_by(decisions.c.seq)).all()
        assert verify_chain(conn).intact
    assert [row.family_id for row in rows] == AWKWARD_IDS
    for row in rows:
        assert row.record_hash == record_hash(row.prev_hash, dict(row._mapping))
        assert row.person_ids == canonical_json(sorted([row.family_id + "/p", "P\u00a0" + row.family_id]))
