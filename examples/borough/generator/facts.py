"""The true facts of the borough, held column-wise per fact type (architecture.md's catalogue).

Date fields are ``date.toordinal()`` integers; ``0`` in an ``end_date`` means the state is still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .randomness import ScalarRandom

#: fact type -> its fields, in catalogue order (the first date field is the fact's date, except
#: attendance, which is dated by ``term_end``)
CATALOGUE: dict[str, tuple[str, ...]] = {
    "attendance": ("term_start", "term_end", "possible_sessions", "attended_sessions", "unauthorised_sessions"),
    "exclusion": ("exclusion_date", "kind", "days"),
    "education_status": ("start_date", "end_date", "status"),
    "neet_status": ("start_date", "end_date", "status"),
    "offence": ("offence_date", "outcome", "offence_type"),
    "asb_incident": ("incident_date", "intervention"),
    "domestic_abuse_incident": ("incident_date", "involvement", "risk"),
    "social_care_episode": ("start_date", "end_date", "category"),
    "missing_episode": ("episode_date",),
    "exploitation_concern": ("concern_date", "concern_type"),
    "benefit_claim": ("start_date", "end_date", "benefit", "out_of_work"),
    "employment": ("start_date", "end_date", "hours_per_week"),
    "rent_account": ("statement_date", "arrears", "notice_served"),
    "homelessness": ("approach_date", "duty"),
    "health_referral": ("referral_date", "service", "status"),
    "substance_treatment": ("start_date", "end_date", "substance", "status"),
    "early_years_assessment": ("assessment_date", "tool", "result"),
    "pregnancy": ("notification_date", "due_date"),
    "problem_debt": ("referral_date", "amount", "plan_in_place"),
    "relationship_concern": ("concern_date", "kind"),
    "young_carer_assessment": ("assessment_date", "status"),
}
#: fact types recorded as states (start..end); the rest are events or periodic
STATE_TYPES = frozenset({
    "education_status", "neet_status", "social_care_episode", "benefit_claim", "employment", "substance_treatment",
})
DATE_FIELDS = frozenset(
    name for fields in CATALOGUE.values() for name in fields if name.endswith("_date") or name.startswith("term_")
)
#: the domains a latent family disadvantage drives (the Phase 3 headlines, by stable code)
DOMAINS = (
    "education", "early_years", "health", "substance", "relationships",
    "safety", "crime", "domestic_abuse", "housing", "financial",
)


def fact_day(fact_type: str, values: tuple) -> int:
    """The ordinal a fact is dated by."""
    return values[1] if fact_type == "attendance" else values[0]


@dataclass(slots=True)
class FactTable:
    """All true facts of one type: ``person[i]`` has ``values[i]`` (a tuple in catalogue order)."""

    fact_type: str
    person: list[int] = field(default_factory=list)
    values: list[tuple] = field(default_factory=list)

    def add(self, person: int, *values: object) -> None:
        self.person.append(person)
        self.values.append(values)

    def __len__(self) -> int:
        return len(self.person)


@dataclass(slots=True)
class Need:
    """A true family need: a domain active for a household from ``onset`` until ``resolved`` (0 = not)."""

    household: int
    domain: str
    person: int
    onset: int
    resolved: int


@dataclass(slots=True)
class World:
    """Everything true about the borough's events: fact tables plus the needs that drove them."""

    tables: dict[str, FactTable]
    needs: list[Need]

    @classmethod
    def empty(cls) -> "World":
        return cls(tables={name: FactTable(name) for name in CATALOGUE}, needs=[])


class Draw:
    """Small helpers over one scalar random stream (dates as ordinals)."""

    def __init__(self, rng: ScalarRandom) -> None:
        self.rng = rng

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def day(self, low: int, high: int) -> int:
        return self.rng.randrange(low, max(high, low + 1))

    def pick(self, options: tuple | list):
        return options[self.rng.randrange(len(options))]

    def weighted(self, options: tuple, weights: tuple):
        draw, total = self.rng.random() * sum(weights), 0.0
        for option, weight in zip(options, weights):
            total += weight
            if draw < total:
                return option
        return options[-1]

    def times(self, low: int, high: int, per_year: float) -> list[int]:
        """Days of a Poisson process with ``per_year`` rate on [low, high), in order (exponential gaps)."""
        days, rate, at = [], per_year / 365.25, float(low)
        while rate > 0:
            at += self.rng.expovariate(rate)
            if at >= high:
                break
            days.append(int(at))
        return days
