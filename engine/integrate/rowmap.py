"""Turn one raw row into a standardised identity row, facts and warnings, or reject it with a reason.

Policy (docs/feeds.md): a row is *rejected* (quarantined) when it breaks its JSON Schema, lacks its
record id, or has a date or fact field that cannot be read. A row whose only fault is an identifier
(bad NHS check digit, malformed UPN/NI number/UPRN, unknown sex code) or an unusual postcode is
*accepted*: the bad value is dropped (postcodes are kept) and a warning is recorded, because losing a
family's facts over a typo in an identifier would be worse than matching on fewer fields.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import jsonschema

from engine.integrate import identifiers
from engine.integrate.catalogue import FACT_TYPES, FactTypeSpec, FieldSpec
from engine.integrate.feeds import ColumnSpec, FactSpec, FeedSpec
from engine.integrate.standardise import (
    canonical_given_name,
    normalise_address,
    normalise_family_name,
    normalise_postcode,
    normalise_sex,
    parse_date,
    split_full_name,
    split_given_names,
)


class RowRejected(Exception):
    """Raised while mapping a row that must be quarantined; carries the field and a reason."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(slots=True)
class MappedFact:
    fact_id: str
    fact_type: str
    event_date: date
    end_date: date | None
    fields: dict[str, Any]

    def content_hash(self, record_key: str) -> str:
        payload = json.dumps([record_key, self.event_date.isoformat(),
                              self.end_date.isoformat() if self.end_date else None, self.fields],
                             sort_keys=True, default=str)
        return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class MappedRow:
    record_key: str
    record_id: str
    identity: dict[str, Any]
    facts: list[MappedFact] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    extract_date: date | None = None


#: cached: the same person's identifiers repeat on every row that carries one of their facts
_IDENTIFIER_CLEANERS = {
    name: lru_cache(maxsize=200_000)(clean)
    for name, clean in (
        ("nhs_number", identifiers.clean_nhs_number),
        ("upn", identifiers.clean_upn),
        ("ni_number", identifiers.clean_ni_number),
        ("uprn", identifiers.clean_uprn),
    )
}

IDENTITY_CACHE_SIZE = 100_000

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _column_name(spec: ColumnSpec | None, default: str) -> str:
    """The (first) column a value came from, for messages; the field name for constants."""
    return spec.column[0] if spec is not None and spec.column else default


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("not a number") from None


def _schema_reason(error: jsonschema.ValidationError) -> tuple[str | None, str]:
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        name = missing[0] if missing else None
        return name, f"schema: required column {name!r} is missing or empty"
    column = str(error.path[0]) if error.path else None
    where = "/".join(str(p) for p in error.path) or "row"
    return column, f"schema: {where}: {error.message}"


_SIMPLE_TOP_LEVEL = frozenset({"$schema", "$id", "$comment", "title", "description", "type", "required",
                               "properties", "additionalProperties"})


#: property subschemas whose verdict depends only on the value's JSON type (annotations aside)
_TYPE_ONLY_KEYWORDS = frozenset({"type", "title", "description", "$comment"})
#: Python types whose JSON type never depends on the value (unlike int and float: 1.0 is an "integer")
_TYPE_DECIDES = (str, type(None), bool)
_VALUE_CACHE_LIMIT = 500_000


class RowValidator:
    """JSON Schema validation of rows, with a cached fast path for the common schema shape.

    When the schema is an object schema with only ``required``, independent ``properties`` and a boolean
    ``additionalProperties`` (no ``$ref``, no cross-property keywords), a row is valid exactly when its
    required keys are present, each value is valid under its property's subschema and, when additional
    properties are closed, every key is a declared property. Those per-(property, value) answers repeat
    across millions of rows (dates, codes, counts), so they are cached; a property whose subschema only
    states a type is answered per Python type for strings, nulls and booleans (names and addresses are
    nearly all distinct, so caching them by value would only fill memory). Anything else, and every row
    that fails, goes through the full validator for the exact error.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        cls = jsonschema.validators.validator_for(schema)
        self.full = cls(schema)
        additional = schema.get("additionalProperties", True)
        self.simple = (set(schema) <= _SIMPLE_TOP_LEVEL and schema.get("type") == "object"
                       and isinstance(additional, bool) and "$ref" not in json.dumps(schema))
        self.closed = additional is False
        self.required = tuple(schema.get("required", ()))
        properties = schema.get("properties", {})
        self.properties = {name: cls(sub) for name, sub in properties.items()}
        # per property: answers by value (str values of any subschema), or by type for type-only ones
        self._by_value: dict[str, dict[str, bool]] = {name: {} for name in properties}
        self._by_type: dict[str, dict[type, bool] | None] = {
            name: {} if isinstance(sub, dict) and set(sub) <= _TYPE_ONLY_KEYWORDS else None
            for name, sub in properties.items()
        }
        self._valid: dict[tuple[str, type, Any], bool] = {}
        self._cached = 0

    def _value_ok(self, name: str, value: Any) -> bool:
        by_type = self._by_type[name]
        kind = type(value)
        if by_type is not None and kind in _TYPE_DECIDES:
            ok = by_type.get(kind)
            if ok is None:
                ok = by_type[kind] = self.properties[name].is_valid(value)
            return ok
        if kind is str:
            by_value = self._by_value[name]
            ok = by_value.get(value)
            if ok is None:
                ok = self.properties[name].is_valid(value)
                if self._cached < _VALUE_CACHE_LIMIT:
                    self._cached += 1
                    by_value[value] = ok
            return ok
        # the type is part of the key: True == 1 == 1.0 in Python, but not in JSON Schema
        key = (name, kind, value) if isinstance(value, (int, float, bool)) else None
        if key is not None and key in self._valid:
            return self._valid[key]
        ok = self.properties[name].is_valid(value)
        if key is not None and self._cached < _VALUE_CACHE_LIMIT:
            self._cached += 1
            self._valid[key] = ok
        return ok

    def _fast_ok(self, row: dict[str, Any]) -> bool:
        for name in self.required:
            if name not in row:
                return False
        properties, closed, value_ok = self.properties, self.closed, self._value_ok
        for name, value in row.items():
            if name in properties:
                if not value_ok(name, value):
                    return False
            elif closed:
                return False
        return True

    def error(self, row: dict[str, Any]) -> jsonschema.ValidationError | None:
        """The most relevant error for ``row``, or None when it is valid."""
        if self.simple and self._fast_ok(row):
            return None
        return jsonschema.exceptions.best_match(self.full.iter_errors(row))


class RowMapper:
    """Compiled once per feed: validates and maps rows with the feed's schema and declarations."""

    def __init__(self, feed: FeedSpec, schema: dict[str, Any], *, pivot_year: int | None = None) -> None:
        self.feed = feed
        self.validator = RowValidator(schema)
        self.pivot_year = pivot_year or date.today().year
        identity = feed.identity
        specs = [getattr(identity, name) for name in type(identity).model_fields if name != "extra_ids"]
        self._identity_columns = tuple(sorted(
            {c for spec in specs if spec is not None for c in spec.column}
            | set(identity.extra_ids.values()) | {rel.column for rel in feed.relationships}
        ))
        # Feeds repeat a person's identity on every row of their facts; map each distinct one once.
        self._identity_cache: dict[tuple, tuple[dict[str, Any], list[tuple[str, str]]]] = {}
        # Per declared fact, worked out once instead of per row: its catalogue type, the columns that
        # state it, and each field's catalogue spec.
        self._facts = tuple(
            (fact, FACT_TYPES[fact.type], tuple(c for s in fact.fields.values() if s.column for c in s.column),
             tuple((name, FACT_TYPES[fact.type].fields[name], s) for name, s in fact.fields.items()))
            for fact in feed.facts
        )
        column = feed.extract_date.column
        self._extract_date_spec = ColumnSpec(column=(column,)) if column is not None else None

    # -- values ----------------------------------------------------------------------------------

    @staticmethod
    def _raw(spec: ColumnSpec | None, row: dict[str, Any]) -> Any:
        """The value for ``spec``: a constant, one column, or several columns joined by spaces."""
        if spec is None:
            return None
        if spec.value is not None:
            return spec.value
        if len(spec.column) == 1:
            return row.get(spec.column[0])
        parts = [str(row[c]) for c in spec.column if row.get(c) is not None]
        return " ".join(parts) if parts else None

    def _date(self, spec: ColumnSpec, row: dict[str, Any], field_name: str) -> date | None:
        value = self._raw(spec, row)
        if value is None:
            return None
        try:
            return parse_date(value, spec.format, pivot_year=self.pivot_year)
        except ValueError as exc:
            column = _column_name(spec, field_name)
            raise RowRejected(column, f"unparseable date in {field_name} (column {column!r}): {exc}") from None

    # -- identity --------------------------------------------------------------------------------

    def _identity(self, row: dict[str, Any], mapped: MappedRow) -> dict[str, Any]:
        spec = self.feed.identity
        if spec.full_name is not None:
            try:
                given, middle, family = split_full_name(self._raw(spec.full_name, row), spec.full_name.format or "")
            except ValueError as exc:
                raise RowRejected(_column_name(spec.full_name, "full_name"), f"full_name: {exc}") from None
        else:
            given, middle = split_given_names(self._raw(spec.given_name, row))
            family = normalise_family_name(self._raw(spec.family_name, row))
        if spec.middle_names is not None:
            extra_middle = " ".join(filter(None, split_given_names(self._raw(spec.middle_names, row))))
            middle = " ".join(filter(None, [middle, extra_middle])) or None
        identity: dict[str, Any] = {
            "given_name": canonical_given_name(given),
            "given_name_as_written": given,
            "middle_names": middle,
            "family_name": family,
            "date_of_birth": self._date(spec.date_of_birth, row, "date_of_birth") if spec.date_of_birth else None,
        }
        try:
            identity["sex"] = normalise_sex(self._raw(spec.sex, row))
        except ValueError as exc:
            identity["sex"] = None
            mapped.warnings.append((_column_name(spec.sex, "sex"), f"{exc}; dropped"))
        address = spec.address
        if address is None:
            identity["address"] = None
        else:
            parts = [address.value] if address.value is not None else [row.get(c) for c in address.column]
            identity["address"] = normalise_address(parts)
        postcode, warning = normalise_postcode(self._raw(spec.postcode, row))
        identity["postcode"] = postcode
        if warning:
            mapped.warnings.append((_column_name(spec.postcode, "postcode"), warning))
        for name, clean in _IDENTIFIER_CLEANERS.items():
            column_spec = getattr(spec, name)
            raw = self._raw(column_spec, row)
            value, problem = clean(str(raw)) if raw is not None else (None, None)
            identity[name] = value
            if problem:
                mapped.warnings.append((_column_name(column_spec, name), f"{problem}; identifier dropped, row kept"))
        extra = {name: str(row[col]) for name, col in spec.extra_ids.items() if row.get(col) is not None}
        identity["extra_ids"] = extra or None
        identity["household_ref"] = None
        parents: list[str] = []
        for rel in self.feed.relationships:
            value = row.get(rel.column)
            if value is None:
                continue
            if rel.kind == "household":
                identity["household_ref"] = f"{self.feed.name}:{value}"
            else:
                parents.append(f"{rel.feed or self.feed.name}:{value}")
        identity["parent_record_keys"] = parents or None
        return identity

    # -- facts -----------------------------------------------------------------------------------

    def _field(self, kind: FieldSpec, spec: ColumnSpec, row: dict[str, Any], fact_type: str, name: str) -> Any:
        if kind.kind == "date":
            parsed = self._date(spec, row, f"{fact_type}.{name}")
            return parsed.isoformat() if parsed else None
        value = self._raw(spec, row)
        if value is None:
            return None
        column = _column_name(spec, name)
        text = str(value).strip()
        try:
            if kind.kind == "count":
                number = _number(text)
                if not number.is_integer() or number < 0:
                    raise ValueError("not a whole number of zero or more")
                return int(number)
            if kind.kind == "number":
                return _number(text)
            if kind.kind == "money":
                return round(_number(text.replace("£", "").replace(",", "")), 2)
            if kind.kind == "boolean":
                lowered = text.lower()
                if lowered in _TRUE or lowered in _FALSE:
                    return lowered in _TRUE
                raise ValueError("not a yes/no value (true/false, yes/no, y/n, 1/0)")
            if kind.kind == "code":
                code = re.sub(r"[\s\-]+", "_", text.lower())
                if code not in kind.codes:
                    raise ValueError(f"not one of {', '.join(kind.codes)}")
                return code
            return text
        except ValueError as exc:
            raise RowRejected(column, f"{fact_type}.{name} (column {column!r}): {value!r} is {exc}") from None

    def _fact(self, fact: FactSpec, spec: FactTypeSpec, columns: tuple[str, ...],
              fields: tuple[tuple[str, FieldSpec, ColumnSpec], ...], row: dict[str, Any]) -> MappedFact | None:
        for column in columns:
            if row.get(column) is not None:
                break
        else:
            return None  # this row does not state this fact (e.g. a person row in an events feed)
        values = {name: self._field(kind, s, row, fact.type, name) for name, kind, s in fields}
        event = values.get(spec.dated_by)
        if event is None:
            raise RowRejected(_column_name(fact.fields[spec.dated_by], spec.dated_by),
                              f"{fact.type}: date field {spec.dated_by!r} is empty")
        missing_id = [c for c in fact.id if row.get(c) is None]
        if missing_id:
            raise RowRejected(missing_id[0], f"{fact.type}: fact id column {missing_id[0]!r} is empty")
        fact_id = f"{self.feed.name}:{fact.type}:" + "|".join(str(row[c]) for c in fact.id)
        end = values.get(spec.ends_by) if spec.ends_by else None
        return MappedFact(fact_id, fact.type, date.fromisoformat(event),
                          date.fromisoformat(end) if end else None, values)

    # -- the row ---------------------------------------------------------------------------------

    def map(self, row: dict[str, Any]) -> MappedRow:
        """Validate and map a row; raises RowRejected with the field and reason when it cannot be kept."""
        error = self.validator.error(row)
        if error is not None:
            raise RowRejected(*_schema_reason(error))
        record_id = row.get(self.feed.record_id)
        if record_id is None:
            raise RowRejected(self.feed.record_id, f"missing record id (column {self.feed.record_id!r})")
        record_id = str(record_id).strip()
        mapped = MappedRow(f"{self.feed.name}:{record_id}", record_id, {})
        key = tuple(map(row.get, self._identity_columns))
        cached = self._identity_cache.get(key)
        if cached is None:
            if len(self._identity_cache) >= IDENTITY_CACHE_SIZE:
                self._identity_cache.clear()
            mapped.identity = self._identity(row, mapped)
            self._identity_cache[key] = (mapped.identity, list(mapped.warnings))
        else:
            mapped.identity, warnings = cached
            mapped.warnings.extend(warnings)
        for plan in self._facts:
            fact = self._fact(*plan, row)
            if fact is not None:
                mapped.facts.append(fact)
        if self._extract_date_spec is not None:
            mapped.extract_date = self._date(self._extract_date_spec, row, "extract_date")
        return mapped
