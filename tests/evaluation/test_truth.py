"""The truth side of `hearth evaluate`: true people and facts, as the feeds had delivered them by a date."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from engine.errors import DataError
from engine.evaluation.truth import Truth

RECORDS = """record_key,feed,record_id,person_id,first_extract,gives_date_of_birth,gives_sex
roll:R1,roll,R1,TP1,2024-01-01,0,0
jobs:J1,jobs,J1,TP1,2024-03-01,1,1
roll:R2,roll,R2,TP2,2024-01-01,0,0
school:S3,school,S3,TP3,2024-02-01,1,1
"""
PERSONS = """person_id,given_name,family_name,birth_family_name,name_change_date,sex,date_of_birth,nhs_number,upn,ni_number,heritage
TP1,Ann,Lee,Lee,,F,1980-05-01,,,,
TP2,Bob,Lee,Lee,,M,1979-02-03,,,,
TP3,Cat,Lee,Lee,,F,2012-07-09,,,,
"""
MEMBERSHIPS = """person_id,household_id,from_date,to_date
TP1,TH1,2019-09-01,
TP2,TH1,2019-09-01,
TP3,TH1,2019-09-01,
"""
FACTS = """fact_type,person_id,household_id,date,end_date,known_from,end_known_from,readable_from,fields
employment,TP1,TH1,2023-06-01,2024-02-10,2024-03-01,2024-05-01,2024-03-01,"{""end_date"": ""2024-02-10"", ""hours_per_week"": 20.0, ""start_date"": ""2023-06-01""}"
employment,TP2,TH1,2022-01-01,2024-03-20,2024-01-01,,2024-01-01,"{""end_date"": ""2024-03-20"", ""hours_per_week"": 37.5, ""start_date"": ""2022-01-01""}"
offence,TP3,TH1,2024-04-20,,2024-06-01,,,"{""offence_date"": ""2024-04-20"", ""offence_type"": ""theft"", ""outcome"": ""charge""}"
"""


@pytest.fixture()
def truth_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "truth"
    folder.mkdir()
    for name, text in (("records.csv", RECORDS), ("persons.csv", PERSONS), ("memberships.csv", MEMBERSHIPS),
                       ("facts.csv", FACTS)):
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"window": ["2019-09-01", "2024-12-31"]}), encoding="utf-8")
    return folder


def _family(truth: Truth, as_of: date):
    (family,) = truth.families(as_of)
    return family


def test_people_count_once_a_feed_mentions_them_with_what_their_records_give(truth_dir: Path) -> None:
    """Before any extract nobody is known; a person only on a register has no known date of birth or sex
    until a record that carries them is delivered; the values are the true ones."""
    truth = Truth.load(truth_dir.parent)  # the borough folder works too
    assert truth.families(date(2023, 12, 31)) == []
    january = {m.person_id: m for m in _family(truth, date(2024, 1, 1)).members}
    assert set(january) == {"TP1", "TP2"}
    assert january["TP1"].date_of_birth is None and january["TP1"].sex is None
    march = {m.person_id: m for m in _family(truth, date(2024, 3, 1)).members}
    assert set(march) == {"TP1", "TP2", "TP3"}
    assert (march["TP1"].date_of_birth, march["TP1"].sex) == (date(1980, 5, 1), "F")
    assert march["TP2"].date_of_birth is None


def test_facts_and_their_end_dates_count_from_the_extract_that_delivered_them(truth_dir: Path) -> None:
    """A state stays open until the extract carrying its end; one whose end was never delivered stays open."""
    truth = Truth.load(truth_dir)
    facts = {f.person_id: f for f in _family(truth, date(2024, 3, 1)).facts}
    assert set(facts) == {"TP1", "TP2"}
    assert facts["TP1"].end_date is None and facts["TP1"].fields["end_date"] is None
    assert facts["TP2"].end_date is None
    later = {f.person_id: f for f in _family(truth, date(2024, 6, 1)).facts}
    assert later["TP1"].end_date == date(2024, 2, 10) == later["TP1"].fields["end_date"]
    assert later["TP2"].end_date is None
    assert later["TP3"].fields["offence_date"] == date(2024, 4, 20)


def test_coverage_starts_where_the_feeds_history_starts(truth_dir: Path) -> None:
    """Absence in the truth means "none happened" only from the simulated history's start."""
    family = _family(Truth.load(truth_dir), date(2024, 6, 1))
    assert {c.start for c in family.coverage.values()} == {date(2019, 9, 1)}
    assert {c.end for c in family.coverage.values()} == {date(2024, 6, 1)}


def test_a_folder_without_truth_files_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="records.csv"):
        Truth.load(tmp_path)


def test_readable_only_leaves_out_facts_sent_only_in_broken_rows(truth_dir: Path) -> None:
    """The offence was delivered, but only in a row with a broken date: true, yet unusable by any pipeline."""
    truth = Truth.load(truth_dir)
    assert {f.fact_type for f in _family(truth, date(2024, 6, 1)).facts} == {"employment", "offence"}
    readable = truth.families(date(2024, 6, 1), readable_only=True)[0]
    assert {f.fact_type for f in readable.facts} == {"employment"}
    assert readable.members == _family(truth, date(2024, 6, 1)).members
