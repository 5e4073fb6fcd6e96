"""Ground truth is complete and consistent with the feeds it describes."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date

from borough.generator.feed_specs import FEEDS

from .conftest import feed_rows, read_csv


def test_every_source_record_maps_to_a_true_person(borough):
    """Each record id in every feed file appears in truth/records.csv, and each truth record is used."""
    records = read_csv(borough / "truth" / "records.csv")
    persons = {p["person_id"] for p in read_csv(borough / "truth" / "persons.csv")}
    truth_keys = {r["record_key"] for r in records}
    assert all(r["person_id"] in persons for r in records)
    assert all(r["record_key"] == f"{r['feed']}:{r['record_id']}" for r in records)
    seen, feeds_with_rows = set(), 0
    for spec in FEEDS:
        rows = feed_rows(borough, spec.file_name)
        feeds_with_rows += bool(rows)
        seen |= {f"{spec.name}:{row[spec.record_id]}" for row in rows}
    assert seen == truth_keys
    assert feeds_with_rows >= len(FEEDS) - 2   # rare feeds (exploitation panels) may be empty in a small borough


def test_memberships_cover_everyone_with_dates(borough):
    """Every person belongs to a household from a date; leavers have a closed and an open membership."""
    persons = {p["person_id"] for p in read_csv(borough / "truth" / "persons.csv")}
    memberships = read_csv(borough / "truth" / "memberships.csv")
    households = {h["household_id"] for h in read_csv(borough / "truth" / "households.csv")}
    assert {m["person_id"] for m in memberships} == persons
    assert all(m["household_id"] in households and m["from_date"] for m in memberships)
    moved = Counter(m["person_id"] for m in memberships)
    leavers = [m for m in memberships if m["to_date"]]
    assert leavers and all(moved[m["person_id"]] == 2 for m in leavers)


def test_true_facts_reference_people_households_and_extracts(borough):
    """Facts name real people and households, and say which extract first delivered them."""
    persons = {p["person_id"] for p in read_csv(borough / "truth" / "persons.csv")}
    manifest = json.loads((borough / "truth" / "manifest.json").read_text())
    facts = read_csv(borough / "truth" / "facts.csv")
    assert {f["person_id"] for f in facts} <= persons
    assert {f["known_from"] for f in facts} - {""} <= set(manifest["extracts"])
    undelivered = [f for f in facts if not f["known_from"]]
    assert all(date.fromisoformat(f["date"]) > date(2024, 9, 1) for f in undelivered)
    by_type = Counter(f["fact_type"] for f in facts)
    assert by_type == Counter({k: v for k, v in manifest["fact_counts"].items() if v})


def test_state_facts_are_updated_in_a_later_extract(borough):
    """An episode exported while open is exported again with its end date once it closes."""
    rows = feed_rows(borough, "dwp_benefits.csv") + feed_rows(borough, "employment.csv")
    versions = defaultdict(set)   # a set: rows exported twice by mistake are one version
    for row in rows:
        key = row.get("claim_id") or row.get("employment_id")
        end = row.get("award_end", row.get("employment_end"))
        versions[key].add((row["_extract"], end))
    assert all(len(v) <= 2 for v in versions.values())
    updated = [sorted(v) for v in versions.values() if len(v) == 2]
    assert updated
    assert all(first[1] == "" and second[1] != "" and first[0] < second[0] for first, second in updated)


def test_states_never_end_before_they_start(borough):
    """Every true state with an end date ends on or after its start."""
    states = [f for f in read_csv(borough / "truth" / "facts.csv") if f["end_date"]]
    assert states
    assert all(f["end_date"] >= f["date"] for f in states)


def test_records_say_from_which_extract_and_with_which_identity_they_were_known(borough):
    """first_extract is the first extract holding a row under the record id; gives_date_of_birth agrees with
    whether those rows carry a date of birth."""
    records = {r["record_key"]: r for r in read_csv(borough / "truth" / "records.csv")}
    first_seen: dict[str, str] = {}
    dob_given: dict[str, bool] = defaultdict(bool)
    for spec in FEEDS:
        dob_column = spec.identity.get("date_of_birth")
        for row in feed_rows(borough, spec.file_name):
            key = f"{spec.name}:{row[spec.record_id]}"
            first_seen[key] = min(first_seen.get(key, row["_extract"]), row["_extract"])
            dob_given[key] |= bool(dob_column and row.get(dob_column))
    assert {k: r["first_extract"] for k, r in records.items()} == first_seen
    assert {k: r["gives_date_of_birth"] == "1" for k, r in records.items()} == dob_given
    assert any(not given for given in dob_given.values())   # registers carry no dates of birth


def test_end_dates_are_known_from_the_extract_that_carried_them(borough):
    """A state's end_known_from is the first extract whose row shows its end date (empty: no extract did)."""
    spec = next(s for s in FEEDS if s.name == "employment")
    facts = [f for f in read_csv(borough / "truth" / "facts.csv") if f["fact_type"] == "employment"]
    shown: dict[str, str] = {}
    for row in feed_rows(borough, spec.file_name):
        if row["employment_end"]:
            shown[row["employment_id"]] = min(shown.get(row["employment_id"], row["_extract"]), row["_extract"])
    # fact ids number the true facts of a type in truth order
    expected = {f"{spec.id_prefix}-{i + 1:08d}": f["end_known_from"]
                for i, f in enumerate(facts) if f["end_known_from"]}
    assert expected and expected == shown
    assert any(f["end_date"] and f["known_from"] and not f["end_known_from"] for f in facts)


def test_facts_sent_only_in_broken_rows_have_no_readable_extract(borough):
    """readable_from is known_from, except for facts whose first row had a broken date: then the extract of a
    later (end date) row, or empty."""
    facts = read_csv(borough / "truth" / "facts.csv")
    bad_dates = [d for d in read_csv(borough / "truth" / "defects.csv") if d["defect"] == "bad_date"]
    broken = {(d["feed"], d["extract_date"]) for d in bad_dates}
    unreadable = [f for f in facts if f["known_from"] and f["readable_from"] != f["known_from"]]
    assert unreadable and len(unreadable) <= len(bad_dates)
    feed_of = {spec.fact_type: spec.name for spec in FEEDS if spec.fact_type}
    assert all((feed_of[f["fact_type"]], f["known_from"]) in broken for f in unreadable)
    assert all(f["readable_from"] in ("", f["end_known_from"]) for f in unreadable)
    assert all(not f["readable_from"] for f in facts if not f["known_from"])
