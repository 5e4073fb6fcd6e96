"""A fact's values are made JSON by ``jsonable``'s plain-dict path, which gives what its general mapping path
gives: the same data, keys in the same order, so the same record bytes.

The general path is taken by any mapping that is not exactly a ``dict`` (a read-only view of the same
values here), so each case is encoded both ways and compared, as data and as canonical JSON."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.decisions.compact import canonical_bytes
from engine.rules import ir
from engine.rules.results import Evidence, jsonable

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.dates(), st.datetimes(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000),
    st.builds(ir.Duration, amount=st.integers(0, 36), unit=st.sampled_from(["days", "weeks", "months"])),
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.frozensets(st.integers(0, 9), max_size=3),
    st.dictionaries(st.text(max_size=4), inner, max_size=3)), max_leaves=8)
#: keys a feed gives (text) and ones it might (numbers, a text subclass), which are written as text
_KEYS = st.one_of(st.text(max_size=6), st.integers(0, 99), st.builds(type("Code", (str,), {}), st.text(max_size=3)))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_a_plain_dict_of_values_is_made_json_as_any_mapping_is(values: dict) -> None:
    fast, general = jsonable(values), jsonable(MappingProxyType(values))
    assert fast == general
    assert list(fast) == list(general)  # same key order, so the data is the same object for object
    assert canonical_bytes(fast) == canonical_bytes(general)


def test_values_needing_conversion_are_converted_on_the_plain_dict_path() -> None:
    values = {"visit": date(2023, 4, 1), "at": datetime(2023, 4, 1, 9, 30), "owed": Decimal("12.50"),
              "window": ir.Duration(amount=6, unit="months"), "codes": {"b", "a"}, 7: "seven", "n": None}
    assert jsonable(values) == {"visit": "2023-04-01", "at": "2023-04-01T09:30:00", "owed": 12.5,
                                "window": str(ir.Duration(amount=6, unit="months")), "codes": ["a", "b"],
                                "7": "seven", "n": None}
    # a dict subclass is not a plain dict: it takes the general path, with the same answer
    assert jsonable(OrderedDict(values)) == jsonable(values)


def test_a_fact_is_written_with_its_values_as_json() -> None:
    fact = Evidence("1", "school_attendance", "P1", date(2023, 1, 5), "education", "EDU-1", "b1",
                    {"term_start": date(2022, 9, 1), "sessions": 120, "attended": 90.5, "excluded": False})
    assert canonical_bytes(fact.to_dict()) == (
        b'{"batch_id":"b1","date":"2023-01-05","end_date":null,"fact_id":"1","fact_type":"school_attendance",'
        b'"person_id":"P1","source":"education","source_record_id":"EDU-1","values":{"attended":90.5,'
        b'"excluded":false,"sessions":120,"term_start":"2022-09-01"}}')
