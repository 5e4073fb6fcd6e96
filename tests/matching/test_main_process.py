"""The match run's own process: reads through the driver, the caller's work while workers compare,
and the one-pass address numbers all give what the slower paths gave."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.matching import em
from engine.matching.blocking import BlockingRule, column
from engine.matching.linker import link
from engine.matching.records import RecordTable
from engine.matching.standardise import address_numbers
from engine.matching.store import fetch_columns
from engine.matching.synthetic import generate
from engine.storage.db import make_engine
from engine.storage.tables_ingest import batches, source_records
from tests.matching.test_workers import _insert


def test_fetch_columns_gives_what_sqlalchemy_rows_give(db_url) -> None:
    """Dates (text on SQLite), JSON, nulls, a bound value and an empty result, on each backend."""
    engine = make_engine(db_url)
    _insert(engine, generate(60, seed=3).rows, 0)
    with engine.begin() as conn:
        query = (sa.select(source_records.c.record_key, source_records.c.given_name, source_records.c.date_of_birth,
                           source_records.c.extra_ids, batches.c.extract_date.label("first_seen"))
                 .join(batches, batches.c.batch_id == source_records.c.first_seen_batch)
                 .where(source_records.c.record_id != "R0000009").order_by(source_records.c.record_key))
        expected = [list(column) for column in zip(*conn.execute(query).all())]
        columns = fetch_columns(conn, query)
        assert columns == expected and len(columns[0]) == 59
        assert {type(v) for v in columns[2]} == {type(v) for v in columns[4]} == {date}
        assert {type(v) for v in columns[3]} == {dict, type(None)}  # every fourth record has extra ids
        # as the driver stores it: JSON text on SQLite, already decoded by psycopg
        stored = fetch_columns(conn, query, as_stored=("extra_ids",))[3]
        assert [json.loads(v) if isinstance(v, str) else v for v in stored] == expected[3]
        assert fetch_columns(conn, query.where(source_records.c.feed == "none")) == [[], [], [], [], []]
    engine.dispose()


def _by_word(address: str) -> str | None:
    """The definition: words holding a digit (``str.isdigit``), shortest first, then in text order."""
    words = [word for word in address.split(" ") if any(ch.isdigit() for ch in word)]
    return " ".join(sorted(words, key=lambda word: (len(word), word))) or None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="AB7 0 -\t/É²٣", max_size=30))
def test_address_numbers_are_the_words_holding_a_digit(address: str) -> None:
    assert address_numbers(address) == _by_word(address)


def test_address_numbers_order_flat_and_house() -> None:
    assert address_numbers("FLAT 11 BIRCH LODGE 2A BIRCH ROAD") == "11 2A"  # equal lengths: text order
    assert address_numbers("FLAT ٣ ROSE COTTAGE") == "٣"  # an Arabic-Indic digit is a digit too


def test_work_while_comparing_runs_once_and_changes_nothing(monkeypatch) -> None:
    monkeypatch.setattr(em, "MIN_PAIRS_PER_WORKER", 50)
    monkeypatch.setattr(em, "WARM_UP_PAIRS", 100)
    rows = generate(1200, seed=5).rows
    table = RecordTable.from_rows([{"record_key": f"s:{row['record_id']}",
                                    **{k: v or None for k, v in row.items() if k != "record_id"}} for row in rows])
    alone = link(table)
    for workers in (1, 2):
        calls = []
        result = link(table, workers=workers, while_comparing=lambda: calls.append(workers))
        assert calls == [workers]
        assert np.array_equal(result.labels, alone.labels)
        assert np.array_equal(result.pairs.weight, alone.pairs.weight)


def test_blocking_keys_order_records_as_their_parts_do_even_past_int64() -> None:
    """Six parts of 2,000 values each would overflow a mixed-radix int64 (2002**6 > 2**62): the key
    is renumbered on the way, and stays equal exactly for equal parts, ordered as their codes are."""
    rng = np.random.default_rng(4)
    names = [f"c{i}" for i in range(6)]
    values = rng.integers(0, 2000, size=(3000, 6))
    values[::7] = values[1::7][: len(values[::7])]  # some records share every part with another
    rows = [{"record_key": f"r{i}", **{n: f"V{v:04d}" for n, v in zip(names, row)}} for i, row in enumerate(values)]
    rows[5]["c3"] = None
    table = RecordTable.from_rows(rows)
    key = BlockingRule("all six", tuple(column(n) for n in names)).keys(table)
    assert key[5] == -1 and (key >= 0).sum() == 2999
    # ordered as the parts' codes (the table's numbering of each column's values) are
    parts = list(zip(*(table.codes(n)[0].tolist() for n in names)))
    known = [i for i in range(3000) if i != 5]
    by_key = sorted(known, key=lambda i: (int(key[i]), i))
    assert by_key == sorted(known, key=lambda i: (parts[i], i))
    assert all((key[a] == key[b]) == (parts[a] == parts[b]) for a, b in zip(by_key, by_key[1:]))
