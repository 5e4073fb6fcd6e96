"""Family grouping on the demo feeds: households, stable ids across re-runs, moves, merges and splits."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine.errors import ConfigError, DataError, NotFoundError
from engine.integrate.families import build_families, describe_family
from engine.integrate.grouping import (
    AddressRule,
    Layer,
    ParentChildRule,
    RecordPlace,
    StatedHouseholdRule,
    group_persons,
    load_grouping,
)
from engine.storage.tables_families import family_events, family_memberships
from tests.integrate.conftest import DEMO, FEB, JAN

RULES = load_grouping(DEMO / "families.yaml")
JAN_BUILT = datetime(2024, 2, 1, 10, 0)
FEB_BUILT = datetime(2024, 3, 1, 10, 0)


def _place(key, person=None, address=None, postcode=None, uprn=None, household=None, parents=()):
    return RecordPlace(key, person or key, address, postcode, uprn, household, tuple(parents))


def _families(layer_rules, records):
    layer = Layer(name="household", rules=layer_rules)
    return [sorted(group) for group in group_persons(layer, records)]


def test_address_rule_links_same_uprn_and_fuzzy_address_but_not_different_flats() -> None:
    """Same UPRN or a typo'd address in one postcode link; flat 2 and flat 3 of one building do not."""
    records = [
        _place("a", uprn=100),
        _place("b", uprn=100, address="1 HIGH STREET", postcode="LS1 1AA"),
        _place("c", address="FLAT 2 9 CEDAR COURT LEEDS", postcode="LS8 4DD"),
        _place("d", address="FLAT 2 9 CEDER COURT LEEDS", postcode="LS8 4DD"),
        _place("e", address="FLAT 3 9 CEDAR COURT LEEDS", postcode="LS8 4DD"),
        _place("f", address="FLAT 2 9 CEDAR COURT LEEDS", postcode="LS9 9ZZ"),
    ]
    assert _families([AddressRule(kind="address")], records) == [["a", "b"], ["c", "d"], ["e"], ["f"]]


def test_address_rule_ignores_crowded_places() -> None:
    """A place with more people than max_people_per_place (a hostel) does not make them one family."""
    records = [_place(f"p{i}", uprn=555) for i in range(5)]
    assert len(_families([AddressRule(kind="address", max_people_per_place=4)], records)) == 5
    assert len(_families([AddressRule(kind="address", max_people_per_place=5)], records)) == 1


def test_parent_child_respects_addresses_unless_told_not_to() -> None:
    """A child living elsewhere stays out of the parent's household but joins the extended family."""
    records = [
        _place("parent", uprn=1),
        _place("child_home", uprn=1, parents=["parent"]),
        _place("child_away", uprn=2, parents=["parent"]),
        _place("child_unknown_address", parents=["parent"]),
    ]
    household = _families([ParentChildRule(kind="parent_child")], records)
    assert household == [["child_away"], ["child_home", "child_unknown_address", "parent"]]
    extended = _families([ParentChildRule(kind="parent_child", addresses_must_agree=False)], records)
    assert extended == [["child_away", "child_home", "child_unknown_address", "parent"]]


def test_stated_household_and_records_of_one_person_group_together() -> None:
    """Records sharing a stated household group link, and a person's records never split."""
    records = [
        _place("r1", person="P1", household="cs:G1"),
        _place("r2", person="P2", household="cs:G1"),
        _place("r3", person="P2"),
        _place("r4", person="P3"),
    ]
    assert _families([StatedHouseholdRule(kind="stated_household")], records) == [["P1", "P2"], ["P3"]]


def test_a_place_a_newer_record_shows_the_person_left_no_longer_groups_them() -> None:
    """Dad's old electoral roll entry stays at the family home after council tax shows him at his new flat
    (a later extract): he is grouped at the flat, his parent link kept. Places first seen in the same
    extract (nothing says which is current) all still count."""
    from engine.integrate.families import _PersonDates, _without_superseded_places

    home = dict(address="1 ELM ROAD", postcode="HW1 1AA", uprn=11)
    flat = dict(address="FLAT 2 9 OAK COURT", postcode="HW1 2BB", uprn=22)
    records = [
        _place("roll:1", "dad", household="roll:P1", **home),
        _place("ctax:1", "dad", **flat),
        _place("roll:2", "mum", household="roll:P1", **home),
        _place("hv:2", "mum", address="1 ELM RD", postcode="HW1 1AA"),  # newer, same home spelt otherwise
        _place("school:1", "kid", parents=("roll:1",), **home),
        _place("dwp:1", "aunt", household="dwp:G1", **home),
        _place("roll:3", "aunt", **flat),
    ]
    dates = {"dad": _PersonDates([date(2024, 1, 31), date(2024, 3, 31)]),
             "mum": _PersonDates([date(2024, 1, 31), date(2024, 3, 31)]),
             "kid": _PersonDates([date(2024, 1, 31)]), "aunt": _PersonDates([date(2024, 1, 31), date(2024, 1, 31)])}
    kept = {r.record_key: r for r in _without_superseded_places(records, dates)}
    assert (kept["roll:1"].address, kept["roll:1"].uprn, kept["roll:1"].household_ref) == (None, None, None)
    assert kept["ctax:1"] == records[1] and kept["roll:2"] == records[2] and kept["dwp:1"] == records[5]
    layer_rules = [AddressRule(kind="address"), StatedHouseholdRule(kind="stated_household")]
    assert _families(layer_rules, list(kept.values())) == [["aunt", "dad", "kid", "mum"]]  # aunt: both places
    without_aunt = [r for r in kept.values() if r.person_id != "aunt"]
    assert _families(layer_rules, without_aunt) == [["dad"], ["kid", "mum"]]
    assert kept["school:1"].parent_record_keys == ("roll:1",)


def test_a_household_that_moved_together_keeps_a_child_whose_record_lags() -> None:
    """Both parents show at the flat from a later extract; the toddler's health visitor record still has the
    old home: as many left that home as still show there, so it still links the toddler to them."""
    from engine.integrate.families import _PersonDates, _without_superseded_places

    home = dict(address="70 CASTLE ROAD", postcode="HW1 0EF")
    flat = dict(address="1 ASH ROAD", postcode="HW1 0AN", uprn=134)
    records = [_place("roll:1", "mum", **home), _place("ctax:1", "mum", **flat),
               _place("roll:2", "dad", **home), _place("ctax:2", "dad", **flat),
               _place("hv:3", "toddler", parents=("roll:1",), **home)]
    earlier, later = date(2024, 1, 31), date(2024, 3, 31)
    dates = {"mum": _PersonDates([earlier, later]), "dad": _PersonDates([earlier, later]),
             "toddler": _PersonDates([earlier])}
    kept = _without_superseded_places(records, dates)
    assert kept == records
    assert _families([AddressRule(kind="address")], kept) == [["dad", "mum", "toddler"]]


def test_grouping_config_errors_point_at_the_yaml(tmp_path) -> None:
    """An unknown rule kind or key is reported with file:line:col."""
    bad = tmp_path / "families.yaml"
    bad.write_text("layers:\n  - name: household\n    rules:\n      - {kind: adress}\n      - {kind: address, fuzzy: 3}\n")
    with pytest.raises(ConfigError) as info:
        load_grouping(bad)
    message = str(info.value)
    assert f"{bad}:4:" in message and "adress" in message
    assert f"{bad}:5:" in message and "unknown key 'fuzzy'" in message


def test_build_needs_loaded_data(engine) -> None:
    """Building families before any ingest says what to run first."""
    with pytest.raises(DataError, match="hearth ingest"):
        build_families(engine, RULES)


def _open_members(engine, layer="household"):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(family_memberships.c.family_id, family_memberships.c.person_id)
                            .where(family_memberships.c.layer == layer, family_memberships.c.ended_build.is_(None)))
        grouped: dict[str, set[str]] = {}
        for family_id, person in rows:
            grouped.setdefault(family_id, set()).add(person)
        return grouped


def test_demo_households(engine, loaded) -> None:
    """January's records form the expected households (one person per record before matching)."""
    loaded((JAN,))
    report = build_families(engine, RULES, now=JAN_BUILT)
    assert "one person per record" in report.persons
    families = {frozenset(m) for m in _open_members(engine).values()}
    assert frozenset({"housing:H001", "school_census:P1001", "school_census:P1002"}) in families
    assert frozenset({"housing:H002", "school_census:P1003"}) in families
    # fuzzy address (CEDER/CEDAR COURT) plus the stated parent
    assert frozenset({"housing:H003", "school_census:P1004"}) in families
    assert frozenset({"social_care:CS-501", "social_care:CS-502", "social_care:CS-503"}) in families


def test_rebuild_without_changes_keeps_every_id(engine, loaded) -> None:
    """Running the build twice on the same data changes no family id and no membership."""
    loaded((JAN,))
    build_families(engine, RULES, now=JAN_BUILT)
    before = _open_members(engine)
    report = build_families(engine, RULES, now=JAN_BUILT)
    assert _open_members(engine) == before
    assert all(s.created == s.merged == s.split == s.dissolved == s.members_moved == 0 for s in report.layers.values())


def test_new_extract_keeps_ids_and_dates_moves(engine, loaded) -> None:
    """February: families keep ids; Noah joins from his first extract; Yusuf's move splits the Khans."""
    loaded((JAN,))
    build_families(engine, RULES, now=JAN_BUILT)
    before = _open_members(engine)
    thompsons = next(f for f, m in before.items() if "housing:H001" in m)
    khans = next(f for f, m in before.items() if "housing:H002" in m)
    loaded((FEB,))
    report = build_families(engine, RULES, now=FEB_BUILT)
    after = _open_members(engine)
    assert after[thompsons] == before[thompsons] | {"school_census:P1007"}
    assert after[khans] == {"housing:H002"}
    assert report.layers["household"].split == 1 and report.layers["household"].members_moved == 1
    with engine.connect() as conn:
        yusuf = conn.execute(sa.select(family_memberships.c.family_id, family_memberships.c.from_date,
                                       family_memberships.c.to_date)
                             .where(family_memberships.c.person_id == "school_census:P1003",
                                    family_memberships.c.layer == "household")
                             .order_by(family_memberships.c.from_date)).all()
        split = conn.execute(sa.select(family_events.c.family_id, family_events.c.related_family_ids)
                             .where(family_events.c.event == "split")).all()
    assert yusuf[0] == (khans, date(2024, 1, 31), date(2024, 2, 29))
    assert yusuf[1][1:] == (date(2024, 2, 29), None) and yusuf[1][0] != khans
    assert split == [(khans, [yusuf[1][0]])]
    # the extended family layer keeps Yusuf with his father across addresses
    extended = _open_members(engine, "extended_family")
    assert any({"housing:H002", "school_census:P1003"} <= m for m in extended.values())


def test_describe_family_shows_members_records_and_events(engine, loaded) -> None:
    """`families show` data: memberships with dates, the member's standardised records, events."""
    loaded((JAN,))
    build_families(engine, RULES, now=JAN_BUILT)
    family_id = next(f for f, m in _open_members(engine).items() if "housing:H001" in m)
    view = describe_family(engine, family_id)
    assert {p for p, _, _ in view.memberships} == {"housing:H001", "school_census:P1001", "school_census:P1002"}
    assert view.records["housing:H001"][0]["given_name"] == "SARAH"
    assert [e["event"] for e in view.events] == ["created"]
    with pytest.raises(NotFoundError, match="F999999"):
        describe_family(engine, "F999999")


def test_families_group_matched_persons_and_merge_after_review(engine, loaded) -> None:
    """With the real matcher: families hold matched persons; a reviewer's confirm merges two households.

    Before review, Sarah's housing record (as "Sally") and her social care record are separate persons,
    so her tenancy household and her social care family group are two families. Confirming the pair and
    re-running keeps the larger family's id and records the merge.
    """
    from engine.integrate.persons import run_matcher
    from engine.matching import store

    loaded((JAN,))
    assert "matching run" in run_matcher(engine)
    report = build_families(engine, RULES)
    assert report.persons == "persons: from the matcher"
    families = _open_members(engine)
    with engine.connect() as conn:
        person_of = store.current_assignments(conn)
    assert set().union(*families.values()) == set(person_of.values())  # members are matched persons
    tenancy = next(f for f, m in families.items() if person_of["housing:H001"] in m)
    care_group = next(f for f, m in families.items() if person_of["social_care:CS-501"] in m)
    assert tenancy != care_group or person_of["housing:H001"] == person_of["social_care:CS-501"]

    with engine.begin() as conn:
        store.record_decision(conn, "housing:H001", "social_care:CS-501", "confirm", "reviewer@council", "same DOB, NI")
    run_matcher(engine)
    report = build_families(engine, RULES)
    after = _open_members(engine)
    with engine.connect() as conn:
        person_of = store.current_assignments(conn)
        merged = conn.execute(sa.select(family_events.c.family_id, family_events.c.related_family_ids)
                              .where(family_events.c.event == "merged", family_events.c.layer == "household")).all()
    sarah = person_of["housing:H001"]
    assert sarah == person_of["social_care:CS-501"]
    (thompsons,) = [f for f, m in after.items() if sarah in m]
    # her tenancy (shared UPRN with Liam's school record) and her care group (with Liam's care record)
    assert {sarah, person_of["school_census:P1001"], person_of["social_care:CS-502"]} <= after[thompsons]
    if tenancy != care_group:
        assert thompsons in {tenancy, care_group} and report.layers["household"].merged == 1
        assert merged == [(thompsons, sorted({tenancy, care_group} - {thompsons}))]
    # the snapshot sees both of Sarah's records and so her social care episode, once
    from engine.integrate.snapshot import load_families

    (family,) = load_families(engine, date(2024, 2, 1), family_ids=[thompsons])
    (member,) = [m for m in family.members if m.person_id == sarah]
    assert set(member.attributes["record_keys"]) == {"housing:H001", "social_care:CS-501"}
    assert [f.fact_id for f in family.facts if f.person_id == sarah].count("social_care:social_care_episode:E1") == 1


def test_first_matching_run_keeps_family_ids(engine, loaded) -> None:
    """Going from one-person-per-record to matched persons keeps family ids (overlap counts records)."""
    from engine.integrate.persons import run_matcher
    from engine.integrate.snapshot import load_families
    from engine.matching import store

    loaded((JAN,))
    build_families(engine, RULES)
    before = _open_members(engine)
    tenancy = next(f for f, m in before.items() if "housing:H001" in m)
    run_matcher(engine)
    build_families(engine, RULES)
    with engine.connect() as conn:
        person_of = store.current_assignments(conn)
    after = _open_members(engine)
    assert person_of["housing:H001"] in after[tenancy]
    snapshot = load_families(engine, date(2024, 2, 1))
    keys = [k for family in snapshot for m in family.members for k in m.attributes["record_keys"]]
    assert len(keys) == len(set(keys)) == len(person_of)  # every record once, no superseded duplicates
    assert {m.person_id for family in snapshot for m in family.members} == set(person_of.values())
