"""Pydantic inputs and outputs of the case workflow, its messages and its activities.

Everything here crosses the Temporal boundary through ``pydantic_data_converter``. Models are additive:
new fields get defaults so histories recorded before them still decode on replay.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.rules.ir import Duration, Lifecycle

TriValue = Literal["met", "not_met", "unknown"]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseIdentity(_Message):
    """Which case: its workflow id, the family, and the framework (id, phase, content hash) it runs."""

    case_id: str
    family_id: str
    framework_id: str
    phase: str
    framework_hash: str

    def identity(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in CaseIdentity.model_fields}


# --------------------------------------------------------------------------------------------------
# Case state (carried by continue-as-new)


class TimerState(_Message):
    """A running framework timer, with its absolute deadline (so it survives continue-as-new)."""

    name: str
    started_at: datetime
    deadline: datetime
    restarts: int = 0
    fired: int = 0


class TimelineEntry(_Message):
    """One step of a case: a transition, a flag, recorded evidence. Mirrored to ``case_audit``."""

    seq: int
    kind: str
    name: str
    from_state: str | None = None
    to_state: str | None = None
    actor: str
    role: str | None = None
    reason: str | None = None
    decision_id: str | None = None
    at: datetime
    details: dict[str, str] = Field(default_factory=dict)


class FactNote(_Message):
    """A fact a feed signalled to the case (bulk fact data stays in the database)."""

    event_id: str
    fact_type: str
    occurred_on: date
    received_at: datetime
    source: str = ""


class EvidenceItem(_Message):
    evidence_id: str
    kind: str
    description: str
    observed_on: date | None = None
    recorded_by: str
    recorded_at: datetime


class CaseState(_Message):
    state: str
    entered_at: datetime
    opened_at: datetime
    #: case fields that transitions require: lead_practitioner, assessment, plan, ...
    fields: dict[str, str] = Field(default_factory=dict)
    identified_on: date
    attached_on: date | None = None
    closed_on: date | None = None
    timers: dict[str, TimerState] = Field(default_factory=dict)
    #: a timer fired whose transition's guard was not met yet; retried when facts change
    waiting_transitions: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    facts: list[FactNote] = Field(default_factory=list)
    evidence: list[EvidenceItem] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    seq: int = 0
    guard_values: dict[str, str] = Field(default_factory=dict)
    guard_check_due: bool = True
    next_guard_check: datetime | None = None
    claim_requested_by: str | None = None
    signed_off_by: str | None = None
    claim_id: str | None = None
    closure_reason: str | None = None
    runs: int = 1
    #: when the current wait on a guard began (a timer fired and its transition's guard was not met)
    waiting_since: datetime | None = None
    #: the newest profiling run's evaluation date the case was told of (the feeds' coverage end then)
    profiled_as_of: date | None = None


class CaseInput(CaseIdentity):
    """What a case workflow starts with. The lifecycle is pinned: the IR itself plus its framework hash."""

    lifecycle: Lifecycle
    #: timers whose ``after`` is a parameter, resolved by the client when the case is created
    timer_durations: dict[str, Duration] = Field(default_factory=dict)
    opening_decision_id: str | None = None
    #: own history cap: continue-as-new at this many events (the server also suggests it)
    max_events_per_run: int = 2000
    #: while an automatic transition waits on a guard, re-evaluate it this often (as_of moves on)
    guard_recheck_days: int = 7
    state: CaseState | None = None


class CaseOutcome(_Message):
    case_id: str
    state: str
    closure_reason: str | None = None
    claim_id: str | None = None
    runs: int = 1


# --------------------------------------------------------------------------------------------------
# Messages: updates (human actions), signals (feeds), queries (views)


class ActionRequest(_Message):
    """A person takes a framework transition: ``attach``, ``start_plan``, ``sign_off``, ``close``..."""

    transition: str
    actor: str
    role: str
    fields: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    decision_id: str | None = None


class EvidenceRequest(_Message):
    evidence_id: str
    actor: str
    role: str
    kind: str
    description: str
    observed_on: date | None = None


class ClaimRequest(_Message):
    """A practitioner asks internal audit to sign off the case's claim."""

    actor: str
    role: str
    note: str | None = None


class ActionResult(_Message):
    case_id: str
    state: str
    seq: int
    claim_id: str | None = None


class FactSignal(_Message):
    """A fact from a feed about the family; ``event_id`` makes redelivery harmless."""

    event_id: str
    fact_type: str
    occurred_on: date
    source: str = ""


class EligibilitySignal(_Message):
    """A later profiling run's eligibility result for the family."""

    run_id: str
    eligible: TriValue
    as_of: date
    decision_id: str | None = None


class ProfilingRunSignal(_Message):
    """A profiling run finished: its evaluation date is the feeds' coverage end, so a case waiting on a
    guard re-checks it as of that date (as of "today" the feeds usually stop short: unknown)."""

    run_id: str
    as_of: date


class Deadline(_Message):
    timer: str
    state: str
    due: datetime
    takes: str | None = None
    restarts: int = 0


class CaseView(CaseIdentity):
    state: str
    final: bool
    fields: dict[str, str]
    flags: list[str]
    identified_on: date
    attached_on: date | None
    closed_on: date | None
    closure_reason: str | None
    claim_requested_by: str | None
    signed_off_by: str | None
    claim_id: str | None
    evidence_count: int
    fact_count: int
    guard_values: dict[str, str]
    available_actions: list[str]
    runs: int


# --------------------------------------------------------------------------------------------------
# Activity inputs and outputs


class GuardRequest(_Message):
    case_id: str
    framework_hash: str
    family_id: str
    as_of: date
    guards: list[str]
    identified_on: date | None = None
    attached_on: date | None = None
    closed_on: date | None = None


class GuardResult(_Message):
    values: dict[str, TriValue]
    reasons: dict[str, list[str]] = Field(default_factory=dict)


class AuditBatch(CaseIdentity):
    """Timeline entries to append to ``case_audit`` plus the case row's new summary."""

    state: str
    entries: list[TimelineEntry]
    flags: list[str]
    lead_practitioner: str | None = None
    closure_reason: str | None = None
    opened_at: datetime


class ClaimRecord(CaseIdentity):
    claim_id: str
    claimed_at: datetime
    signed_off_by: str
    requested_by: str | None = None
    lead_practitioner: str | None = None
    attached_on: date | None = None
    decision_id: str | None = None


class ClaimWritten(_Message):
    claim_id: str
    cap_year: int
    attempts: int
