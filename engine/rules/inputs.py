"""What the rules engine evaluates: one family's members and facts as known at a knowledge time.

:mod:`engine.integrate.snapshot` builds these from the database; scenario tests build them from YAML.
Plain frozen dataclasses (not pydantic) because a borough has millions of facts and they must be cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact about a person (or a family): e.g. an offence on a date.

    ``source``/``source_record_id``/``batch_id`` are the evidence trail an auditor follows back to the feed.
    """

    fact_id: str
    fact_type: str
    date: date
    fields: Mapping[str, Any]
    person_id: str | None = None
    family_id: str | None = None
    source: str = ""
    source_record_id: str = ""
    batch_id: str = ""
    end_date: date | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A person in a family, with membership dates (None = open)."""

    person_id: str
    date_of_birth: date | None = None
    sex: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    joined: date | None = None
    left: date | None = None


@dataclass(frozen=True, slots=True)
class CaseDates:
    """Case anchor dates the outcome rules can be relative to (None = not reached)."""

    identified: date | None = None
    attached: date | None = None
    closed: date | None = None


@dataclass(frozen=True, slots=True)
class Coverage:
    """The period a source (feeds supplying one fact type) is known to cover, as of the knowledge time.

    For ``events`` fact types, a window inside coverage with no record means "none happened"; a window
    reaching outside it is unknown.
    """

    fact_type: str
    start: date
    end: date
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FamilyInput:
    family_id: str
    members: tuple[Member, ...]
    facts: tuple[Fact, ...]
    case: CaseDates = field(default_factory=CaseDates)
    #: fact_type -> coverage; a fact type with no entry has no known coverage (absence is unknown)
    coverage: Mapping[str, Coverage] = field(default_factory=dict)
