"""Facts held as columns (``engine.columns.table``): families whose facts are a table's views are decided,
recorded and stored exactly as the same families holding Fact objects, and the columns read the table."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dsl.api import load_framework
from engine.columns.table import ABSENT, NO_END, FactTable, TableFacts, TableRecords
from engine.decisions.evaluate import _evaluate_loaded, seeded_evaluations
from engine.rules.evaluator import compile_framework
from engine.rules.inputs import Member
from tests.rules.test_columns import FRAMEWORKS, _crafted, bench

_FACT_ATTRIBUTES = ("fact_id", "fact_type", "person_id", "family_id", "source", "source_record_id", "batch_id")


@pytest.fixture(scope="module")
def families():
    # (the crafted families hold a record missing a field, one delivered twice, a record of the family's
    # own and one of a member who has left)
    return bench.synthetic_families(120, seed=11) + _crafted()


def test_a_family_view_holds_its_facts_made_once(families):
    table, viewed = FactTable.of_families(families)
    assert table.types["attendance"].gappy  # (a record missing a field: absent, not None)
    for family, view in zip(families, viewed):
        assert isinstance(view.facts, TableFacts) and len(view.facts) == len(family.facts)
        assert sorted(view.facts, key=repr) == sorted(family.facts, key=repr)
        assert all(a is b for a, b in zip(view.facts, view.facts))  # each record is made once


def test_a_table_gives_the_contents_of_its_records_without_making_them(families):
    table, _ = FactTable.of_families(families)
    ended = 0
    for rows in table.types.values():
        positions = list(range(len(rows)))
        contents = table.contents(rows, positions)
        assert rows.made.tolist().count(None) == len(rows)  # nothing was made to give them
        facts = [table.fact(rows, r) for r in positions]
        for name in _FACT_ATTRIBUTES:
            assert contents[name] == [getattr(f, name) for f in facts], (rows.name, name)
        assert [date.fromordinal(d) for d in contents["day"]] == [f.date for f in facts]
        ends = [None if d == NO_END else date.fromordinal(d) for d in contents["end_day"]]
        assert ends == [f.end_date for f in facts]
        ended += sum(f.end_date is not None for f in facts)
        fields = contents["fields"]
        assert [{k: column[i] for k, column in fields.items() if column[i] is not ABSENT} for i in positions] == \
            [f.fields for f in facts]
        assert contents["gappy"] == {k for k, column in fields.items() if any(v is ABSENT for v in column)}
    assert ended  # (records with an end date and records without were given)


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
@pytest.mark.parametrize("as_of", [date(2023, 9, 1), date(2023, 3, 15), date(2022, 11, 20)])
def test_families_read_from_a_table_are_recorded_and_stored_as_with_fact_objects(name, as_of, families):
    compiled = compile_framework(load_framework(FRAMEWORKS[name]))
    table, viewed = FactTable.of_families(families)
    seeded = seeded_evaluations(compiled, viewed, as_of)
    assert seeded[0].seeds[0].records.table is table  # (the columns read the table, not Fact objects)
    assert any(isinstance(c.facts, TableRecords) for c in seeded[0].seeds[0].fact_columns.values())
    for stored in (True, False):
        ours = _evaluate_loaded(compiled, viewed, as_of, {}, False, stored=stored)
        theirs = _evaluate_loaded(compiled, families, as_of, {}, False, stored=stored)
        assert ours == theirs  # (a stored batch's bytes too: its key is in each family's pointer)
    # members listed the other way round: the same again
    turned = [replace(f, members=f.members[::-1]) for f in viewed]
    assert _evaluate_loaded(compiled, turned, as_of, {}, False, stored=True) == \
        _evaluate_loaded(compiled, [replace(f, members=f.members[::-1]) for f in families], as_of, {}, False,
                         stored=True)


def test_a_person_in_two_of_a_batch_families_is_read_as_fact_objects_are(families):
    compiled = compile_framework(load_framework(FRAMEWORKS["phase3"]))
    # the first family's first member is also listed in the second family (with no records of theirs there)
    first, second = families[0], families[1]
    shared = first.members[0]
    twice = [first, replace(second, members=(*second.members, Member(shared.person_id, shared.date_of_birth,
                                                                      shared.sex))), *families[2:]]
    table, viewed = FactTable.of_families(twice)
    seeded = seeded_evaluations(compiled, viewed, date(2023, 9, 1))
    assert seeded[0].seeds[0].records.table is None  # (taken the objects' way)
    assert _evaluate_loaded(compiled, viewed, date(2023, 9, 1), {}, False, stored=True) == \
        _evaluate_loaded(compiled, twice, date(2023, 9, 1), {}, False, stored=True)


def test_a_record_of_a_member_of_another_family_of_the_batch_is_not_read(families):
    compiled = compile_framework(load_framework(FRAMEWORKS["phase3"]))
    # the second family holds records of the first family's members (who are not its members)
    first, second = families[0], families[1]
    strays = tuple(replace(f, fact_id=f"{f.fact_id}-stray") for f in first.facts if f.person_id is not None)
    assert strays
    given = [first, replace(second, facts=(*second.facts, *strays)), *families[2:]]
    table, viewed = FactTable.of_families(given)
    assert seeded_evaluations(compiled, viewed, date(2023, 9, 1))[0].seeds[0].records.table is table
    ours = _evaluate_loaded(compiled, viewed, date(2023, 9, 1), {}, False, stored=True)
    assert ours == _evaluate_loaded(compiled, given, date(2023, 9, 1), {}, False, stored=True)
    assert ours == _evaluate_loaded(compiled, families, date(2023, 9, 1), {}, False, stored=True)
