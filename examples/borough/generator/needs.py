"""Family needs: a latent disadvantage score switches on correlated domains, each with its own events.

Each household's score drives the chance of every domain (``sigmoid(BASE + SLOPE * score)``), so needs
cluster: a small share of families carry three or more. About seven in ten families with needs turn around:
some months after their needs peak (the latest onset, when a keyworker would typically be working with
them) every need resolves at about the same time, the way whole-family support works. In the other
families a need occasionally resolves on its own. So over half of all needs resolve, and whole families
reach every outcome and sustain it, which is what a Payment by Results claim needs.

Resolution shows in the data the way the outcome rules read it: incidents stop, attendance recovers,
treatment completes, arrears clear and rent statements stay clear, a debt plan starts, work replaces an
out-of-work benefit, a health referral is engaged with and discharged improved.
"""

from __future__ import annotations

import math

from .facts import DOMAINS, Draw, Need, World
from .households import Population

BASE = -3.95
SLOPE = 1.8
FAMILY_TURNAROUND_SHARE = 0.7    # families whose needs all resolve some months after they peak
LONE_RESOLUTION_SHARE = 0.1      # a need resolving on its own in a family that does not turn around
OFFENCE_TYPES = ("theft", "criminal damage", "assault", "public order", "possession of drugs",
                 "burglary", "shoplifting", "vehicle crime", "robbery", "possession of weapon")


def _children(pop: Population, household: int, day: int, low: float, high: float) -> list[int]:
    return [p for p in pop.hh_members[household]
            if pop.joined[p] <= day and low <= pop.age_on(p, day) < high and pop.household_on(p, day) == household]


def _adults(pop: Population, household: int, day: int) -> list[int]:
    return [p for p in pop.hh_members[household]
            if pop.age_on(p, day) >= 18 and pop.household_on(p, day) == household]


class FamilyNeeds:
    """Decides each household's needs and writes the events each need produces."""

    def __init__(self, draw: Draw, pop: Population, world: World) -> None:
        self.draw, self.pop, self.world = draw, pop, world
        self.education_window: dict[int, tuple[int, int]] = {}   # child -> (onset, resolved or end)
        self.early_years_window: dict[int, tuple[int, int]] = {}
        self.neet_windows: dict[int, tuple[int, int]] = {}       # young person -> NEET period
        self.workless_windows: dict[int, tuple[int, int]] = {}   # adult -> out of work period
        self.turning_points: dict[int, int] = {}                  # household -> day its needs start resolving

    def run(self) -> None:
        pop, draw = self.pop, self.draw
        for household in range(len(pop.hh_shape)):
            chance = 1.0 / (1.0 + math.exp(-(BASE + SLOPE * pop.hh_score[household])))
            onsets = [(domain, draw.day(pop.start, pop.end - 150)) for domain in DOMAINS if draw.chance(chance)]
            if not onsets:
                continue
            turns_around = draw.chance(FAMILY_TURNAROUND_SHARE)
            turning_point = max(onset for _, onset in onsets) + draw.day(60, 270)
            if turns_around:
                self.turning_points[household] = turning_point
            for domain, onset in onsets:
                resolved = self._resolution(onset, turning_point if turns_around else None)
                person = getattr(self, f"_{domain}")(household, onset, resolved or pop.end)
                if person is not None:
                    self.world.needs.append(Need(household, domain, person, onset, resolved))

    def _resolution(self, onset: int, turning_point: int | None) -> int:
        """The day a need resolves (0 = not within the window): shortly after the family's turning point
        (never sooner than four months after its own onset), or now and then on its own."""
        draw = self.draw
        if turning_point is not None:
            resolved = max(turning_point + draw.day(0, 45), onset + draw.day(120, 200))
        elif draw.chance(LONE_RESOLUTION_SHARE):
            resolved = draw.day(onset + 180, onset + 540)
        else:
            return 0
        return resolved if resolved <= self.pop.end - 30 else 0

    def _add(self, fact_type: str, person: int, *values: object) -> None:
        self.world.tables[fact_type].add(person, *values)

    def _education(self, household: int, onset: int, until: int) -> int | None:
        children = _children(self.pop, household, onset, 5, 15.5)
        if not children:
            return None
        chosen = children[: 1 + int(self.draw.chance(0.3))]
        for child in chosen:
            self.education_window[child] = (onset, until)
            for day in self.draw.times(onset, until, 1.6):
                permanent = self.draw.chance(0.04)
                self._add("exclusion", child, day, "permanent" if permanent else "fixed_term",
                          0 if permanent else self.draw.weighted((1, 2, 3, 5), (5, 3, 2, 1)))
                if permanent:   # the child moves to alternative provision, then back to school if they improve
                    placed = day + self.draw.day(5, 20)
                    back = max(until, placed + 30) if until < self.pop.end else 0
                    self._add("education_status", child, placed, back if back < self.pop.end else 0,
                              "alternative_provision")
                    if 0 < back < self.pop.end:
                        self._add("education_status", child, back, 0, "full_time_education")
                    break
        return chosen[0]

    def _early_years(self, household: int, onset: int, until: int) -> int | None:
        young = _children(self.pop, household, onset, 0, 4.5) or _children(self.pop, household, until, 0, 4.5)
        if not young:
            return None
        self.early_years_window[young[0]] = (onset, until)
        return young[0]

    def _health(self, household: int, onset: int, until: int) -> int | None:
        teens = _children(self.pop, household, onset, 11, 18)
        adults = _adults(self.pop, household, onset)
        if teens and (not adults or self.draw.chance(0.3)):
            person, service = teens[0], "camhs"
        elif adults:
            person, service = self.draw.pick(adults), self.draw.pick(("adult_mental_health", "talking_therapies"))
        else:
            return None
        self._referral_path(person, service, onset, until)
        return person

    def _referral_path(self, person: int, service: str, onset: int, until: int) -> None:
        end = self.pop.end
        self._add("health_referral", person, onset, service, "referred")
        accepted = onset + self.draw.day(14, 45)
        if accepted < end:
            self._add("health_referral", person, accepted, service, "accepted")
        if until >= end and self.draw.chance(0.3):   # declined support: the need does not resolve
            if accepted + 30 < end:
                self._add("health_referral", person, accepted + 30, service, "declined")
            return
        engaged = accepted + self.draw.day(20, 60)
        if engaged < end:
            self._add("health_referral", person, engaged, service, "engaged")
        if until < end and until > engaged:
            self._add("health_referral", person, until, service, "discharged_improved")

    def _substance(self, household: int, onset: int, until: int) -> int | None:
        adults = _adults(self.pop, household, onset)
        if not adults:
            return None
        person, end = self.draw.pick(adults), self.pop.end
        substance = self.draw.weighted(("alcohol", "drugs", "both"), (5, 3, 2))
        start = onset + self.draw.day(20, 90)
        if until < end:
            self._add("substance_treatment", person, start, max(until, start + 60), substance, "completed")
        elif self.draw.chance(0.4) and start + 200 < end:
            self._add("substance_treatment", person, start, start + self.draw.day(40, 200), substance, "dropped_out")
        elif start < end:
            self._add("substance_treatment", person, start, 0, substance, "in_treatment")
        return person

    def _relationships(self, household: int, onset: int, until: int) -> int | None:
        pop = self.pop
        adults = [p for p in _adults(pop, household, onset) if pop.age_on(p, onset) < 65]
        teens = _children(pop, household, onset, 11, 18)
        if len(adults) < 2 and not teens:
            return None
        if teens and (len(adults) < 2 or self.draw.chance(0.5)):
            person = teens[0]
            kind = "child_to_parent_violence" if self.draw.chance(0.35) else "parent_child_conflict"
        else:
            person = next((p for p in adults if pop.sex[p] == "F"), adults[0])
            kind = "parental_conflict"
        for day in self.draw.times(onset, until, 3.0) or [onset]:
            self._add("relationship_concern", person, day, kind)
        return person

    def young_carers(self) -> None:
        """Children caring for a parent with a health or substance need get assessed."""
        pop = self.pop
        for need in list(self.world.needs):
            if need.domain not in ("health", "substance") or pop.age_on(need.person, need.onset) < 18:
                continue
            carers = _children(pop, need.household, need.onset, 8, 18)
            if not carers or not self.draw.chance(0.6):
                continue
            carer, assessed = carers[0], need.onset + self.draw.day(30, 120)
            if assessed >= pop.end:
                continue
            self._add("young_carer_assessment", carer, assessed, "unsupported")
            if need.resolved and need.resolved + 30 < pop.end:
                self._add("young_carer_assessment", carer, need.resolved + 30, "supported")
            self.world.needs.append(Need(need.household, "relationships", carer, assessed, need.resolved))

    def _safety(self, household: int, onset: int, until: int) -> int | None:
        pop, draw = self.pop, self.draw
        children = _children(pop, household, onset, 0, 17.5)
        if not children:
            return None
        start = onset
        for step, category in enumerate(("early_help", "cin", "cp", "lac")):
            finish = start + draw.day(90, 300)
            escalates = step < 3 and finish < until and draw.chance((0.6, 0.45, 0.2)[step])
            ends = finish if escalates else (until if until < pop.end else 0)
            for child in children:
                self._add("social_care_episode", child, start, ends, category)
            if not escalates:
                break
            start = finish
        teens = [c for c in children if pop.age_on(c, onset) >= 12]
        if teens and draw.chance(0.5):
            teen = teens[0]
            for day in draw.times(onset, until, 3.0):
                self._add("missing_episode", teen, day)
            if draw.chance(0.5):
                kind = "sexual" if pop.sex[teen] == "F" and draw.chance(0.6) else "criminal"
                for day in draw.times(onset, until, 1.5) or [onset + 10]:
                    self._add("exploitation_concern", teen, day, kind)
        return children[0]

    def _crime(self, household: int, onset: int, until: int) -> int | None:
        pop, draw = self.pop, self.draw
        teens = [p for p in _children(pop, household, onset, 12, 18) if pop.sex[p] == "M" or draw.chance(0.3)]
        adults = _adults(pop, household, onset)
        candidates = teens if teens and draw.chance(0.5) else adults
        if not candidates:
            return None
        person = draw.pick(candidates)
        for day in draw.times(onset, until, 2.5) or [onset]:
            outcome = "pending" if day > pop.end - 90 else draw.weighted(("proven", "caution", "nfa"), (4, 2, 4))
            self._add("offence", person, day, outcome, draw.pick(OFFENCE_TYPES))
        interventions = ("none", "warning", "acceptable_behaviour_contract", "community_protection_notice",
                         "injunction")
        for step, day in enumerate(draw.times(onset, until, 2.0)):
            self._add("asb_incident", person, day, interventions[min(step, len(interventions) - 1)])
        return person

    def _domestic_abuse(self, household: int, onset: int, until: int) -> int | None:
        pop, draw = self.pop, self.draw
        adults = _adults(pop, household, onset)
        victims = [p for p in adults if pop.sex[p] == "F" and pop.age_on(p, onset) < 65]
        if not victims:
            return None
        victim = victims[0]
        perpetrators = [p for p in adults if pop.sex[p] == "M" and pop.age_on(p, onset) < 70]
        children = _children(pop, household, onset, 0, 16)
        for day in draw.times(onset, until, 3.0) or [onset]:
            risk = draw.weighted(("standard", "medium", "high"), (5, 3, 2))
            self._add("domestic_abuse_incident", victim, day, "victim", risk)
            if perpetrators and pop.household_on(perpetrators[0], day) == household:
                self._add("domestic_abuse_incident", perpetrators[0], day, "perpetrator", risk)
            for child in children:
                if pop.joined[child] <= day and draw.chance(0.5):
                    self._add("domestic_abuse_incident", child, day, "child_present", risk)
        return victim

    def _housing(self, household: int, onset: int, until: int) -> int | None:
        pop, draw = self.pop, self.draw
        adults = _adults(pop, household, onset)
        if not adults:
            return None
        tenant = adults[-1]  # the youngest-added adult: the mother in a couple, a parent in a multigenerational home
        if pop.hh_tenure[household] == "social_rent":
            arrears, day, notice = 0.0, onset, False
            while day < min(until, pop.end):
                arrears += draw.rng.uniform(120, 420)
                notice = notice or arrears > 1500
                self._add("rent_account", tenant, day, round(arrears, 2), notice)
                day += 91
            # once arrears clear, the quarterly statements go on showing a clear (or small) balance
            day = until
            while day < pop.end:
                self._add("rent_account", tenant, day, 0.0 if day == until else round(draw.rng.uniform(0, 150), 2),
                          False)
                day += 91
        if pop.hh_tenure[household] != "social_rent" or draw.chance(0.3):
            day = onset + draw.day(0, 60)
            for duty in ("prevention", "relief", "main_duty", "temporary_accommodation"):
                if day >= min(until, pop.end):
                    break
                self._add("homelessness", tenant, day, duty)
                if until < pop.end and draw.chance(0.5):
                    break
                day += draw.day(30, 90)
        return tenant

    def _financial(self, household: int, onset: int, until: int) -> int | None:
        pop, draw = self.pop, self.draw
        adults = [p for p in _adults(pop, household, onset) if pop.age_on(p, onset) < 64]
        young = [p for p in _children(pop, household, onset, 16, 18.5)]
        if not adults and not young:
            return None
        if young and (not adults or draw.chance(0.3)):
            self.neet_windows[young[0]] = (onset, until)
            return young[0]
        person = draw.pick(adults)
        self.workless_windows[person] = (onset, until)
        if draw.chance(0.5):
            referral = onset + draw.day(30, 200)
            if referral < pop.end:
                amount = round(draw.rng.uniform(1500, 15000), 2)
                self._add("problem_debt", person, referral, amount, False)
                if until < pop.end and until > referral:
                    self._add("problem_debt", person, until, amount, True)
        return person
