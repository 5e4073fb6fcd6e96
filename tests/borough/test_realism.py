"""The borough looks like a borough: household shapes, clustered needs, improvements, and messy feeds."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime

import yaml

from borough.generator import identifiers as ids
from borough.generator.name_pools import TRANSLITERATIONS

from .conftest import feed_rows, read_csv


def test_household_shapes_present(borough):
    """Every household shape the brief lists is generated."""
    shapes = Counter(h["shape"] for h in read_csv(borough / "truth" / "households.csv"))
    for shape in ("single_adult", "couple_no_children", "older_couple", "couple_with_children", "lone_parent",
                  "multigenerational", "shared_house"):
        assert shapes[shape] > 0, shape


def _families_with_children(borough) -> set[str]:
    persons = {p["person_id"]: p for p in read_csv(borough / "truth" / "persons.csv")}
    families = set()
    for membership in read_csv(borough / "truth" / "memberships.csv"):
        born = date.fromisoformat(persons[membership["person_id"]]["date_of_birth"])
        if born > date(2006, 9, 1):
            families.add(membership["household_id"])
    return families


def test_share_of_families_with_three_or_more_needs(borough):
    """About 9% of families with children (4-15% in a small borough) have needs in three or more domains."""
    families = _families_with_children(borough)
    domains = defaultdict(set)
    for need in read_csv(borough / "truth" / "needs.csv"):
        domains[need["household_id"]].add(need["domain"])
    heavy = sum(1 for family in families if len(domains[family]) >= 3)
    assert 0.04 <= heavy / len(families) <= 0.15


def test_needs_cluster_with_disadvantage_and_some_resolve(borough):
    """Families with needs have higher latent disadvantage; a real share of needs resolve (improvement)."""
    scores = {h["household_id"]: float(h["disadvantage"]) for h in read_csv(borough / "truth" / "households.csv")}
    needs = read_csv(borough / "truth" / "needs.csv")
    with_needs = {n["household_id"] for n in needs}
    mean_with = sum(scores[h] for h in with_needs) / len(with_needs)
    mean_all = sum(scores.values()) / len(scores)
    assert mean_with > mean_all + 0.5
    resolved = sum(1 for n in needs if n["resolved"]) / len(needs)
    assert 0.2 <= resolved <= 0.7


def test_attendance_recovers_after_an_education_need_resolves(borough):
    """Children whose education need resolved attend better after it than during it."""
    needs = [n for n in read_csv(borough / "truth" / "needs.csv") if n["domain"] == "education" and n["resolved"]]
    facts = [f for f in read_csv(borough / "truth" / "facts.csv") if f["fact_type"] == "attendance"]
    by_person = defaultdict(list)
    for fact in facts:
        fields = json.loads(fact["fields"])
        by_person[fact["person_id"]].append((fact["date"], fields["attended_sessions"] / fields["possible_sessions"]))
    during, after = [], []
    for need in needs:
        for term_end, rate in by_person[need["person_id"]]:
            if need["onset"] <= term_end <= need["resolved"]:
                during.append(rate)
            elif term_end > need["resolved"]:
                after.append(rate)
    assert during and after
    assert sum(after) / len(after) > sum(during) / len(during) + 0.05


def test_families_turn_around_as_a_whole(borough):
    """In most families with several needs where one resolves, every need resolves, within a few months of
    each other, so a whole family can reach every outcome (what a claim needs)."""
    by_family = defaultdict(list)
    for need in read_csv(borough / "truth" / "needs.csv"):
        by_family[need["household_id"]].append(need)
    several = [needs for needs in by_family.values() if len({n["domain"] for n in needs}) >= 2]
    improving = [needs for needs in several if any(n["resolved"] for n in needs)]
    whole = [needs for needs in improving if all(n["resolved"] for n in needs)]
    assert len(whole) >= 0.6 * len(improving) > 0
    spreads = []
    for needs in whole:
        days = [date.fromisoformat(n["resolved"]) for n in needs]
        spreads.append((max(days) - min(days)).days)
    assert sorted(spreads)[len(spreads) // 2] <= 120


def test_clear_rent_statements_continue_after_arrears_resolve(borough):
    """A tenant whose housing need resolved keeps getting statements, below the £500 arrears threshold, so
    the tenancy can be seen to be sustained."""
    resolved = {n["person_id"]: n["resolved"] for n in read_csv(borough / "truth" / "needs.csv")
                if n["domain"] == "housing" and n["resolved"]}
    after = defaultdict(list)
    for fact in read_csv(borough / "truth" / "facts.csv"):
        if fact["fact_type"] == "rent_account" and fact["person_id"] in resolved \
                and fact["date"] > resolved[fact["person_id"]]:
            after[fact["person_id"]].append(json.loads(fact["fields"]))
    assert after
    for statements in after.values():
        assert all(s["arrears"] < 500 and not s["notice_served"] for s in statements)


def _declared(borough) -> dict[str, dict]:
    document = yaml.safe_load((borough / "feeds.yaml").read_text())
    return {feed["name"]: feed for feed in document["feeds"]}


def test_feeds_use_several_date_formats_that_parse(borough):
    """Feeds use at least four date formats; almost every value parses with the format its feed declares."""
    formats = set()
    for name, feed in _declared(borough).items():
        for fact in feed["facts"]:
            for field in fact["fields"].values():
                if not isinstance(field, dict):
                    continue
                formats.add(field["format"])
                values = [r[field["column"]] for r in feed_rows(borough, feed["source"]["path"].split("/")[-1])]
                values = [v for v in values if v]
                bad = 0
                for value in values:
                    try:
                        datetime.strptime(value, field["format"])
                    except ValueError:
                        bad += 1
                assert bad <= max(2, len(values) * 0.02), (name, field)
    assert {"%d/%m/%Y", "%Y-%m-%d", "%Y%m%d", "%d-%b-%Y"} <= formats


def test_quirks_present(borough):
    """SURNAME, Forename names, people registered twice, repeated rows, blank ids and broken rows all occur."""
    crime = feed_rows(borough, "police_crime.csv")
    assert all(re.fullmatch(r"[A-Z' -]+, \S.*", r["nominal_name"]) for r in crime)
    records = read_csv(borough / "truth" / "records.csv")
    per_feed_person = Counter((r["feed"], r["person_id"]) for r in records if r["feed"] != "electoral_roll")
    assert any(count > 1 for count in per_feed_person.values())
    defects = Counter(d["defect"] for d in read_csv(borough / "truth" / "defects.csv"))
    assert defects["duplicate_row"] > 0 and defects["bad_date"] > 0
    abuse = feed_rows(borough, "domestic_abuse.csv")
    assert any(not r["nhs_no"] for r in abuse) and any(r["nhs_no"] for r in abuse)
    dwp = feed_rows(borough, "dwp_benefits.csv")
    assert all(r["surname"] == r["surname"].upper() for r in dwp)


def test_broken_nhs_numbers_are_exactly_the_recorded_defects(borough):
    """Every NHS number in every feed is valid unless truth/defects.csv lists that row as broken."""
    declared = _declared(borough)
    broken = {(d["feed"], d["record_id"], d["detail"]) for d in read_csv(borough / "truth" / "defects.csv")
              if d["defect"] == "bad_nhs_check_digit"}
    checked = 0
    for name, feed in declared.items():
        column = feed["identity"].get("nhs_number")
        if not column:
            continue
        for row in feed_rows(borough, feed["source"]["path"].split("/")[-1]):
            value = row[column]
            if value and not ids.is_valid_nhs_number(value):
                assert (name, row[feed["record_id"]], value) in broken
            checked += bool(value)
    assert checked > 500


def test_records_use_other_spellings_of_the_same_name(borough):
    """Some feed records hold a transliteration variant (e.g. Muhammad for Mohammed) of the true name."""
    persons = {p["person_id"]: p for p in read_csv(borough / "truth" / "persons.csv")}
    records = {(r["feed"], r["record_id"]): r["person_id"] for r in read_csv(borough / "truth" / "records.csv")}
    variants = 0
    for name, feed in _declared(borough).items():
        column = feed["identity"].get("given_name")
        if not column:
            continue
        for row in feed_rows(borough, feed["source"]["path"].split("/")[-1]):
            true_given = persons[records[(name, row[feed["record_id"]])]]["given_name"]
            variants += (row[column] or "").title() in TRANSLITERATIONS.get(true_given, ())
    assert variants > 0


def test_defects_point_at_their_rows(borough):
    """Each planted defect names the file and row (as ingest numbers rows) that carries it."""
    from .conftest import read_feed_file

    defects = read_csv(borough / "truth" / "defects.csv")
    assert defects
    files: dict[str, list] = {}
    for defect in defects:
        rows = files.setdefault(defect["file"], read_feed_file(borough / defect["file"]))
        header = 0 if defect["file"].endswith(".jsonl") else 1
        row = rows[int(defect["row"]) - 1 - header]
        assert defect["record_id"] in row.values()
        if defect["defect"] == "bad_date":
            column, value = defect["detail"].split("=", 1)
            assert row[column] == value
        if defect["defect"] == "duplicate_row":
            assert rows[int(defect["row"]) - 2 - header] == row


def test_married_names_and_maiden_names_both_appear(borough):
    """Women who marry during the window appear under both surnames across the feeds."""
    persons = {p["person_id"]: p for p in read_csv(borough / "truth" / "persons.csv")}
    changed = {pid for pid, p in persons.items() if p["name_change_date"]}
    assert changed
    records = {(r["feed"], r["record_id"]): r["person_id"] for r in read_csv(borough / "truth" / "records.csv")}
    seen = defaultdict(set)
    for name, feed in _declared(borough).items():
        column = feed["identity"].get("family_name")
        if not column:
            continue
        for row in feed_rows(borough, feed["source"]["path"].split("/")[-1]):
            person = records[(name, row[feed["record_id"]])]
            if person in changed:
                seen[person].add((row[column] or "").lower())
    both = [p for p in changed
            if persons[p]["birth_family_name"].lower() in seen[p] and persons[p]["family_name"].lower() in seen[p]]
    assert both
