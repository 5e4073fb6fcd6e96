"""Benchmark: profile a synthetic borough with the Phase 3 framework, and check it against NumPy.

    .venv/bin/python benchmarks/profile_bench.py [--people 300000] [--workers 2] [--seed 7] [--cprofile]

Generates a seeded borough in memory (people, families, ~10 facts per person over four years, column
arrays first), compiles ``frameworks/phase3``, profiles every family as of 2023-09-01 - evaluation and
writing hash-chained decision records to a SQLite file - then times ``explain`` for one family and
``replay`` for one decision. In the same run a vectorised NumPy implementation of Phase 3 eligibility
(three-valued, written from the framework text, not from the evaluator) computes every family's
eligibility on the same column arrays; the script prints both times and whether the answers agree
family by family. Targets (issue 4): profile < 10 s and < 4 GB for 300,000 people; explain < 100 ms;
replay < 200 ms. Figures are printed as measured.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.rules.inputs import Coverage, Fact, FamilyInput, Member  # noqa: E402

AS_OF = date(2023, 9, 1)
HISTORY_START = date(2019, 9, 1)
KNOWN_AT = datetime(2023, 9, 2, 6, 0)
YEARS = (AS_OF - HISTORY_START).days / 365.25

# Code lists, in the order the generator's integer columns index them (from frameworks/phase3/facts.hearth).
CODES = {
    "exclusion.kind": ("fixed_term", "permanent"),
    "education_status.status": ("full_time_education", "training", "alternative_provision", "missing_education",
                                "elective_home_education", "not_in_education"),
    "neet_status.status": ("neet", "education", "employment", "training"),
    "offence.outcome": ("proven", "caution", "nfa", "pending"),
    "asb_incident.intervention": ("none", "warning", "acceptable_behaviour_contract", "injunction",
                                  "community_protection_notice"),
    "domestic_abuse_incident.involvement": ("victim", "perpetrator", "child_present"),
    "domestic_abuse_incident.risk": ("standard", "medium", "high"),
    "social_care_episode.category": ("early_help", "cin", "cp", "lac"),
    "exploitation_concern.concern_type": ("criminal", "sexual"),
    "benefit_claim.benefit": ("uc_searching_for_work", "uc_working", "esa", "jsa", "income_support", "pip",
                              "carers_allowance", "housing_benefit"),
    "homelessness.duty": ("prevention", "relief", "main_duty", "temporary_accommodation"),
    "health_referral.service": ("camhs", "adult_mental_health", "talking_therapies", "physical_health"),
    "health_referral.status": ("referred", "accepted", "engaged", "discharged_improved", "declined"),
    "substance_treatment.substance": ("alcohol", "drugs", "both"),
    "substance_treatment.status": ("in_treatment", "completed", "dropped_out"),
    "early_years_assessment.tool": ("asq3", "two_year_check", "health_visitor"),
    "early_years_assessment.result": ("on_track", "below_expected"),
    "relationship_concern.kind": ("parental_conflict", "child_to_parent_violence", "parent_child_conflict"),
    "young_carer_assessment.status": ("supported", "unsupported"),
}
#: fact types recorded as states: their date column is the start, ``end`` the end (-1 = open)
STATE_TYPES = ("education_status", "neet_status", "social_care_episode", "benefit_claim", "employment",
               "substance_treatment")
STATE_FIELDS = ("start_date", "end_date")
EVENT_DATE_FIELD = {
    "exclusion": "exclusion_date", "offence": "offence_date", "asb_incident": "incident_date",
    "domestic_abuse_incident": "incident_date", "missing_episode": "episode_date",
    "exploitation_concern": "concern_date", "rent_account": "statement_date", "homelessness": "approach_date",
    "health_referral": "referral_date", "early_years_assessment": "assessment_date",
    "pregnancy": "notification_date", "problem_debt": "referral_date", "relationship_concern": "concern_date",
    "young_carer_assessment": "assessment_date",
}
FEED = {t: f"{t}_feed" for t in (*STATE_TYPES, *EVENT_DATE_FIELD, "attendance")}


@dataclass
class Columns:
    """Facts of one type as parallel arrays: person index, date ordinal, end ordinal (-1 open), fields."""

    person: np.ndarray
    day: np.ndarray
    end: np.ndarray | None = None
    fields: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Borough:
    family_of: np.ndarray  # person -> family index
    dob: np.ndarray        # date-of-birth ordinals
    female: np.ndarray
    families: int
    facts: dict[str, Columns]

    @property
    def people(self) -> int:
        return len(self.family_of)

    def fact_count(self) -> int:
        return sum(len(c) for c in self.facts.values())


# --------------------------------------------------------------------------------------------------
# Generation (seeded, vectorised)


def _ages(dob: np.ndarray) -> np.ndarray:
    """Whole years on AS_OF (birthdays counted by month/day, as the evaluator does)."""
    born = [date.fromordinal(int(o)) for o in dob]
    return np.array([AS_OF.year - b.year - ((AS_OF.month, AS_OF.day) < (b.month, b.day)) for b in born])


def _poisson_events(rng: np.random.Generator, who: np.ndarray, per_year: float, start: int, end: int,
                    ) -> tuple[np.ndarray, np.ndarray]:
    counts = rng.poisson(per_year * (end - start) / 365.25, len(who))
    person = np.repeat(who, counts)
    return person, rng.integers(start, end + 1, len(person))


def _choice(rng: np.random.Generator, n: int, probabilities: tuple[float, ...]) -> np.ndarray:
    return rng.choice(len(probabilities), n, p=np.array(probabilities) / sum(probabilities)).astype(np.int8)


def _term_bounds() -> list[tuple[int, int]]:
    """The 12 English school terms (Sep-Dec, Jan-Mar, Apr-Aug) from autumn 2019 to summer 2023."""
    terms = []
    for year in range(2019, 2023):
        terms += [(date(year, 9, 1), date(year, 12, 31)), (date(year + 1, 1, 1), date(year + 1, 3, 31)),
                  (date(year + 1, 4, 1), date(year + 1, 8, 31))]
    return [(a.toordinal(), b.toordinal()) for a, b in terms]


def generate(people: int, seed: int) -> Borough:
    """A borough of ``people`` people in ``people // 7`` families (at least one), with ~10 facts each."""
    rng = np.random.default_rng(seed)
    families = max(1, people // 7)
    family_of = np.concatenate([np.arange(families), rng.integers(0, families, people - families)])
    family_of.sort(kind="stable")
    first = np.r_[True, family_of[1:] != family_of[:-1]]          # each family's first member is an adult
    adult = first | (rng.random(people) < 0.35)
    age_years = np.where(adult, rng.integers(18, 71, people), rng.integers(0, 18, people))
    age_years = np.where(first, rng.integers(22, 56, people), age_years)
    as_of = AS_OF.toordinal()
    dob = as_of - (age_years * 365.25).astype(np.int64) - rng.integers(1, 365, people)
    female = rng.random(people) < 0.5
    ages = _ages(dob)
    start, today = HISTORY_START.toordinal(), as_of
    facts: dict[str, Columns] = {}
    everyone = np.arange(people)

    # attendance: every school-age child, every term; a few miss one of the last three terms
    school = everyone[(ages >= 5) & (ages <= 15)]
    terms = _term_bounds()
    missing = rng.random(len(school)) < 0.02
    missing_term = rng.integers(len(terms) - 3, len(terms), len(school))
    rows_p, rows_t = [], []
    for index in range(len(terms)):
        keep = ~(missing & (missing_term == index))
        rows_p.append(school[keep])
        rows_t.append(np.full(keep.sum(), index))
    person, term = np.concatenate(rows_p), np.concatenate(rows_t)
    band = _choice(rng, len(school), (86, 8, 1.5, 4.5))[np.searchsorted(school, person)]
    low, high = np.array([90, 50, 20, 85])[band], np.array([100, 90, 50, 95])[band]
    rate = low + rng.random(len(person)) * (high - low)
    possible = rng.integers(110, 141, len(person))
    attended = np.minimum(possible, np.round(possible * rate / 100)).astype(np.int64)
    bounds = np.array(terms)
    facts["attendance"] = Columns(person, bounds[term, 1], None, {
        "term_start": bounds[term, 0], "possible_sessions": possible, "attended_sessions": attended,
        "unauthorised_sessions": ((possible - attended) * rng.random(len(person))).astype(np.int64)})

    # education status: one open state per child 4-18; 2% have none (their status is unknown)
    kids = everyone[(ages >= 4) & (ages <= 18) & (rng.random(people) > 0.02)]
    status = _choice(rng, len(kids), (95, 2, 1, 1, 0.5, 0.5))
    facts["education_status"] = Columns(kids, rng.integers(start - 700, today - 30, len(kids)),
                                        np.full(len(kids), -1), {"status": status})
    young = everyone[(ages >= 16) & (ages <= 24) & (rng.random(people) > 0.1)]
    facts["neet_status"] = Columns(young, rng.integers(start, today - 10, len(young)), np.full(len(young), -1),
                                   {"status": _choice(rng, len(young), (10, 50, 30, 10))})

    def events(name: str, who: np.ndarray, per_year: float, **codes: tuple[float, ...]) -> None:
        person, day = _poisson_events(rng, who, per_year, start, today)
        columns = {k: _choice(rng, len(person), p) for k, p in codes.items()}
        facts[name] = Columns(person, day, None, columns)

    def states(name: str, who: np.ndarray, per_year: float, days: tuple[int, int], open_share: float,
               **codes: tuple[float, ...]) -> None:
        person, day = _poisson_events(rng, who, per_year, start - 365, today)
        length = rng.integers(days[0], days[1], len(person))
        end = np.where(rng.random(len(person)) < open_share, -1, day + length)
        columns = {k: _choice(rng, len(person), p) for k, p in codes.items()}
        facts[name] = Columns(person, day, end, columns)

    adults, children = everyone[ages >= 18], everyone[ages < 18]
    over_ten = everyone[ages >= 10]
    heads = everyone[first]
    events("offence", over_ten, 0.03, outcome=(40, 20, 30, 10))
    events("asb_incident", over_ten, 0.025, intervention=(40, 30, 20, 5, 5))
    events("domestic_abuse_incident", adults, 0.012, involvement=(50, 30, 20), risk=(60, 30, 10))
    events("exclusion", everyone[(ages >= 5) & (ages <= 16)], 0.06, kind=(97, 3))
    states("social_care_episode", children, 0.015, (60, 400), 0.2, category=(50, 30, 15, 5))
    events("missing_episode", everyone[(ages >= 10) & (ages < 18)], 0.02)
    events("exploitation_concern", everyone[(ages >= 10) & (ages < 18)], 0.01, concern_type=(70, 30))
    states("benefit_claim", adults, 0.6, (60, 900), 0.1, benefit=(5, 25, 3, 2, 2, 20, 13, 30))
    facts["benefit_claim"].fields["out_of_work"] = np.isin(facts["benefit_claim"].fields["benefit"], (0, 2, 3, 4))
    states("employment", adults, 0.6, (90, 1500), 0.3)
    facts["employment"].fields["hours_per_week"] = rng.integers(8, 41, len(facts["employment"]))
    tenants = heads[rng.random(len(heads)) < 0.5]
    months = np.array([date(2019 + (9 + m - 1) // 12, (9 + m - 1) % 12 + 1, 1).toordinal() for m in range(48)])
    person = np.repeat(tenants, len(months))
    in_arrears = np.repeat(rng.random(len(tenants)) < 0.15, len(months))
    arrears = np.where(in_arrears, rng.integers(0, 2500, len(person)), 0)
    facts["rent_account"] = Columns(person, np.tile(months, len(tenants)), None, {
        "arrears": arrears, "notice_served": rng.random(len(person)) < 0.004})
    events("homelessness", heads, 0.015, duty=(40, 30, 20, 10))
    events("health_referral", everyone, 0.04, service=(25, 25, 20, 30), status=(30, 20, 30, 10, 10))
    states("substance_treatment", adults, 0.012, (60, 365), 0.3, substance=(50, 35, 15), status=(50, 30, 20))
    events("early_years_assessment", everyone[ages < 5], 0.6, tool=(40, 30, 30), result=(93, 7))
    events("pregnancy", everyone[female & (ages >= 18) & (ages <= 42)], 0.05)
    pregnancy = facts["pregnancy"]
    pregnancy.fields["due_date"] = pregnancy.day + rng.integers(150, 260, len(pregnancy))
    events("problem_debt", adults, 0.02)
    facts["problem_debt"].fields["amount"] = rng.integers(200, 20000, len(facts["problem_debt"]))
    facts["problem_debt"].fields["plan_in_place"] = rng.random(len(facts["problem_debt"])) < 0.4
    events("relationship_concern", heads, 0.03, kind=(50, 20, 30))
    events("young_carer_assessment", everyone[(ages >= 8) & (ages < 18)], 0.01, status=(60, 40))
    return Borough(family_of, dob, female, families, facts)


# --------------------------------------------------------------------------------------------------
# Column arrays -> FamilyInput (what the snapshot loader would hand the evaluator)


def to_family_inputs(b: Borough) -> list[FamilyInput]:
    """One FamilyInput per family; dates are shared objects so three million facts stay affordable."""
    low = min(int(b.dob.min()), HISTORY_START.toordinal() - 800)
    high = AS_OF.toordinal() + 2000
    dates = [date.fromordinal(o) for o in range(low, high)]

    def day(ordinal: int) -> date:
        return dates[ordinal - low]

    person_ids = [f"P{i:07d}" for i in range(b.people)]
    family_ids = [f"F{i:06d}" for i in range(b.families)]
    facts: list[list[Fact]] = [[] for _ in range(b.families)]
    family_of = b.family_of.tolist()
    for name, cols in b.facts.items():
        feed = FEED[name]
        persons, days = cols.person.tolist(), cols.day.tolist()
        ends = cols.end.tolist() if cols.end is not None else None
        names = list(cols.fields)
        values = []
        for key in names:
            raw = cols.fields[key].tolist()
            codes = CODES.get(f"{name}.{key}")
            if codes is not None:
                raw = [codes[v] for v in raw]
            elif key in ("term_start", "due_date"):
                raw = [day(v) for v in raw]
            values.append(raw)
        date_field = EVENT_DATE_FIELD.get(name, "term_end" if name == "attendance" else "start_date")
        for k in range(len(persons)):
            when = day(days[k])
            fields = {date_field: when}
            end = None
            if ends is not None:
                end = day(ends[k]) if ends[k] >= 0 else None
                fields["end_date"] = end
            for key, column in zip(names, values):
                fields[key] = column[k]
            person = persons[k]
            facts[family_of[person]].append(Fact(
                fact_id=f"{name}:{k}", fact_type=name, date=when, fields=fields, person_id=person_ids[person],
                source=feed, source_record_id=person_ids[person], batch_id="B0001", end_date=end))
    coverage = {name: Coverage(name, HISTORY_START, AS_OF, (FEED[name],)) for name in FEED}
    members: list[list[Member]] = [[] for _ in range(b.families)]
    sexes = np.where(b.female, "F", "M").tolist()
    for person, (family, born) in enumerate(zip(family_of, b.dob.tolist())):
        members[family].append(Member(person_id=person_ids[person], date_of_birth=day(born), sex=sexes[person]))
    return [FamilyInput(family_ids[i], tuple(members[i]), tuple(facts[i]), coverage=coverage)
            for i in range(b.families)]


# --------------------------------------------------------------------------------------------------
# The vectorised reference: the framework's eligibility computed with NumPy over whole columns.
#
# Three values are int8 arrays: 0 = not met, 1 = unknown, 2 = met, so Kleene ``and`` is min, ``or``
# is max and ``not`` is 2 - x. Every other value is an interval [lo, hi] of float arrays: a known value
# has lo == hi, a count known only within bounds has lo < hi, and an unknown value is (-inf, inf), so
# one interval comparison decides met / not met / unknown exactly as the rules' semantics require.
# Dates are ordinals and codes are indices into the field's code list.

NOT, UNK3, MET3 = 0, 1, 2
INF = np.inf


@dataclass
class Interval:
    lo: np.ndarray
    hi: np.ndarray
    codes: tuple[str, ...] | None = None

    @staticmethod
    def exact(values, codes=None) -> Interval:
        values = np.asarray(values, dtype=np.float64)
        return Interval(values, values, codes)


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(day.day, last))


def _term_of(day: date) -> tuple[date, date]:
    if day.month >= 9:
        return date(day.year, 9, 1), date(day.year, 12, 31)
    if day.month <= 3:
        return date(day.year, 1, 1), date(day.year, 3, 31)
    return date(day.year, 4, 1), date(day.year, 8, 31)


def _window_before(anchor: date, amount: int, unit: str) -> tuple[date, date]:
    """``last N unit`` up to and including ``anchor`` (terms: the last N complete terms)."""
    if unit == "terms":
        start, end = _term_of(anchor)
        if end > anchor:
            start, end = _term_of(start.fromordinal(start.toordinal() - 1))
        last = end
        for _ in range(amount - 1):
            start, _ = _term_of(start.fromordinal(start.toordinal() - 1))
        return start, last
    months = {"months": amount, "years": 12 * amount}.get(unit)
    begin = _shift_months(anchor, -months) if months else anchor.fromordinal(
        anchor.toordinal() - amount * (7 if unit == "weeks" else 1))
    return begin.fromordinal(begin.toordinal() + 1), anchor


class Reference:
    """Eligibility for every family at once, from the framework IR and the borough's column arrays."""

    def __init__(self, framework, b: Borough, as_of: date) -> None:
        self.fw, self.b, self.as_of = framework, b, as_of
        self.day = as_of.toordinal()
        self.ages = _ages(b.dob).astype(np.float64)
        self.memo: dict[tuple[str, str], np.ndarray] = {}
        self.coverage = (HISTORY_START.toordinal(), self.day)
        self.params = {}
        for p in framework.parameters:
            in_force = [v for v in p.values if v.effective_from <= as_of]
            if in_force:
                value = max(in_force, key=lambda v: v.effective_from).value
                if p.unit in ("days", "weeks", "months", "years", "terms") and isinstance(value, int):
                    value = (value, p.unit)
                elif hasattr(value, "amount"):
                    value = (value.amount, value.unit)
                self.params[p.name] = value

    # contexts: "person" (one row per person), "family", or ("fact", type, index array)
    def size(self, ctx) -> int:
        return self.b.people if ctx == "person" else self.b.families if ctx == "family" else len(ctx[2])

    def lift(self, values: np.ndarray, ctx) -> np.ndarray:
        """Family-level values seen from ``ctx`` (a person sees their family's value)."""
        if ctx == "family":
            return values
        person = self.b.family_of if ctx == "person" else self.b.family_of[self.b.facts[ctx[1]].person[ctx[2]]]
        return values[person]

    def per_family(self, person_values: np.ndarray, reducer=np.maximum, start=NOT) -> np.ndarray:
        out = np.full(self.b.families, start, dtype=np.int8)
        reducer.at(out, self.b.family_of, person_values)
        return out

    # conditions
    def tri(self, node, ctx) -> np.ndarray:
        kind = node.kind
        if kind == "not":
            return (2 - self.tri(node.arg, ctx)).astype(np.int8)
        if kind in ("and", "or"):
            parts = np.broadcast_arrays(*(self.tri(a, ctx) for a in node.args))
            return (np.minimum if kind == "and" else np.maximum).reduce(np.stack(parts), axis=0).astype(np.int8)
        if kind == "cmp":
            return self.compare(node, ctx)
        if kind == "has_role":
            return self.role(node.role)
        if kind == "rule":
            return self.rule(node.name, ctx)
        if kind == "members":
            return self.lift(self.members(node), ctx)
        if kind == "agg":
            return self.aggregate(node, ctx)
        raise NotImplementedError(f"reference: condition kind {kind}")

    def role(self, name: str) -> np.ndarray:
        key = ("role", name)
        if key not in self.memo:
            self.memo[key] = np.broadcast_to(self.tri(self.fw.role(name).condition, "person"), self.b.people)
        return self.memo[key]

    def rule(self, name: str, ctx) -> np.ndarray:
        fw = self.fw
        if fw.role(name) is not None:
            return self.role(name)
        if fw.need(name) is not None:
            return self.lift(self.need(name), ctx)
        key = ("rule", name)
        if key not in self.memo:
            if name in ("family_definition", "eligibility_condition", "eligible"):
                e = fw.eligibility
                node = {"family_definition": e.family_definition, "eligibility_condition": e.condition}.get(name)
                value = (np.minimum(self.rule("family_definition", "family"), self.rule("eligibility_condition", "family"))
                         if node is None else self.tri(node, "family"))
                self.memo[key] = np.broadcast_to(value, self.b.families)
            else:
                rule = next(r for r in fw.rules if r.name == name)
                subject = "person" if rule.subject == "person" else "family"
                self.memo[key] = np.broadcast_to(self.tri(rule.condition, subject), self.size(subject))
                if subject == "person":
                    return self.memo[key]
        return self.lift(self.memo[key], ctx)

    def need(self, code: str) -> np.ndarray:
        key = ("need", code)
        if key not in self.memo:
            need = self.fw.need(code)
            if need.subject == "family":
                value = np.broadcast_to(self.tri(need.condition, "family"), self.b.families)
            else:
                holds = self.role(need.role) if need.role else MET3
                both = np.minimum(holds, self.tri(need.condition, "person"))
                value = self.per_family(np.broadcast_to(both, self.b.people).astype(np.int8))
            self.memo[key] = value
        return self.memo[key]

    def members(self, node) -> np.ndarray | Interval:
        holds = self.role(node.role) if node.role else np.full(self.b.people, MET3, np.int8)
        passed = np.broadcast_to(self.tri(node.test, "person") if node.test else MET3, self.b.people)
        both = np.where(holds == NOT, NOT, np.minimum(holds, passed)).astype(np.int8)
        if node.quant in ("any", "none"):
            found = self.per_family(both)
            return found if node.quant == "any" else (2 - found).astype(np.int8)
        if node.quant == "count":
            met = np.bincount(self.b.family_of, both == MET3, self.b.families)
            unsure = np.bincount(self.b.family_of, both == UNK3, self.b.families)
            return Interval(met, met + unsure)
        violated = self.per_family(((holds == MET3) & (passed == NOT)).astype(np.int8))
        unsure = self.per_family(((holds != NOT) & (passed != MET3) & ~((holds == MET3) & (passed == NOT))).astype(np.int8))
        return np.where(violated > 0, NOT, np.where(unsure > 0, UNK3, MET3)).astype(np.int8)

    # values
    def value(self, node, ctx):
        kind = node.kind
        if kind == "lit":
            v = node.value
            if isinstance(v, str) or hasattr(v, "amount"):
                return (v.amount, v.unit) if hasattr(v, "amount") else v
            return Interval.exact(v.toordinal() if isinstance(v, date) else float(v))
        if kind == "list":
            return tuple(self.value(i, ctx) for i in node.items)
        if kind == "param":
            v = self.params[node.name]
            return v if isinstance(v, tuple) else Interval.exact(float(v))
        if kind == "as_of":
            return Interval.exact(float(self.day))
        if kind == "person_attr" and node.name == "age":
            return Interval.exact(self.ages if ctx == "person" else self.ages[self.b.facts[ctx[1]].person[ctx[2]]])
        if kind == "field":
            return self.field(node.name, ctx)
        if kind == "arith" and node.op in "+-":
            left, right = self.value(node.left, ctx), self.value(node.right, ctx)
            if isinstance(right, tuple) and right[1] in ("months", "years"):
                months = right[0] * (12 if right[1] == "years" else 1) * (1 if node.op == "+" else -1)
                return Interval.exact(_shift_months(date.fromordinal(int(left.lo)), months).toordinal())
            return Interval.exact(left.lo + right.lo if node.op == "+" else left.lo - right.lo)
        if kind == "need_count":
            return self.need_count(node)
        if kind == "members":
            return self.members(node)
        if kind == "agg":
            return self.aggregate(node, ctx)
        raise NotImplementedError(f"reference: value kind {kind}")

    def field(self, name: str, ctx) -> Interval:
        fact, rows = ctx[1], ctx[2]
        cols, ftype = self.b.facts[fact], self.fw.fact_type(fact)
        if name == ftype.date_field:
            return Interval.exact(cols.day[rows])
        if name == ftype.end_field or (name == "end_date" and cols.end is not None):
            end = cols.end[rows].astype(np.float64)
            return Interval(np.where(end < 0, -INF, end), np.where(end < 0, INF, end))
        codes = CODES.get(f"{fact}.{name}")
        return Interval.exact(cols.fields[name][rows].astype(np.float64), codes)

    def compare(self, node, ctx) -> np.ndarray:
        a, b = self.value(node.left, ctx), self.value(node.right, ctx)
        op = node.op
        if op in ("in", "not in", "=", "!=") and a.codes is not None:
            wanted = b if isinstance(b, tuple) else (b,)
            index = [a.codes.index(w) for w in wanted if w in a.codes]
            known = a.lo == a.hi
            hit = np.isin(a.lo, index)
            out = np.where(known, np.where(hit, MET3, NOT), UNK3).astype(np.int8)
            return out if op in ("in", "=") else (2 - out).astype(np.int8)
        l_lo, l_hi, r_lo, r_hi = a.lo, a.hi, b.lo, b.hi
        if op in ("=", "!="):
            equal = np.where((l_lo == l_hi) & (r_lo == r_hi) & (l_lo == r_lo), MET3,
                             np.where((l_hi < r_lo) | (l_lo > r_hi), NOT, UNK3))
            return (equal if op == "=" else 2 - equal).astype(np.int8)
        fn = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[op]
        if op in ("<", "<="):
            sure, possible = fn(l_hi, r_lo), fn(l_lo, r_hi)
        else:
            sure, possible = fn(l_lo, r_hi), fn(l_hi, r_lo)
        return np.where(sure, MET3, np.where(possible, UNK3, NOT)).astype(np.int8)

    def need_count(self, node) -> Interval:
        keys: dict[str, list[np.ndarray]] = {}
        for need in self.fw.needs:
            if node.headlines is None or need.headline in node.headlines:
                keys.setdefault(need.headline if node.distinct_headlines else need.name, []).append(self.need(need.name))
        met = np.zeros(self.b.families)
        unsure = np.zeros(self.b.families)
        for values in keys.values():
            best = np.maximum.reduce(values)
            met += best == MET3
            unsure += best == UNK3
        return Interval(met, met + unsure)

    # aggregates
    def aggregate(self, node, ctx):
        cols, ftype = self.b.facts[node.fact], self.fw.fact_type(node.fact)
        family_level = node.scope == "family" or ctx == "family"
        subjects = self.b.families if family_level else self.b.people
        length = node.window.length if node.window else None
        if length is not None:
            amount, unit = self.params[length.name] if length.kind == "param" else (length.amount, length.unit)
            start, end = (d.toordinal() for d in _window_before(self.as_of, amount, unit))
        else:
            start, end = date(1900, 1, 1).toordinal(), self.day
        observed = min(end, self.day)
        if ftype.recording == "states":
            rows = np.flatnonzero((cols.day <= observed) & ((cols.end < 0) | (cols.end >= start)))
        else:
            rows = np.flatnonzero((cols.day >= start) & (cols.day <= observed))
        where = (np.broadcast_to(self.tri(node.where, ("fact", node.fact, rows)), len(rows))
                 if node.where is not None else np.full(len(rows), MET3))
        owner = cols.person[rows]
        owner = self.b.family_of[owner] if family_level else owner
        matched, uncertain = where == MET3, where == UNK3
        if ftype.recording == "periodic":
            expected = self._terms_within(start, end)
            # a period is present when any record for it was selected, whatever the filter says
            keys = np.unique(owner.astype(np.int64) * 10_000_000 + cols.day[rows])
            present = np.bincount((keys // 10_000_000).astype(np.int64), minlength=subjects)
            gap = present < expected if length is not None else present == 0
        else:
            gap = np.full(subjects, start < self.coverage[0] or end > self.coverage[1])
        fn = node.fn
        if fn in ("any", "none"):
            found = np.bincount(owner[matched], minlength=subjects) > 0
            unsure = np.bincount(owner[uncertain], minlength=subjects) > 0
            value = np.where(found, MET3, np.where(unsure | gap, UNK3, NOT)).astype(np.int8)
            value = value if fn == "any" else (2 - value).astype(np.int8)
        elif fn == "count":
            low = np.bincount(owner[matched], minlength=subjects).astype(np.float64)
            value = Interval(low, np.where(gap, INF, low + np.bincount(owner[uncertain], minlength=subjects)))
        elif fn == "rate":
            sel = rows[matched]
            top = np.bincount(owner[matched], cols.fields[node.field][sel], subjects)
            per = np.bincount(owner[matched], cols.fields[node.per_field][sel], subjects)
            known = ~gap & (per > 0) & ~(np.bincount(owner[uncertain], minlength=subjects) > 0)
            rate = np.where(known, top / np.where(per > 0, per, 1) * 100, 0)
            value = Interval(np.where(known, rate, -INF), np.where(known, rate, INF))
        elif fn == "latest":
            value = self._latest(node, ftype, cols, rows, owner, matched, uncertain, subjects, end)
        else:
            raise NotImplementedError(f"reference: aggregate {fn}")
        if isinstance(value, Interval):
            return value if family_level == (ctx == "family") else Interval(self.lift(value.lo, ctx), self.lift(value.hi, ctx), value.codes)
        return value if family_level == (ctx == "family") else self.lift(value, ctx)

    def _terms_within(self, start: int, end: int) -> int:
        count, day = 0, date.fromordinal(end)
        term_start, term_end = _term_of(day)
        if term_end > day:
            term_start, term_end = _term_of(date.fromordinal(term_start.toordinal() - 1))
        while term_start.toordinal() >= start:
            count += 1
            term_start, term_end = _term_of(date.fromordinal(term_start.toordinal() - 1))
        return count

    def _latest(self, node, ftype, cols, rows, owner, matched, uncertain, subjects, end) -> Interval:
        codes = CODES.get(f"{node.fact}.{node.field}")
        lo, hi = np.full(subjects, -INF), np.full(subjects, INF)
        if np.bincount(owner[uncertain], minlength=subjects).any():
            raise NotImplementedError("reference: latest with an uncertain filter")
        sel = rows[matched]
        owners = owner[matched]
        if ftype.recording == "states" and node.where is None:
            day = min(end, self.day)
            ok = (cols.day[sel] <= day) & ((cols.end[sel] < 0) | (cols.end[sel] >= day))
            sel, owners = sel[ok], owners[ok]
        # the latest record per subject: order by (subject, date, row) and keep each subject's last
        order = np.lexsort((sel, cols.day[sel], owners))
        sel, owners = sel[order], owners[order]
        last = np.r_[owners[1:] != owners[:-1], True] if len(owners) else np.zeros(0, bool)
        values = cols.fields[node.field][sel[last]].astype(np.float64)
        lo[owners[last]] = values
        hi[owners[last]] = values
        return Interval(lo, hi, codes)

    def eligibility(self) -> np.ndarray:
        return np.asarray(self.rule("eligible", "family"), dtype=np.int8)


# --------------------------------------------------------------------------------------------------
# The run


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of the largest worker process, in MB (Linux: KB units)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def load_phase3(args) -> object | None:
    from engine.rules.ir import Framework

    if args.ir_json:
        return Framework.model_validate_json(Path(args.ir_json).read_text())
    path = ROOT / "frameworks" / "phase3"
    try:
        from dsl import load_framework
    except ImportError as exc:
        print(f"!! cannot compile {path}: the rule language has no load_framework yet ({exc})")
        return None
    try:
        return load_framework(path)
    except Exception as exc:  # report any failure to load honestly, then stop
        print(f"!! {path} does not load: {type(exc).__name__}: {exc}")
        return None


def run_cprofile(compiled, families, limit: int = 3000) -> None:
    import cProfile
    import pstats

    from engine.decisions.evaluate import evaluate_families

    sample = families[:limit]
    profiler = cProfile.Profile()
    profiler.enable()
    evaluate_families(compiled, sample, AS_OF)
    profiler.disable()
    print(f"\ncProfile of evaluating {len(sample)} families (1 process), top 25 by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cprofile", action="store_true", help="also profile evaluation of 3,000 families")
    parser.add_argument("--ir-json", help="benchmark this compiled framework JSON instead of frameworks/phase3")
    parser.add_argument("--trace", action="store_true", help="store each rule's sub-criteria tree in the records")
    args = parser.parse_args(argv)

    from engine.decisions.evaluate import compile_for
    from engine.decisions.lookup import explain_recorded
    from engine.decisions.profile import profile
    from engine.decisions.replay import replay_decision
    from engine.storage.db import make_engine

    clock = time.perf_counter()
    borough = generate(args.people, args.seed)
    generated = time.perf_counter()
    families = to_family_inputs(borough)
    built = time.perf_counter()
    print(f"borough: {borough.people:,} people, {borough.families:,} families, {borough.fact_count():,} facts "
          f"(columns {generated - clock:.1f}s, FamilyInput objects {built - generated:.1f}s; not timed below)")
    framework = load_phase3(args)
    if framework is None:
        return 2
    gc.collect()
    gc.freeze()  # the borough lives for the whole run; keep the collector from rescanning it
    compiled = compile_for(framework)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        start = time.perf_counter()
        run = profile(engine, framework, AS_OF, KNOWN_AT, workers=args.workers, families=families, compiled=compiled,
                      trace=args.trace)
        hearth_seconds = time.perf_counter() - start
        own, workers = peak_rss_mb()
        size = (Path(tmp) / "bench.db").stat().st_size / 1e6
        print(f"\nHearth profile ({args.workers} worker(s)) of {run.summary.families:,} families as of {AS_OF}: "
              f"{hearth_seconds:.2f}s wall = evaluate {run.seconds_evaluating:.2f}s + write {run.seconds_writing:.2f}s"
              f" ({len(run.decision_ids):,} decisions, SQLite file {size:.0f} MB)")
        print(f"  peak memory: main process {own:,.0f} MB, largest worker {workers:,.0f} MB "
              f"(target < 4,096 MB)   target < 10 s: {'met' if hearth_seconds < 10 else 'NOT met'}")
        print(f"  eligible: {dict(run.summary.eligible)}; families with unknowns: "
              f"{run.summary.families_with_unknowns:,}")

        by_id = {f.family_id: f for f in families}

        def loader(_engine, _as_of, _known_at, family_ids=None):
            """The in-memory borough standing in for the snapshot loader (there is no ingest database)."""
            return [by_id[i] for i in family_ids] if family_ids is not None else families

        pick = next((e for e in run.evaluated if e.eligible == "met"), run.evaluated[0])
        start = time.perf_counter()
        explained = explain_recorded(engine, pick.family_id, loader)
        explain_ms = (time.perf_counter() - start) * 1000
        print(f"\nexplain {pick.family_id}: {explain_ms:.0f} ms (target < 100 ms), {len(explained.text):,} characters;"
              f" {explained.decision.get('tree', 'tree stored with the record')}")

        decision = run.decision_ids[run.evaluated.index(pick)]
        report = replay_decision(engine, decision, loader=loader)
        print(f"replay {decision}: {'identical' if report.identical else f'{len(report.differences)} differences'} "
              f"in {report.seconds * 1000:.0f} ms (target < 200 ms)")
        engine.dispose()

    start = time.perf_counter()
    reference = Reference(framework, borough, AS_OF).eligibility()
    numpy_seconds = time.perf_counter() - start
    names = {NOT: "not_met", UNK3: "unknown", MET3: "met"}
    hearth = {e.family_id: e.eligible for e in run.evaluated}
    disagree = [(f"F{i:06d}", hearth[f"F{i:06d}"], names[int(v)]) for i, v in enumerate(reference)
                if hearth[f"F{i:06d}"] != names[int(v)]]
    print(f"\nNumPy reference eligibility: {numpy_seconds:.2f}s for {len(reference):,} families "
          f"(Hearth evaluate+write {hearth_seconds:.2f}s; evaluate only {run.seconds_evaluating:.2f}s)")
    print(f"  agreement family by family: {len(reference) - len(disagree):,} of {len(reference):,}"
          + ("" if not disagree else f"; first disagreements (family, hearth, numpy): {disagree[:5]}"))
    if args.cprofile:
        run_cprofile(compiled, sorted(families, key=lambda f: f.family_id))
    return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
