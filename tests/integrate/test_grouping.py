"""The address rule links exactly the persons a pairwise comparison of every two records would link."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from engine.integrate.grouping import AddressRule, Layer, RecordPlace, group_persons, house_numbers

ADDRESSES = ["1 CEDAR COURT", "1 CEDAR CT", "FLAT 2 9 CEDAR COURT", "FLAT 3 9 CEDAR COURT", "9 CEDAR COURT FLAT 2",
             "12 HIGH STREET", "12 HIGH STREE", "14 HIGH STREET", "THE OLD MILL", "OLD MILL THE"]

records = st.lists(st.builds(
    lambda i, person, address, postcode, uprn: RecordPlace(f"feed:{i}", person, address, postcode, uprn, None, ()),
    st.integers(0, 10**6), st.sampled_from([f"P{n}" for n in range(14)]), st.sampled_from(ADDRESSES),
    st.sampled_from(["AB1 2CD", "AB1 2CE"]), st.one_of(st.none(), st.sampled_from([100, 101, 102])),
), max_size=40, unique_by=lambda r: r.record_key)


def pairwise_components(rule: AddressRule, recs: list[RecordPlace]) -> set[frozenset[str]]:
    """The rule's definition applied to every pair of records (quadratic; the reference)."""
    parent = {r.person_id: r.person_id for r in recs}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    people_at: dict[tuple, set[str]] = {}
    for r in recs:
        people_at.setdefault((r.postcode, r.address), set()).add(r.person_id)
    crowded = {k for k, people in people_at.items() if len(people) > rule.max_people_per_place}
    people_of_uprn: dict[int, set[str]] = {}
    for r in recs:
        if r.uprn is not None:
            people_of_uprn.setdefault(r.uprn, set()).add(r.person_id)
    for people in people_of_uprn.values():
        if len(people) <= rule.max_people_per_place:
            first, *rest = sorted(people)
            for other in rest:
                union(first, other)
    for a, b in itertools.combinations(recs, 2):
        if a.postcode != b.postcode or (a.postcode, a.address) in crowded or (b.postcode, b.address) in crowded:
            continue
        if a.uprn is not None and b.uprn is not None:
            continue
        if house_numbers(a.address) == house_numbers(b.address) and \
                fuzz.token_sort_ratio(a.address, b.address) >= rule.fuzzy_threshold:
            union(a.person_id, b.person_id)
    groups: dict[str, set[str]] = {}
    for person in parent:
        groups.setdefault(find(person), set()).add(person)
    return {frozenset(g) for g in groups.values()}


@settings(max_examples=300, deadline=None)
@given(records, st.sampled_from([3, 12]))
def test_address_rule_matches_the_pairwise_definition(recs, max_people) -> None:
    """Collapsing records to (address, person, has UPRN) entries and comparing addresses only within the same
    house numbers changes no family: the components equal those of comparing every pair of records."""
    rule = AddressRule(kind="address", max_people_per_place=max_people)
    layer = Layer(name="household", rules=(rule,))
    assert set(group_persons(layer, recs)) == pairwise_components(rule, recs)


def test_different_flats_in_one_building_stay_apart() -> None:
    """Flat 2 and flat 3 of number 9 read alike but are two homes; the same flat written twice is one."""
    recs = [RecordPlace("a:1", "P1", "FLAT 2 9 CEDAR COURT", "AB1 2CD", None, None, ()),
            RecordPlace("b:1", "P2", "FLAT 3 9 CEDAR COURT", "AB1 2CD", None, None, ()),
            RecordPlace("c:1", "P3", "FLAT 2 9 CEDAR COURTS", "AB1 2CD", None, None, ())]
    layer = Layer(name="household", rules=(AddressRule(kind="address"),))
    assert set(group_persons(layer, recs)) == {frozenset({"P1", "P3"}), frozenset({"P2"})}
