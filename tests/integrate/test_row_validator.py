"""The cached fast path of row validation agrees with full JSON Schema validation."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.integrate.rowmap import RowValidator

SIMPLE = {
    "type": "object",
    "required": ["id", "kind"],
    "properties": {
        "id": {"type": "string", "pattern": "^P\\d{2}$"},
        "kind": {"enum": ["a", "b"]},
        "count": {"type": "string", "pattern": "^\\d+$"},
        "flag": {"type": "integer"},
    },
}

values = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 0.5]),
                   st.sampled_from(["P01", "P1", "a", "b", "c", "12", "x1", ""]))
rows = st.dictionaries(st.sampled_from(["id", "kind", "count", "flag", "other"]), values, max_size=5)


SHARED = RowValidator(SIMPLE)
CLOSED = {**SIMPLE, "additionalProperties": False}
SHARED_CLOSED = RowValidator(CLOSED)


def test_simple_schema_takes_the_fast_path() -> None:
    """An object schema with required and independent properties qualifies for caching, closed or not."""
    assert SHARED.simple and SHARED_CLOSED.simple


@settings(max_examples=400, deadline=None)
@given(rows)
def test_fast_path_agrees_with_full_validation_when_closed(row) -> None:
    """With additionalProperties false, a row with an undeclared column is invalid on the fast path too."""
    expected = jsonschema.Draft202012Validator(CLOSED).is_valid(row)
    for _ in range(2):
        assert (SHARED_CLOSED.error(row) is None) == expected


@settings(max_examples=400, deadline=None)
@given(rows)
def test_fast_path_agrees_with_full_validation(row) -> None:
    """Valid exactly when the full validator says so, whatever the row, repeated or not."""
    validator = SHARED  # one validator across examples, so cached answers are reused between rows
    expected = jsonschema.Draft202012Validator(SIMPLE).is_valid(row)
    for _ in range(2):  # the second pass answers from the cache
        assert (validator.error(row) is None) == expected


@pytest.mark.parametrize("extra", [{"additionalProperties": {"type": "string"}}, {"minProperties": 3},
                                   {"properties": {"id": {"$ref": "#/$defs/id"}}, "$defs": {"id": {"type": "string"}}}])
def test_other_schema_shapes_use_the_full_validator(extra) -> None:
    """Schemas with cross-property keywords or references are always validated in full."""
    schema = {**SIMPLE, **extra}
    validator = RowValidator(schema)
    assert not validator.simple
    row = {"id": "P01", "kind": "a", "surplus": 1}
    assert (validator.error(row) is None) == jsonschema.Draft202012Validator(schema).is_valid(row)


def test_cache_tells_true_from_one() -> None:
    """1 is an integer and True is not, although they are equal (and hash alike) in Python."""
    validator = RowValidator(SIMPLE)
    assert validator.error({"id": "P01", "kind": "a", "flag": 1}) is None
    assert validator.error({"id": "P01", "kind": "a", "flag": True}) is not None


TYPE_ONLY = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": ["string", "null"], "description": "answered per Python type"},
        "count": {"type": "integer"},
        "amount": {"type": ["number", "null"]},
        "flag": {"type": "boolean"},
        "code": {"type": "string", "minLength": 2},
    },
}
SHARED_TYPE_ONLY = RowValidator(TYPE_ONLY)
typed_values = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 0.5, 2.0]),
                         st.text(max_size=3))
typed_rows = st.dictionaries(st.sampled_from(["name", "count", "amount", "flag", "code", "other"]), typed_values,
                             max_size=6)


@settings(max_examples=400, deadline=None)
@given(typed_rows)
def test_type_only_properties_agree_with_full_validation(row) -> None:
    """Type-only subschemas are answered per Python type for strings, nulls and booleans; numbers by value
    (1.0 is an integer in JSON Schema, 0.5 is not), so the verdict never differs from the full validator."""
    expected = jsonschema.Draft202012Validator(TYPE_ONLY).is_valid(row)
    for _ in range(2):
        assert (SHARED_TYPE_ONLY.error(row) is None) == expected
