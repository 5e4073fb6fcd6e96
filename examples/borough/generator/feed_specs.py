"""How each source system exports its records: columns, date formats, identifiers kept, and its quirks.

One :class:`FeedSpec` per feed. The renderer (render.py) and the declaration writer (declare.py) both
read these, so a feed's files and its feeds.yaml entry cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ISO, UK, COMPACT, NAMED = "%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d-%b-%Y"


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One source system's export of one record type."""

    name: str
    system: str
    fact_type: str | None            # None: an identity-only register (council tax, electoral roll)
    record_id: str                   # column holding the system's own id for the row's person
    id_prefix: str
    fact_id: str | None              # column holding the system's id for the fact (None: record id + date)
    fact_columns: dict[str, str]     # catalogue field -> column
    identity: dict[str, str]         # canonical identity field -> column (full_name: "SURNAME, Forename")
    date_format: str = ISO
    dob_format: str = ISO
    file_format: str = "csv"         # csv | jsonl | excel
    identifier_present: dict[str, float] = field(default_factory=dict)  # nhs/upn/ni/uprn -> share filled
    dob_present: float = 1.0
    upper_case_names: bool = False
    spaced_nhs: bool = False          # "999 123 4567"
    household_column: str | None = None
    lag_days: tuple[int, int] = (1, 30)   # event day -> day the system records it
    stale_address: float = 0.1       # share of records never updated after a move
    typo: float = 0.02               # share of records with a mistyped name
    variant_name: float = 0.3        # share using another spelling (transliteration) where one exists
    nickname: float = 0.0
    duplicate_person: float = 0.01   # share of people registered twice under two ids
    duplicate_row: float = 0.003     # share of rows exported twice
    malformed: float = 0.002         # share of rows with a broken date or NHS check digit

    @property
    def file_name(self) -> str:
        return f"{self.name}.{ {'csv': 'csv', 'jsonl': 'jsonl', 'excel': 'xlsx'}[self.file_format] }"

    def columns(self) -> list[str]:
        """Every column, in file order."""
        cols = [self.record_id]
        cols += [c for c in self.identity.values() if c not in cols]
        if self.household_column:
            cols.append(self.household_column)
        if self.fact_id and self.fact_id not in cols:
            cols.append(self.fact_id)
        cols += [c for c in self.fact_columns.values() if c not in cols]
        return cols


def _split(forename: str = "forename", surname: str = "surname") -> dict[str, str]:
    return {"given_name": forename, "family_name": surname}


FEEDS: tuple[FeedSpec, ...] = (
    FeedSpec("school_attendance", "School census", "attendance", "pupil_ref", "SC", None,
             {"term_start": "term_start", "term_end": "term_end", "possible_sessions": "possible",
              "attended_sessions": "attended", "unauthorised_sessions": "unauth_absence"},
             {**_split(), "date_of_birth": "dob", "sex": "gender", "upn": "upn", "address_1": "address_1",
              "address_2": "address_2", "postcode": "postcode"},
             date_format=UK, dob_format=UK, identifier_present={"upn": 0.98}, lag_days=(20, 60), typo=0.01),
    FeedSpec("school_exclusions", "School exclusions", "exclusion", "pupil_id", "EXC", "exclusion_ref",
             {"exclusion_date": "excl_start", "kind": "excl_type", "days": "excl_days"},
             {"full_name": "pupil_name", "date_of_birth": "birth_date", "sex": "sex", "upn": "upn",
              "postcode": "postcode"},
             date_format=COMPACT, dob_format=COMPACT, identifier_present={"upn": 0.95}, lag_days=(2, 20)),
    FeedSpec("education_status", "Inclusion and children missing education", "education_status", "child_ref",
             "INC", "placement_ref",
             {"start_date": "status_from", "end_date": "status_to", "status": "education_status"},
             {**_split(), "date_of_birth": "dob", "sex": "sex", "upn": "upn", "address_1": "address_1",
              "postcode": "postcode"},
             date_format=UK, dob_format=ISO, identifier_present={"upn": 0.85}, lag_days=(5, 40)),
    FeedSpec("police_crime", "Police crime records", "offence", "nominal_ref", "NOM", "crime_ref",
             {"offence_date": "offence_date", "outcome": "outcome", "offence_type": "offence"},
             {"full_name": "nominal_name", "date_of_birth": "dob", "sex": "sex", "address": "home_address",
              "postcode": "postcode"},
             date_format=NAMED, dob_format=NAMED, dob_present=0.93, lag_days=(1, 45), stale_address=0.25,
             typo=0.04, nickname=0.2, duplicate_person=0.03),
    FeedSpec("police_asb", "Community safety ASB cases", "asb_incident", "subject_id", "ASB", "incident_ref",
             {"incident_date": "incident_date", "intervention": "intervention"},
             {**_split("first_name", "last_name"), "date_of_birth": "dob", "address": "address",
              "postcode": "postcode", "uprn": "uprn"},
             file_format="jsonl", identifier_present={"uprn": 0.6}, dob_present=0.85, nickname=0.15, typo=0.03),
    FeedSpec("domestic_abuse", "Domestic abuse and MARAC", "domestic_abuse_incident", "person_ref", "DA",
             "incident_no", {"incident_date": "incident_date", "involvement": "role", "risk": "risk_level"},
             {**_split(), "date_of_birth": "dob", "sex": "gender", "nhs_number": "nhs_no",
              "address": "address", "postcode": "postcode"},
             date_format=UK, dob_format=UK, identifier_present={"nhs_number": 0.3}, lag_days=(1, 20),
             stale_address=0.2),
    FeedSpec("childrens_social_care", "Children's social care", "social_care_episode", "child_id", "CSC",
             "episode_id", {"start_date": "episode_start", "end_date": "episode_end", "category": "category"},
             {**_split("first_name", "surname"), "date_of_birth": "dob", "sex": "gender",
              "nhs_number": "nhs_number", "upn": "upn", "address_1": "address_line_1",
              "address_2": "address_line_2", "postcode": "postcode", "uprn": "uprn"},
             identifier_present={"nhs_number": 0.9, "upn": 0.5, "uprn": 0.8}, household_column="family_case_id",
             lag_days=(1, 14), typo=0.01),
    FeedSpec("missing_episodes", "Missing from home and care", "missing_episode", "young_person_id", "MFH",
             "episode_ref", {"episode_date": "date_missing"},
             {**_split("forename", "surname"), "date_of_birth": "dob", "sex": "sex", "postcode": "postcode"},
             file_format="jsonl", lag_days=(1, 10)),
    FeedSpec("exploitation_concerns", "Exploitation panel (MACE)", "exploitation_concern", "subject_ref", "MACE",
             "concern_id", {"concern_date": "concern_date", "concern_type": "concern_type"},
             {"full_name": "subject_name", "date_of_birth": "dob", "nhs_number": "nhs_number",
              "postcode": "postcode"},
             date_format=UK, dob_format=UK, identifier_present={"nhs_number": 0.6}, lag_days=(5, 40)),
    FeedSpec("housing_rents", "Housing rents", "rent_account", "tenant_ref", "TEN", None,
             {"statement_date": "statement_date", "arrears": "arrears_balance", "notice_served": "nosp_served"},
             {**_split("tenant_forename", "tenant_surname"), "date_of_birth": "tenant_dob",
              "ni_number": "ni_number", "uprn": "uprn", "address_1": "property_address", "postcode": "postcode"},
             date_format=COMPACT, dob_format=COMPACT, identifier_present={"ni_number": 0.7, "uprn": 1.0},
             dob_present=0.8, household_column="tenancy_ref", lag_days=(1, 7), stale_address=0.0),
    FeedSpec("homelessness", "Housing options (H-CLIC)", "homelessness", "applicant_id", "HCL", "duty_ref",
             {"approach_date": "approach_date", "duty": "duty"},
             {**_split(), "date_of_birth": "dob", "sex": "gender", "ni_number": "ni_number",
              "nhs_number": "nhs_number", "address": "last_settled_address", "postcode": "postcode"},
             date_format=UK, identifier_present={"ni_number": 0.5, "nhs_number": 0.2}, lag_days=(1, 30),
             stale_address=0.5),
    FeedSpec("dwp_benefits", "DWP benefits data share", "benefit_claim", "claimant_id", "DWP", "claim_id",
             {"start_date": "award_start", "end_date": "award_end", "benefit": "benefit_type",
              "out_of_work": "out_of_work"},
             {**_split("forenames", "surname"), "date_of_birth": "dob", "ni_number": "nino", "postcode": "postcode",
              "address": "address"},
             date_format=COMPACT, dob_format=COMPACT, identifier_present={"ni_number": 0.98}, upper_case_names=True,
             household_column="claim_group", lag_days=(10, 60), stale_address=0.3, variant_name=0.5),
    FeedSpec("employment", "Employment (RTI data share)", "employment", "person_id", "EMP", "employment_id",
             {"start_date": "employment_start", "end_date": "employment_end", "hours_per_week": "weekly_hours"},
             {**_split(), "date_of_birth": "dob", "ni_number": "ni_number", "postcode": "postcode"},
             identifier_present={"ni_number": 0.95}, lag_days=(20, 75), stale_address=0.4),
    FeedSpec("health_referrals", "NHS community referrals", "health_referral", "patient_id", "PT", "referral_id",
             {"referral_date": "referral_date", "service": "service", "status": "status"},
             {**_split("given_name", "family_name"), "date_of_birth": "birth_date", "sex": "gender",
              "nhs_number": "nhs_number", "postcode": "postcode"},
             file_format="jsonl", identifier_present={"nhs_number": 0.97}, spaced_nhs=True, lag_days=(1, 20)),
    FeedSpec("substance_misuse", "Drug and alcohol service", "substance_treatment", "client_id", "DAS",
             "treatment_episode", {"start_date": "treatment_start", "end_date": "treatment_end",
                                   "substance": "substance", "status": "status"},
             {"full_name": "client_name", "date_of_birth": "dob", "sex": "sex", "nhs_number": "nhs_number",
              "postcode": "postcode"},
             date_format=NAMED, dob_format=NAMED, identifier_present={"nhs_number": 0.6}, nickname=0.2),
    FeedSpec("early_years", "Health visiting", "early_years_assessment", "child_id", "HV", "contact_id",
             {"assessment_date": "contact_date", "tool": "tool", "result": "outcome"},
             {**_split(), "date_of_birth": "dob", "sex": "sex", "nhs_number": "nhs_number",
              "address_1": "address_line_1", "postcode": "postcode"},
             date_format=UK, dob_format=UK, file_format="excel", identifier_present={"nhs_number": 0.99},
             lag_days=(3, 30)),
    FeedSpec("maternity", "Maternity bookings", "pregnancy", "mother_id", "MAT", "pregnancy_id",
             {"notification_date": "booking_date", "due_date": "edd"},
             {**_split(), "date_of_birth": "dob", "nhs_number": "nhs_number", "postcode": "postcode"},
             date_format=COMPACT, dob_format=COMPACT, identifier_present={"nhs_number": 0.95}, lag_days=(1, 14)),
    FeedSpec("youth_neet", "Youth participation (NEET) tracking", "neet_status", "young_person_ref", "YP",
             "activity_id", {"start_date": "activity_start", "end_date": "activity_end", "status": "activity"},
             {**_split(), "date_of_birth": "dob", "sex": "gender", "upn": "upn", "postcode": "postcode"},
             date_format=UK, dob_format=UK, identifier_present={"upn": 0.7}, lag_days=(10, 45)),
    FeedSpec("debt_advice", "Money and debt advice", "problem_debt", "client_ref", "MDA", "case_id",
             {"referral_date": "referral_date", "amount": "debt_total", "plan_in_place": "repayment_plan"},
             {"full_name": "client_name", "date_of_birth": "dob", "postcode": "postcode"},
             date_format=NAMED, dob_format=ISO, lag_days=(1, 30), nickname=0.1),
    FeedSpec("family_support", "Early help family support", "relationship_concern", "person_ref", "EH",
             "concern_ref", {"concern_date": "concern_date", "kind": "concern_kind"},
             {**_split(), "date_of_birth": "dob", "sex": "gender", "nhs_number": "nhs_number",
              "address": "address", "postcode": "postcode"},
             date_format=UK, identifier_present={"nhs_number": 0.5}, household_column="household_ref",
             lag_days=(1, 14)),
    FeedSpec("young_carers", "Young carers service", "young_carer_assessment", "carer_id", "YC", "assessment_ref",
             {"assessment_date": "assessment_date", "status": "status"},
             {**_split(), "date_of_birth": "dob", "upn": "upn", "postcode": "postcode"},
             file_format="jsonl", dob_format=UK, identifier_present={"upn": 0.6}, lag_days=(1, 30)),
    FeedSpec("council_tax", "Council tax", None, "liable_party_id", "CTX", None, {},
             {"full_name": "party_name", "uprn": "uprn", "address_1": "address_1", "address_2": "address_2",
              "postcode": "postcode"},
             identifier_present={"uprn": 1.0}, household_column="account_ref", stale_address=0.0, typo=0.01,
             duplicate_person=0.005, malformed=0.0),
    FeedSpec("electoral_roll", "Electoral register", None, "elector_number", "ER", None, {},
             {**_split("forenames", "surname"), "address_1": "address_1", "address_2": "address_2",
              "postcode": "postcode", "uprn": "uprn"},
             identifier_present={"uprn": 0.97}, household_column="property_ref", stale_address=0.0, typo=0.01,
             duplicate_person=0.005, malformed=0.0),
)
FEEDS_BY_NAME = {spec.name: spec for spec in FEEDS}
