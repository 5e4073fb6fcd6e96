"""The rows returns are built from, gathered from the database by :mod:`engine.returns.collect`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class CohortPerson:
    """A person in a family the programme identified (worked with or comparison group)."""

    person_id: str
    family_id: str
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    sex: str | None
    address: str | None
    postcode: str | None
    ni_number: str | None


@dataclass(frozen=True)
class FamilyProgress:
    """One family's programme participation and needs."""

    family_id: str
    identified_on: date | None
    attached_on: date | None = None
    closed_on: date | None = None
    closure_reason: str | None = None
    outcomes_achieved_on: date | None = None
    claimed_on: date | None = None
    state: str = "identified"
    needs: tuple[tuple[str, str], ...] = ()  # (need code, headline code)
    eligible: str = "unknown"
    rag: str | None = None
    extra: dict = field(default_factory=dict)
