"""A feed's declared population (who it can hold, by age) as matching evidence."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from engine.matching.linker import link
import sqlalchemy as sa

from engine.errors import ConfigError
from engine.integrate.feeds import load_feeds
from engine.matching import store
from engine.matching.comparisons import default_comparisons
from engine.matching.explain import explain
from engine.matching.levels import PairBatch
from engine.matching.pipeline import load_records, run_matching, stored_populations
from engine.matching.population import AgeBand, age_range_comparison, feed_populations
from engine.matching.records import RecordTable
from engine.storage.db import make_engine
from engine.storage.tables_ingest import batches, source_records


def _level(left: dict, right: dict) -> str:
    table = RecordTable.from_rows([{"record_key": "t:1", **left}, {"record_key": "t:2", **right}])
    comparison = age_range_comparison()
    return comparison.labels[comparison.assign(PairBatch(table, np.array([0]), np.array([1])))[0]]


ADULT_REGISTER = {"given_name": "RICHARD", "born_by": "2009-01-01"}  # first seen 2027-01-01, min_age 18


@pytest.mark.parametrize(("description", "left", "right", "expected"), [
    ("adults-only record against a ten-year-old's date of birth", ADULT_REGISTER,
     {"date_of_birth": "2017-05-18"}, "outside the source's age range"),
    ("adults-only record against an adult's date of birth", ADULT_REGISTER,
     {"date_of_birth": "1985-02-06"}, "within the source's age range"),
    ("born on the last day the range allows", ADULT_REGISTER, {"date_of_birth": "2009-01-01"},
     "within the source's age range"),
    ("adults-only register against a children-only one", ADULT_REGISTER,
     {"born_after": "2012-06-01"}, "outside the source's age range"),
    ("no date of birth and no range on the other side", ADULT_REGISTER, {"given_name": "RICHARD"}, "null"),
    ("dates of birth on both sides are the date comparison's business", {"date_of_birth": "2017-05-18"},
     {"date_of_birth": "1985-02-06"}, "null"),
    ("two dates of birth that differ, both within their feeds' ranges", {"date_of_birth": "1989-10-04",
     "born_by": "2010-08-01"}, {"date_of_birth": "1989-04-10", "born_by": "2010-08-01"}, "within the source's age range"),
    ("a child's record whose own range and date of birth hold", {"born_after": "2008-01-01",
     "date_of_birth": "2012-03-04"}, {"date_of_birth": "2012-03-04"}, "within the source's age range"),
])
def test_age_range_levels(description: str, left: dict, right: dict, expected: str) -> None:
    assert _level(left, right) == expected


def test_birth_range_applies_min_age_on_first_sighting_and_max_age_on_last() -> None:
    band = AgeBand(min_age=16, max_age=24)
    assert band.birth_range(date(2027, 1, 1), date(2027, 12, 1)) == ("2002-12-01", "2011-01-01")
    assert AgeBand(min_age=18).birth_range(date(2028, 2, 29), date(2028, 2, 29)) == (None, "2010-02-28")


def test_comparison_only_when_a_feed_declares_a_population() -> None:
    plain = RecordTable.from_rows([{"record_key": "a:1", "given_name": "ANNE"}, {"record_key": "a:2", "given_name": "ANN"}])
    assert "age range" not in [c.name for c in default_comparisons(plain)]
    banded = RecordTable.from_rows([{"record_key": "a:1", "given_name": "ANNE", "born_by": "2009-01-01"},
                                    {"record_key": "a:2", "given_name": "ANN"}])
    assert "age range" in [c.name for c in default_comparisons(banded)]


FEEDS = """feeds:
- name: electoral_roll
  source: {type: csv, path: roll.csv}
  extract_date: {value: '2027-01-01'}
  schema: {type: object}
  record_id: elector
  identity: {given_name: forename, family_name: surname}
  population: {min_age: %s}
"""


def test_feeds_file_declares_population(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS % "16")
    assert feed_populations(load_feeds(path).feeds) == {"electoral_roll": AgeBand(min_age=16)}
    path.write_text(FEEDS % "-3")
    with pytest.raises(ConfigError, match="min_age"):
        load_feeds(path)


def test_parent_and_child_who_share_a_name_and_home_stay_two_people() -> None:
    """A register record without a date of birth never joins a child who shares the parent's name and
    home once its feed says it holds adults only; without the declaration some do."""
    from tests.matching.test_households import household_records

    rows, person_of = household_records(400, seed=5)
    children = []
    for index, row in enumerate(rows):
        if "date_of_birth" not in row and index % 7 == 0:  # a register record: name the child after them
            children.append({"record_key": f"school:{index}", "given_name": row["given_name"],
                             "family_name": row["family_name"], "date_of_birth": "2016-04-0%d" % (1 + index % 9),
                             "address": row["address"], "postcode": row["postcode"]})
    adults_only = [dict(row, born_by="2009-01-01") if "date_of_birth" not in row else row for row in rows]
    namesakes = [(int(child["record_key"].split(":")[1]), len(rows) + k) for k, child in enumerate(children)]
    for declared, expect_linked in ((adults_only, False), (rows, True)):
        result = link(RecordTable.from_rows(declared + children))
        pairs = result.pairs
        probability = dict(zip(zip(pairs.left.tolist(), pairs.right.tolist()), pairs.probability.tolist()))
        scores = [probability[pair] for pair in namesakes]
        if expect_linked:
            assert min(scores) >= 0.5  # name and home agree: nothing else to go on
        else:
            assert max(scores) < 0.5  # more likely two people than one, whatever links around them
    assert len(children) > 20


def test_run_matching_reads_first_extract_dates(sqlite_url: str) -> None:
    """Through ``source_records`` and ``batches`` as ingest leaves them: the age range is measured
    from the first extract that held the record, and run_matching takes the declarations."""
    engine = make_engine(sqlite_url)
    rows = [("electoral_roll", "ER1", {"given_name": "RICHARD", "family_name": "PARKER", "postcode": "HW1 0BS"},
             "b2", "b1"),
            ("school", "SC1", {"given_name": "RICHARD", "family_name": "PARKER", "postcode": "HW1 0BS",
                               "date_of_birth": date(2013, 5, 18)}, "b3", "b3")]
    with engine.begin() as conn:
        conn.execute(sa.insert(batches), [
            {"batch_id": batch, "feed": "x", "source_path": "x.csv", "checksum": batch * 32, "extract_date": day,
             "loaded_at": datetime(2027, 1, 2), "rows_in": 1, "accepted": 1, "quarantined": 0, "fact_types": []}
            for batch, day in (("b1", date(2026, 1, 1)), ("b2", date(2027, 1, 1)), ("b3", date(2027, 1, 1)))])
        conn.execute(sa.insert(source_records), [
            {"record_key": f"{feed}:{rid}", "feed": feed, "record_id": rid, "batch_id": last,
             "first_seen_batch": first, "date_of_birth": None, **values} for feed, rid, values, last, first in rows])
        table = load_records(conn, {"electoral_roll": AgeBand(min_age=18)})
    assert table.values("born_by").tolist() == ["2008-01-01", None]
    run_matching(engine, populations={"electoral_roll": AgeBand(min_age=18)})
    with engine.connect() as conn:
        person = store.current_assignments(conn)
        why = explain(conn, "electoral_roll:ER1", "school:SC1")
    assert person["electoral_roll:ER1"] != person["school:SC1"]
    # explain-match reads the run's declarations back: the waterfall shows the age range's verdict
    assert [(row.level, row.weight < -15) for row in why.rows if row.comparison == "age range"] == [
        ("outside the source's age range", True)]
    run_matching(engine)  # no feeds file at hand: the declarations of the previous run still hold
    with engine.connect() as conn:
        assert stored_populations(conn) == {"electoral_roll": AgeBand(min_age=18)}
    run_matching(engine, populations={})
    with engine.connect() as conn:
        assert stored_populations(conn) == {}
