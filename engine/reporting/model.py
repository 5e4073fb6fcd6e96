"""What the programme report shows, as data. Collected from the database by :mod:`engine.reporting.collect`
(or built directly in tests), rendered by :mod:`engine.reporting.html`."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedReconciliation(_Model):
    feed: str
    system: str = ""
    batches: int = 0
    rows_in: int
    accepted: int
    quarantined: int
    top_reasons: list[tuple[str, int]] = Field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.accepted + self.quarantined


class MatchingQuality(_Model):
    source_records: int = 0
    persons: int = 0
    review_queue: int = 0
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    family_accuracy: float | None = None
    eligibility_agreement: float | None = None
    need_agreement: float | None = None


class Count(_Model):
    label: str
    value: float


class TrendPoint(_Model):
    month: str
    eligible: int = 0
    attached: int = 0
    claimed: int = 0


class OverrideLine(_Model):
    """A human override a decision of the report's run applied: who, in which role, when and why."""

    override_id: int
    family_id: str
    person_id: str | None = None
    rule: str
    value: str
    actor: str
    role: str | None = None
    created_at: datetime
    reason: str
    #: who revoked it since, as what, when and why ("" while it is in force)
    revoked: str = ""


class ReportData(_Model):
    title: str = "Hearth programme report"
    council: str = "Synthetic Borough Council"
    framework: str = ""
    as_of: date | None = None
    generated_at: datetime | None = None
    feeds: list[FeedReconciliation] = Field(default_factory=list)
    matching: MatchingQuality = Field(default_factory=MatchingQuality)
    families_total: int = 0
    families_by_need_count: list[Count] = Field(default_factory=list)
    families_by_headline: list[Count] = Field(default_factory=list)
    eligibility: list[Count] = Field(default_factory=list)
    rag: list[Count] = Field(default_factory=list)
    funnel: list[Count] = Field(default_factory=list)
    cases_by_state: list[Count] = Field(default_factory=list)
    claims_made: int = 0
    claims_value: float = 0.0
    claims_cap: int | None = None
    trend: list[TrendPoint] = Field(default_factory=list)
    #: the overrides the run's decisions applied (None: the run is not known, so nothing is said)
    overrides: list[OverrideLine] | None = None
    notes: list[str] = Field(default_factory=list)
