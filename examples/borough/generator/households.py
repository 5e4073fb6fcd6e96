"""People and households: shapes, ages, names, identifiers, addresses, moves, separations and births.

All dates are ``date.toordinal()`` integers. Ages are drawn as at ``start`` (the window's first day).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .addresses import Gazetteer, build_gazetteer
from .identifiers import make_upn, nhs_numbers_in_test_range, random_ninos
from .name_pools import GIVEN_NAMES, HERITAGE_WEIGHTS, SURNAMES
from .randomness import ScalarRandom, cumulative

DAY_YEAR = 365.25
#: household shape -> share of households (ONS-like proportions, rounded)
SHAPE_WEIGHTS = {
    "single_adult": 0.27,
    "couple_no_children": 0.16,
    "older_couple": 0.10,
    "couple_with_children": 0.21,
    "lone_parent": 0.10,
    "multigenerational": 0.06,
    "shared_house": 0.10,
}
_HERITAGES = list(HERITAGE_WEIGHTS)
_HERITAGE_CUMULATIVE = cumulative(HERITAGE_WEIGHTS.values())
_SHAPES = list(SHAPE_WEIGHTS)
_SHAPE_CUMULATIVE = cumulative(SHAPE_WEIGHTS.values())
_KIDS_CUMULATIVE = cumulative([0.38, 0.36, 0.16, 0.07, 0.03])
_GIVEN = {h: {s: names.split() for s, names in pools.items()} for h, pools in GIVEN_NAMES.items()}
_SURNAMES = {h: names.split() for h, names in SURNAMES.items()}


@dataclass(slots=True)
class Population:
    """Parallel per-person lists and per-household lists; index = internal id."""

    start: int
    end: int
    gazetteer: Gazetteer
    given: list[str] = field(default_factory=list)
    family: list[str] = field(default_factory=list)          # family name at the end of the window
    birth_family: list[str] = field(default_factory=list)    # family name before ``name_change``
    name_change: list[int] = field(default_factory=list)     # ordinal of a marriage name change, 0 = none
    sex: list[str] = field(default_factory=list)
    dob: list[int] = field(default_factory=list)
    heritage: list[str] = field(default_factory=list)
    household: list[int] = field(default_factory=list)       # household at joining
    joined: list[int] = field(default_factory=list)          # start, or date of birth for babies
    left: list[int] = field(default_factory=list)            # 0, or the day they left ``household``
    next_household: list[int] = field(default_factory=list)  # -1, or where they went
    mother: list[int] = field(default_factory=list)          # -1 when unknown or not in the borough
    nhs: list[str] = field(default_factory=list)
    upn: list[str] = field(default_factory=list)
    nino: list[str] = field(default_factory=list)
    hh_shape: list[str] = field(default_factory=list)
    hh_score: list[float] = field(default_factory=list)      # latent disadvantage
    hh_tenure: list[str] = field(default_factory=list)       # social_rent, private_rent, owner
    hh_addresses: list[list[tuple[int, int]]] = field(default_factory=list)  # (address, from ordinal)
    hh_members: list[list[int]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.given)

    def person_id(self, person: int) -> str:
        return f"TP{person + 1:07d}"

    def household_id(self, household: int) -> str:
        return f"TH{household + 1:07d}"

    def family_name_on(self, person: int, day: int) -> str:
        change = self.name_change[person]
        return self.birth_family[person] if change == 0 or day < change else self.family[person]

    def household_on(self, person: int, day: int) -> int:
        left = self.left[person]
        return self.household[person] if left == 0 or day < left else self.next_household[person]

    def address_on(self, household: int, day: int) -> int:
        current = self.hh_addresses[household][0][0]
        for address, since in self.hh_addresses[household]:
            if since <= day:
                current = address
        return current

    def age_on(self, person: int, day: int) -> float:
        return (day - self.dob[person]) / DAY_YEAR


class _Builder:
    """Adds people and households to a population, drawing names from one random stream."""

    def __init__(self, rng: ScalarRandom, pop: Population) -> None:
        self.rng = rng
        self.pop = pop

    def household(self, shape: str, score: float) -> int:
        pop = self.pop
        pop.hh_shape.append(shape)
        pop.hh_score.append(score)
        social = 1.0 / (1.0 + math.exp(1.3 - 1.1 * score))
        draw = self.rng.random()
        pop.hh_tenure.append("social_rent" if draw < social else "private_rent" if draw < social + 0.3 else "owner")
        pop.hh_addresses.append([])
        pop.hh_members.append([])
        return len(pop.hh_shape) - 1

    def pick(self, names: list[str]) -> str:
        return names[int(self.rng.integers(len(names)))]

    def surname(self, heritage: str) -> str:
        if heritage == "english" and self.rng.random() < 0.04:
            first, second = self.pick(_SURNAMES[heritage]), self.pick(_SURNAMES[heritage])
            if first != second:
                return f"{first}-{second}"
        return self.pick(_SURNAMES[heritage])

    def person(self, household: int, sex: str, age_at_start: float, heritage: str, surname: str,
               *, joined: int | None = None, mother: int = -1) -> int:
        pop = self.pop
        pop.given.append(self.pick(_GIVEN[heritage][sex]))
        pop.family.append(surname)
        pop.birth_family.append(surname)
        pop.name_change.append(0)
        pop.sex.append(sex)
        pop.dob.append(int(pop.start - age_at_start * DAY_YEAR))
        pop.heritage.append(heritage)
        pop.household.append(household)
        pop.joined.append(pop.start if joined is None else joined)
        pop.left.append(0)
        pop.next_household.append(-1)
        pop.mother.append(mother)
        pop.hh_members[household].append(pop.size - 1)
        return pop.size - 1

    def couple(self, household: int, heritage: str, low: float, high: float) -> tuple[int, int, str]:
        """A woman and a man; most share his surname, a few changed hers on marrying during the window."""
        rng = self.rng
        his_name = self.surname(heritage)
        partner_heritage = heritage if rng.random() < 0.88 else _HERITAGES[rng.integers(len(_HERITAGES))]
        her_birth_name = self.surname(partner_heritage)
        age = float(rng.uniform(low, high))
        man = self.person(household, "M", age + float(rng.normal(2, 3)), heritage, his_name)
        woman = self.person(household, "F", age, partner_heritage, her_birth_name)
        married = rng.random()
        family_name = his_name
        if married < 0.55:      # married before the window: she is known by his name throughout
            self.pop.birth_family[woman] = his_name
            self.pop.family[woman] = his_name
        elif married < 0.62:    # marries during the window: name changes on that day
            self.pop.family[woman] = his_name
            self.pop.name_change[woman] = int(rng.integers(self.pop.start + 60, self.pop.end - 60))
        elif married < 0.70:    # unmarried, children double-barrelled
            family_name = f"{her_birth_name}-{his_name}" if her_birth_name != his_name else his_name
        return man, woman, family_name

    def children(self, household: int, heritage: str, surname: str, mother: int, count: int) -> None:
        pop = self.pop
        mother_age = pop.age_on(mother, pop.start) if mother >= 0 else 40.0
        oldest = max(0.2, min(17.9, mother_age - 17.0))
        for _ in range(count):
            sex = "F" if self.rng.random() < 0.49 else "M"
            self.person(household, sex, float(self.rng.uniform(0.1, oldest)), heritage, surname, mother=mother)


def _compose(builder: _Builder, shape: str, household: int) -> None:
    rng = builder.rng
    heritage = _HERITAGES[rng.index(_HERITAGE_CUMULATIVE)]
    kids = 1 + rng.index(_KIDS_CUMULATIVE)
    if shape == "single_adult":
        sex = "F" if rng.random() < 0.5 else "M"
        age = float(rng.uniform(19, 60) if rng.random() < 0.7 else rng.uniform(60, 94))
        builder.person(household, sex, age, heritage, builder.surname(heritage))
    elif shape == "couple_no_children":
        builder.couple(household, heritage, 21, 64)
    elif shape == "older_couple":
        builder.couple(household, heritage, 64, 90)
    elif shape == "couple_with_children":
        _, mother, surname = builder.couple(household, heritage, 22, 50)
        builder.children(household, heritage, surname, mother, kids)
    elif shape == "lone_parent":
        if rng.random() < 0.9:
            parent = builder.person(household, "F", float(rng.uniform(17, 50)), heritage, builder.surname(heritage))
            builder.children(household, heritage, builder.pop.family[parent], parent, kids)
        else:
            surname = builder.surname(heritage)
            builder.person(household, "M", float(rng.uniform(24, 55)), heritage, surname)
            builder.children(household, heritage, surname, -1, kids)
    elif shape == "multigenerational":
        grandmother = builder.person(household, "F", float(rng.uniform(58, 88)), heritage, builder.surname(heritage))
        if rng.random() < 0.5:
            builder.person(household, "M", builder.pop.age_on(grandmother, builder.pop.start) + 2, heritage,
                           builder.pop.family[grandmother])
        _, mother, surname = builder.couple(household, heritage, 24, 44)
        builder.children(household, heritage, surname, mother, min(kids, 3))
    else:  # shared_house: unrelated young adults of any heritage
        for _ in range(int(rng.integers(2, 6))):
            own = _HERITAGES[rng.index(_HERITAGE_CUMULATIVE)]
            builder.person(household, "F" if rng.random() < 0.5 else "M", float(rng.uniform(19, 38)), own,
                           builder.surname(own))


def _births(builder: _Builder) -> None:
    """Babies born during the window to mothers aged 18-42 in family households."""
    pop, rng = builder.pop, builder.rng
    for household in range(len(pop.hh_shape)):
        if pop.hh_shape[household] not in ("couple_with_children", "couple_no_children", "lone_parent"):
            continue
        mothers = [p for p in pop.hh_members[household]
                   if pop.sex[p] == "F" and 18 <= pop.age_on(p, pop.start) <= 40 and pop.mother[p] == -1]
        if not mothers or rng.random() > (0.35 if pop.hh_shape[household] != "lone_parent" else 0.25):
            continue
        mother = mothers[0]
        born = int(rng.integers(pop.start + 30, pop.end - 10))
        siblings = [p for p in pop.hh_members[household] if pop.mother[p] == mother]
        surname = pop.family[siblings[0]] if siblings else pop.family[mother]
        baby = builder.person(household, "F" if rng.random() < 0.49 else "M", 0.0, pop.heritage[mother], surname,
                              joined=born, mother=mother)
        pop.dob[baby] = born


def _moves_and_separations(builder: _Builder, free_addresses: list[int]) -> None:
    """Some households move within the borough; some couples with children separate (he leaves)."""
    pop, rng = builder.pop, builder.rng
    households = len(pop.hh_shape)
    for household in range(households):
        score = pop.hh_score[household]
        if free_addresses and rng.random() < 0.07 + 0.04 * max(score, 0.0):
            moved = int(rng.integers(pop.start + 90, pop.end - 30))
            pop.hh_addresses[household].append((free_addresses.pop(), moved))
        separates = rng.random() < 0.03 + 0.05 * max(score, 0)
        if pop.hh_shape[household] == "couple_with_children" and free_addresses and separates:
            men = [p for p in pop.hh_members[household] if pop.sex[p] == "M" and pop.mother[p] == -1]
            if not men:
                continue
            day = int(rng.integers(pop.start + 120, pop.end - 60))
            new_household = builder.household("single_adult", score)
            pop.hh_addresses[new_household].append((free_addresses.pop(), day))
            pop.left[men[0]] = day
            pop.next_household[men[0]] = new_household
            pop.hh_members[new_household].append(men[0])


def _identifiers(rng: np.random.Generator, pop: Population) -> None:
    pop.nhs = nhs_numbers_in_test_range(rng, pop.size)
    end_year = date.fromordinal(pop.end).year
    adults = [p for p in range(pop.size) if pop.age_on(p, pop.end) >= 16]
    ninos = random_ninos(rng, len(adults))
    pop.nino = [""] * pop.size
    for person, nino in zip(adults, ninos):
        pop.nino[person] = nino
    serials: dict[int, int] = {}
    pop.upn = [""] * pop.size
    for person in range(pop.size):
        birth = date.fromordinal(pop.dob[person])
        reception_year = birth.year + 4 if birth.month < 9 else birth.year + 5
        if reception_year > end_year or reception_year + 11 < date.fromordinal(pop.start).year:
            continue
        number = serials.get(reception_year, 0)
        serials[reception_year] = number + 1
        pop.upn[person] = make_upn(2001 + number // 1000, reception_year, number % 1000)


def build_population(rng: np.random.Generator, residents: int, start: date, end: date) -> Population:
    """About ``residents`` people at the start of the window in households, plus babies born during it."""
    expected_households = int(residents / 2.3) + 10
    gazetteer = build_gazetteer(rng, int(expected_households * 1.25) + 200)
    pop = Population(start=start.toordinal(), end=end.toordinal(), gazetteer=gazetteer)
    scalar = ScalarRandom(int(rng.integers(1 << 62)))
    builder = _Builder(scalar, pop)
    order = rng.permutation(len(gazetteer)).tolist()
    while pop.size < residents:
        shape = _SHAPES[scalar.index(_SHAPE_CUMULATIVE)]
        score = scalar.normal(0.0, 1.0) + (0.5 if shape == "lone_parent" else 0.0)
        household = builder.household(shape, score)
        _compose(builder, shape, household)
        pop.hh_addresses[household].append((order.pop(), pop.start))
    _births(builder)
    _moves_and_separations(builder, order)
    _identifiers(rng, pop)
    return pop
