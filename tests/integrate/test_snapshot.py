"""Snapshots for the rules engine: membership on a date, facts as known at a time, coverage."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.integrate.families import build_families
from engine.integrate.grouping import load_grouping
from engine.integrate.snapshot import _member, load_families
from tests.integrate.conftest import DEMO, FEB, JAN

RULES = load_grouping(DEMO / "families.yaml")


def _both_months(engine, loaded) -> None:
    loaded((JAN,))
    build_families(engine, RULES, now=datetime(2024, 2, 1, 10))
    loaded((FEB,))
    build_families(engine, RULES, now=datetime(2024, 3, 1, 10))


def _family_with(families, person):
    return next(f for f in families if any(m.person_id == person for m in f.members))


def test_snapshot_members_and_facts_now(engine, loaded) -> None:
    """With everything known, the Thompsons have four members and the corrected attendance."""
    _both_months(engine, loaded)
    families = load_families(engine, date(2024, 3, 15))
    thompsons = _family_with(families, "housing:H001")
    assert [m.person_id for m in thompsons.members] == sorted(m.person_id for m in thompsons.members)
    sarah = next(m for m in thompsons.members if m.person_id == "housing:H001")
    assert (sarah.date_of_birth, sarah.given_name, sarah.joined) == (date(1985, 4, 12), "SALLY", date(2024, 1, 31))
    liam_autumn = [f for f in thompsons.facts if f.fact_id == "school_census:attendance:P1001|22/12/2023"]
    assert len(liam_autumn) == 1 and liam_autumn[0].fields["attended_sessions"] == 119
    assert liam_autumn[0].fields["term_start"] == date(2023, 9, 1)
    assert liam_autumn[0].person_id == "school_census:P1001" and liam_autumn[0].source == "school_census"
    assert [f.date for f in thompsons.facts] == sorted(f.date for f in thompsons.facts)


def test_known_at_rebuilds_what_we_knew_then(engine, loaded) -> None:
    """Known at 15 February: January's attendance figure, no Noah, Yusuf still with the Khans."""
    _both_months(engine, loaded)
    families = load_families(engine, date(2024, 3, 15), known_at=datetime(2024, 2, 15))
    thompsons = _family_with(families, "housing:H001")
    assert "school_census:P1007" not in {m.person_id for m in thompsons.members}
    (liam_autumn,) = [f for f in thompsons.facts if f.fact_id == "school_census:attendance:P1001|22/12/2023"]
    assert liam_autumn.fields["attended_sessions"] == 121
    assert all(f.date <= date(2024, 1, 31) for f in thompsons.facts)
    khans = _family_with(families, "housing:H002")
    assert {m.person_id for m in khans.members} == {"housing:H002", "school_census:P1003"}
    assert khans.coverage["attendance"].end == date(2024, 1, 31)


def test_as_of_uses_membership_dates(engine, loaded) -> None:
    """On 1 February Yusuf is a Khan; on 1 March he is in his own household."""
    _both_months(engine, loaded)
    february = _family_with(load_families(engine, date(2024, 2, 1)), "housing:H002")
    march = _family_with(load_families(engine, date(2024, 3, 1)), "housing:H002")
    assert "school_census:P1003" in {m.person_id for m in february.members}
    assert "school_census:P1003" not in {m.person_id for m in march.members}


def test_coverage_and_fact_type_filter(engine, loaded) -> None:
    """Coverage runs from each feed's declared start to its latest extract; fact_types filters both."""
    _both_months(engine, loaded)
    families = load_families(engine, date(2024, 3, 15), fact_types=["attendance"])
    coverage = families[0].coverage
    assert set(coverage) == {"attendance"}
    assert (coverage["attendance"].start, coverage["attendance"].end) == (date(2023, 9, 1), date(2024, 2, 29))
    assert coverage["attendance"].sources == ("school_census",)
    assert {f.fact_type for fam in families for f in fam.facts} == {"attendance"}


def test_snapshot_is_deterministic(engine, loaded) -> None:
    """Two loads of the same snapshot are equal, families sorted by id."""
    _both_months(engine, loaded)
    first = load_families(engine, date(2024, 3, 15))
    assert first == load_families(engine, date(2024, 3, 15))
    assert [f.family_id for f in first] == sorted(f.family_id for f in first)


def test_no_builds_known_yet_gives_no_families(engine, loaded) -> None:
    """Before any family build finished, nothing is known."""
    _both_months(engine, loaded)
    assert load_families(engine, date(2024, 3, 15), known_at=datetime(2024, 1, 1)) == []


def test_family_ids_restricts_the_snapshot(engine, loaded) -> None:
    """Loading one family by id gives exactly that family as the full snapshot has it."""
    _both_months(engine, loaded)
    everything = load_families(engine, date(2024, 3, 15), known_at=datetime(2024, 2, 15))
    wanted = _family_with(everything, "housing:H001")
    only = load_families(engine, date(2024, 3, 15), known_at=datetime(2024, 2, 15), family_ids=[wanted.family_id])
    assert only == [wanted]
    assert load_families(engine, date(2024, 3, 15), family_ids=["F999999"]) == []


def test_facts_by_record_holds_every_record_whatever_its_family(engine, loaded) -> None:
    """Facts keyed by record (latest version known then), the same facts the family snapshot gives."""
    from engine.integrate.snapshot import facts_by_record

    _both_months(engine, loaded)
    now, _ = facts_by_record(engine)
    (liam_autumn,) = [f for f in now["school_census:P1001"] if f.fact_id == "school_census:attendance:P1001|22/12/2023"]
    assert liam_autumn.fields["attended_sessions"] == 119 and liam_autumn.person_id == "school_census:P1001"
    in_families = sorted(f.fact_id for fam in load_families(engine, date(2024, 3, 15)) for f in fam.facts)
    assert sorted(f.fact_id for fs in now.values() for f in fs) == in_families
    then, coverage = facts_by_record(engine, known_at=datetime(2024, 2, 15))
    assert "school_census:P1007" not in then
    (earlier,) = [f for f in then["school_census:P1001"] if f.fact_id == liam_autumn.fact_id]
    assert earlier.fields["attended_sessions"] == 121
    assert coverage["attendance"].end == date(2024, 1, 31)


_LOADED = {"old": datetime(2024, 1, 1), "new": datetime(2024, 2, 1)}
_BORN = date(2012, 5, 1)


@pytest.mark.parametrize("rows, expected", [
    # (record key, date of birth, sex, given name, family name, batch loaded) -> the member's values
    ([("b:2", _BORN, "F", "Amara", "Osei", "new"), ("a:1", _BORN, "F", "Amara", "Osei", "old")],
     (_BORN, "F", "Amara", "Osei")),
    ([("a:1", _BORN, None, "Amara", "Osei", "old"), ("b:2", _BORN, "F", "Amara", "Osei", "new")],
     (_BORN, "F", "Amara", "Osei")),  # a value one record lacks comes from the other
    ([("a:1", _BORN, "F", "Amara", "Osei", "old"), ("b:2", _BORN, "F", "Amarah", "Osei", "new")],
     (_BORN, "F", "Amarah", "Osei")),  # records disagree, one each: the later load's value
    ([("a:1", _BORN, "F", "Amara", "Osei", "old"), ("b:2", _BORN, "F", "Amarah", "Osei", "new"),
      ("c:3", _BORN, "F", "Amara", "Osei", "old")],
     (_BORN, "F", "Amara", "Osei")),  # the most common value first
], ids=["agreeing", "one-lacks-a-value", "tie-goes-to-the-later-load", "most-common"])
def test_a_member_s_values_are_the_best_of_their_records(rows, expected) -> None:
    records = [(key, born, sex, given, family, _LOADED[loaded]) for key, born, sex, given, family, loaded in rows]
    member = _member("P1", date(2020, 1, 1), None, records)
    assert (member.date_of_birth, member.sex, member.given_name, member.family_name) == expected
    assert member.attributes["record_keys"] == tuple(sorted(key for key, *_ in rows))
