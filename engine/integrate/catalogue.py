"""The fact type catalogue from docs/architecture.md, as data: names, recording kind, typed fields.

Feeds map columns onto these fields; ingest parses each value by its kind and rejects codes outside
the list. ``dated_by`` is the field that gives a fact its date, ``ends_by`` (states) its end date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["date", "count", "number", "money", "boolean", "code", "text"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    kind: FieldKind
    codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FactTypeSpec:
    name: str
    recording: Literal["events", "periodic", "states"]
    fields: dict[str, FieldSpec]
    dated_by: str
    ends_by: str | None = None


def _codes(*values: str) -> FieldSpec:
    return FieldSpec("code", values)


DATE = FieldSpec("date")
COUNT = FieldSpec("count")
MONEY = FieldSpec("money")
BOOL = FieldSpec("boolean")


def _event(name: str, dated_by: str, **fields: FieldSpec) -> FactTypeSpec:
    return FactTypeSpec(name, "events", {dated_by: DATE, **fields}, dated_by)


def _state(name: str, **fields: FieldSpec) -> FactTypeSpec:
    return FactTypeSpec(
        name, "states", {"start_date": DATE, "end_date": DATE, **fields}, "start_date", "end_date"
    )


FACT_TYPES: dict[str, FactTypeSpec] = {
    spec.name: spec
    for spec in (
        FactTypeSpec(
            "attendance", "periodic",
            {"term_start": DATE, "term_end": DATE, "possible_sessions": COUNT, "attended_sessions": COUNT,
             "unauthorised_sessions": COUNT},
            "term_end",
        ),
        _event("exclusion", "exclusion_date", kind=_codes("fixed_term", "permanent"), days=COUNT),
        _state("education_status", status=_codes(
            "full_time_education", "training", "alternative_provision", "missing_education",
            "elective_home_education", "not_in_education")),
        _state("neet_status", status=_codes("neet", "education", "employment", "training")),
        _event("offence", "offence_date", outcome=_codes("proven", "caution", "nfa", "pending"),
               offence_type=FieldSpec("text")),
        _event("asb_incident", "incident_date", intervention=_codes(
            "none", "warning", "acceptable_behaviour_contract", "injunction", "community_protection_notice")),
        _event("domestic_abuse_incident", "incident_date",
               involvement=_codes("victim", "perpetrator", "child_present"),
               risk=_codes("standard", "medium", "high")),
        _state("social_care_episode", category=_codes("early_help", "cin", "cp", "lac")),
        _event("missing_episode", "episode_date"),
        _event("exploitation_concern", "concern_date", concern_type=_codes("criminal", "sexual")),
        _state("benefit_claim", benefit=_codes(
            "uc_searching_for_work", "uc_working", "esa", "jsa", "income_support", "pip",
            "carers_allowance", "housing_benefit"), out_of_work=BOOL),
        _state("employment", hours_per_week=FieldSpec("number")),
        _event("rent_account", "statement_date", arrears=MONEY, notice_served=BOOL),
        _event("homelessness", "approach_date", duty=_codes(
            "prevention", "relief", "main_duty", "temporary_accommodation")),
        _event("health_referral", "referral_date",
               service=_codes("camhs", "adult_mental_health", "talking_therapies", "physical_health"),
               status=_codes("referred", "accepted", "engaged", "discharged_improved", "declined")),
        _state("substance_treatment", substance=_codes("alcohol", "drugs", "both"),
               status=_codes("in_treatment", "completed", "dropped_out")),
        _event("early_years_assessment", "assessment_date",
               tool=_codes("asq3", "two_year_check", "health_visitor"),
               result=_codes("on_track", "below_expected")),
        _event("pregnancy", "notification_date", due_date=DATE),
        _event("problem_debt", "referral_date", amount=MONEY, plan_in_place=BOOL),
        _event("relationship_concern", "concern_date", kind=_codes(
            "parental_conflict", "child_to_parent_violence", "parent_child_conflict")),
        _event("young_carer_assessment", "assessment_date", status=_codes("supported", "unsupported")),
    )
}
