"""Feed declarations: the YAML format in docs/architecture.md, validated with errors naming file:line:col.

``load_feeds(path)`` reads the YAML, checks it against the pydantic models (unknown keys are errors),
the fact catalogue and each feed's JSON Schema, and raises one :class:`ConfigError` listing every
problem with its position and the offending key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.errors import ConfigError
from engine.integrate.catalogue import FACT_TYPES
from engine.integrate.standardise import FULL_NAME_FORMATS
from engine.integrate.yamlconfig import load_yaml_model


class Strict(BaseModel):
    """Base for configuration models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SourceSpec(Strict):
    type: Literal["csv", "json", "jsonl", "excel", "sql"]
    path: str | None = None
    sheet: str | None = None
    url: str | None = None
    query: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","

    @model_validator(mode="after")
    def _needs_matching_options(self) -> SourceSpec:
        if self.type == "sql":
            if not (self.url and self.query):
                raise ValueError("a sql source needs 'url' (a SQLAlchemy URL) and 'query'")
        elif not self.path:
            raise ValueError(f"a {self.type} source needs 'path' (a file or glob relative to the YAML file)")
        if self.sheet and self.type != "excel":
            raise ValueError("'sheet' only applies to excel sources")
        return self


class ExtractDateSpec(Strict):
    from_path: str | None = None
    column: str | None = None
    value: date | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ExtractDateSpec:
        given = [k for k in ("from_path", "column", "value") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of from_path (a regex with one group), column or value")
        if self.from_path is not None:
            try:
                if re.compile(self.from_path).groups < 1:
                    raise ValueError(f"from_path {self.from_path!r} needs a (group) around the date")
            except re.error as exc:
                raise ValueError(f"from_path {self.from_path!r} is not a regular expression: {exc}") from None
        return self


class ColumnSpec(Strict):
    """Where a value comes from: one column, several (joined), or a constant; optional date format."""

    column: tuple[str, ...] = ()
    value: Any = None
    format: str | None = None

    @field_validator("column", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _column_or_value(self) -> ColumnSpec:
        if bool(self.column) == (self.value is not None):
            raise ValueError("give either 'column' (one or a list) or 'value' (a constant)")
        return self


def _as_column_spec(value: Any) -> Any:
    if isinstance(value, (str, list)):
        return {"column": value}
    return value


class IdentitySpec(Strict):
    given_name: ColumnSpec | None = None
    middle_names: ColumnSpec | None = None
    family_name: ColumnSpec | None = None
    full_name: ColumnSpec | None = None
    date_of_birth: ColumnSpec | None = None
    sex: ColumnSpec | None = None
    address: ColumnSpec | None = None
    postcode: ColumnSpec | None = None
    uprn: ColumnSpec | None = None
    upn: ColumnSpec | None = None
    nhs_number: ColumnSpec | None = None
    ni_number: ColumnSpec | None = None
    #: other identifiers compared by the matcher: name -> column
    extra_ids: dict[str, str] = Field(default_factory=dict)

    _columns = field_validator(
        "given_name", "middle_names", "family_name", "full_name", "date_of_birth", "sex", "address",
        "postcode", "uprn", "upn", "nhs_number", "ni_number", mode="before",
    )(_as_column_spec)

    @model_validator(mode="after")
    def _full_name_format(self) -> IdentitySpec:
        if self.full_name is not None:
            if self.full_name.format not in FULL_NAME_FORMATS:
                raise ValueError(f"full_name needs format: one of {', '.join(map(repr, FULL_NAME_FORMATS))}")
            if self.given_name or self.family_name:
                raise ValueError("give either full_name or given_name/family_name, not both")
        return self


class FactSpec(Strict):
    type: str
    id: tuple[str, ...]
    fields: dict[str, ColumnSpec]

    @field_validator("id", mode="before")
    @classmethod
    def _id_columns(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("fields", mode="before")
    @classmethod
    def _field_columns(cls, value: Any) -> Any:
        return {k: _as_column_spec(v) for k, v in value.items()} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _matches_catalogue(self) -> FactSpec:
        spec = FACT_TYPES.get(self.type)
        if spec is None:
            raise ValueError(f"unknown fact type {self.type!r}; known: {', '.join(sorted(FACT_TYPES))}")
        unknown = sorted(set(self.fields) - set(spec.fields))
        if unknown:
            raise ValueError(
                f"{self.type} has no field(s) {', '.join(unknown)}; its fields are {', '.join(spec.fields)}"
            )
        if spec.dated_by not in self.fields:
            raise ValueError(f"{self.type} needs its date field {spec.dated_by!r} mapped")
        return self


class RelationshipSpec(Strict):
    kind: Literal["household", "parent_of"]
    column: str
    #: parent_of: the feed whose record ids the column holds (default: this feed)
    feed: str | None = None


class CoverageSpec(Strict):
    from_: date = Field(alias="from")


class PopulationSpec(Strict):
    """Who a source can hold, by age on the extract date: an electoral roll or council tax list holds
    adults (``min_age: 18``), a school census children. The matcher uses it as evidence: a record
    from an adults-only register cannot be the person whose date of birth makes them 10."""

    min_age: int | None = Field(default=None, ge=0, le=130)
    max_age: int | None = Field(default=None, ge=0, le=130)

    @model_validator(mode="after")
    def _ordered(self) -> PopulationSpec:
        if self.min_age is None and self.max_age is None:
            raise ValueError("population needs min_age, max_age or both (ages in whole years on the extract date)")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError(f"population min_age {self.min_age} is above max_age {self.max_age}")
        return self


class FeedSpec(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    system: str = ""
    source: SourceSpec
    extract_date: ExtractDateSpec
    json_schema: str | dict[str, Any] = Field(alias="schema")
    record_id: str
    identity: IdentitySpec = Field(default_factory=IdentitySpec)
    facts: tuple[FactSpec, ...] = ()
    relationships: tuple[RelationshipSpec, ...] = ()
    coverage: CoverageSpec | None = None
    population: PopulationSpec | None = None

    @property
    def fact_types(self) -> tuple[str, ...]:
        return tuple(sorted({f.type for f in self.facts}))


class FeedsFile(Strict):
    feeds: tuple[FeedSpec, ...]


@dataclass(frozen=True)
class Feeds:
    """A loaded, checked feeds file: the declarations plus each feed's JSON Schema, resolved."""

    path: Path
    feeds: tuple[FeedSpec, ...]
    schemas: dict[str, dict[str, Any]]

    @property
    def base_dir(self) -> Path:
        return self.path.parent


# --- loading ---------------------------------------------------------------------------------------


def load_feeds(path: str | Path) -> Feeds:
    """Read and check a feeds YAML file; raises ConfigError listing every problem with file:line:col."""
    path = Path(path)
    parsed, marks = load_yaml_model(path, FeedsFile, "feeds file", "docs/feeds.md")
    if not parsed.feeds:
        raise ConfigError(f"{path}:1:1: feeds: the list is empty; declare at least one feed (see docs/feeds.md)")
    problems: list[str] = []
    schemas: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for index, feed in enumerate(parsed.feeds):
        line, col = marks.get(("feeds", index, "name"), (1, 1))
        if feed.name in seen:
            problems.append(f"{path}:{line}:{col}: feeds[{index}].name: duplicate feed name {feed.name!r}")
        seen.add(feed.name)
        for rel_index, relationship in enumerate(feed.relationships):
            named = relationship.feed
            if named is not None and named not in {f.name for f in parsed.feeds}:
                at = marks.get(("feeds", index, "relationships", rel_index, "feed"), (line, col))
                problems.append(f"{path}:{at[0]}:{at[1]}: feeds[{index}].relationships[{rel_index}].feed: no feed "
                                f"named {named!r}; feeds: {', '.join(f.name for f in parsed.feeds)}")
        where = marks.get(("feeds", index, "schema"), (line, col))
        try:
            schemas[feed.name] = _load_schema(feed, path.parent)
        except ConfigError as exc:
            problems.append(f"{path}:{where[0]}:{where[1]}: feeds[{index}].schema: {exc}")
    if problems:
        raise ConfigError("feeds file has errors:\n  " + "\n  ".join(problems))
    return Feeds(path=path, feeds=parsed.feeds, schemas=schemas)


def _load_schema(feed: FeedSpec, base_dir: Path) -> dict[str, Any]:
    if isinstance(feed.json_schema, dict):
        schema = feed.json_schema
    else:
        schema_path = base_dir / feed.json_schema
        try:
            schema = json.loads(schema_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read JSON Schema {schema_path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{schema_path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"not a valid JSON Schema: {exc.message}") from None
    return schema
