"""Routine records every resident accumulates: school terms, jobs and benefits, NEET tracking, health
visiting and pregnancies, plus the background rate of offences, referrals and exclusions in any borough.

Family needs (needs.py) shape these: a child with an education need attends less during it and recovers
after; an adult with a financial need loses work and claims an out-of-work benefit.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from .facts import Draw, World
from .households import DAY_YEAR, Population
from .needs import OFFENCE_TYPES, FamilyNeeds

#: (term start, term end, possible sessions) for the academic year starting in September of ``year``
_TERMS = (((9, 4), (12, 20), 144), ((1, 6), (3, 29), 116), ((4, 15), (7, 22), 132))


def school_terms(start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(term start, term end, possible sessions, academic year) for terms ending inside the window."""
    terms = []
    for year in range(date.fromordinal(start).year, date.fromordinal(end).year + 1):
        for index, ((m1, d1), (m2, d2), sessions) in enumerate(_TERMS):
            calendar_year = year if index == 0 else year + 1
            first, last = date(calendar_year, m1, d1).toordinal(), date(calendar_year, m2, d2).toordinal()
            if first >= start and last <= end:
                terms.append((first, last, sessions, year))
    return terms


def _reception_year(dob: np.ndarray) -> np.ndarray:
    """Academic year a child born on ``dob`` starts reception (September after turning four)."""
    years = np.array([date.fromordinal(int(d)).year for d in dob])
    months = np.array([date.fromordinal(int(d)).month for d in dob])
    return np.where(months < 9, years + 4, years + 5)


def attendance(rng: np.random.Generator, pop: Population, world: World, needs: FamilyNeeds) -> None:
    """One attendance row per pupil per term, vectorised over pupils for each term."""
    pupils = np.array([p for p in range(pop.size) if pop.upn[p]], dtype=np.int64)
    if len(pupils) == 0:
        return
    dob = np.array([pop.dob[p] for p in pupils])
    reception = _reception_year(dob)
    usual = rng.beta(60, 2.6, size=len(pupils))           # mean about 96%
    struggling = rng.uniform(0.55, 0.88, size=len(pupils))
    recovered = np.maximum(usual - rng.uniform(0.0, 0.03, size=len(pupils)), 0.91)
    onset = np.array([needs.education_window.get(int(p), (0, 0))[0] for p in pupils])
    until = np.array([needs.education_window.get(int(p), (0, 0))[1] for p in pupils])
    joined = np.array([pop.joined[p] for p in pupils])
    table = world.tables["attendance"]
    for first, last, sessions, year in school_terms(pop.start, pop.end):
        on_roll = (reception <= year) & (year <= reception + 11) & (joined <= first)
        in_need = (onset > 0) & (onset <= last) & (until >= first)
        after = (onset > 0) & (until < first)
        rate = np.where(in_need, struggling, np.where(after, recovered, usual))
        possible = sessions - rng.integers(0, 7, size=len(pupils)) * 2
        attended = np.minimum(possible, np.round(possible * (rate + rng.normal(0, 0.01, size=len(pupils)))))
        absent = possible - attended
        unauthorised_share = np.where(in_need, rng.uniform(0.5, 0.9, len(pupils)), rng.uniform(0.1, 0.4, len(pupils)))
        unauthorised = np.round(absent * unauthorised_share)
        for i in np.flatnonzero(on_roll).tolist():
            table.add(int(pupils[i]), first, last, int(possible[i]), int(attended[i]), int(unauthorised[i]))


def _into_work(draw: Draw, pop: Population, turning_point: int | None) -> int:
    """The day a long-term out-of-work adult starts a job (0 = not within the window): usually soon after
    their family turns around, otherwise now and then."""
    if turning_point is not None and draw.chance(0.85):
        day = turning_point + draw.day(0, 60)
    elif draw.chance(0.15):
        day = draw.day(pop.start + 30, pop.end)
    else:
        return 0
    return day if day < pop.end - 30 else 0


def work_and_benefits(draw: Draw, pop: Population, world: World, needs: FamilyNeeds) -> None:
    """Employment spells and benefit claims for adults of working age (and disability/carer benefits)."""
    employment, benefits = world.tables["employment"], world.tables["benefit_claim"]
    for person in range(pop.size):
        age = pop.age_on(person, pop.start)
        if age < 16 or age >= 66 or pop.age_on(person, pop.end) < 18:
            continue
        score = pop.hh_score[pop.household[person]]
        adult_from = max(pop.start, int(pop.dob[person] + 18 * DAY_YEAR))
        workless = needs.workless_windows.get(person)
        employed = draw.chance(0.8) if workless else draw.chance(0.78 - 0.12 * score)
        hours = draw.weighted((37.5, 30.0, 20.0, 16.0), (6, 2, 2, 1))
        if workless:
            onset, until = workless
            if employed:
                began = max(min(adult_from, onset - 30) - draw.day(0, 2000), int(pop.dob[person] + 16 * DAY_YEAR))
                employment.add(person, began, onset, hours)
            benefit = "esa" if draw.chance(0.25) else "uc_searching_for_work"
            benefits.add(person, onset + draw.day(7, 40), until if until < pop.end else 0, benefit, True)
            if until < pop.end:
                employment.add(person, until, 0, draw.weighted((37.5, 25.0, 16.0), (3, 2, 1)))
        elif employed:
            began = adult_from - draw.day(0, 3000) if adult_from == pop.start else adult_from + draw.day(0, 200)
            if draw.chance(0.25):
                changed = draw.day(pop.start + 30, pop.end - 30)
                if changed > began:
                    employment.add(person, began, changed, hours)
                    began = changed + draw.day(1, 60)
            if began < pop.end:
                employment.add(person, began, 0, hours)
            if hours <= 20 and draw.chance(0.4):
                benefits.add(person, max(began, pop.start - draw.day(0, 700)), 0, "uc_working", False)
        elif age >= 18:
            benefit = draw.weighted(("uc_searching_for_work", "esa", "income_support", "jsa"), (6, 3, 1, 1))
            found_work = _into_work(draw, pop, needs.turning_points.get(int(pop.household[person])))
            benefits.add(person, pop.start - draw.day(0, 1500), found_work, benefit, True)
            if found_work:
                employment.add(person, found_work, 0, draw.weighted((37.5, 25.0, 16.0), (3, 2, 1)))
        if draw.chance(0.05 + 0.02 * max(score, 0)):
            benefits.add(person, draw.day(pop.start - 900, pop.end - 30), 0, "pip", False)
        if draw.chance(0.02):
            benefits.add(person, draw.day(pop.start - 900, pop.end - 30), 0, "carers_allowance", False)


def neet_tracking(draw: Draw, pop: Population, world: World, needs: FamilyNeeds) -> None:
    """Academic-year status for every young person aged 16-17 (the council's NEET tracking duty)."""
    table = world.tables["neet_status"]
    for person in range(pop.size):
        sixteen = date.fromordinal(int(pop.dob[person] + 16 * DAY_YEAR))
        first_year = sixteen.year if sixteen.month < 9 else sixteen.year + 1
        window = needs.neet_windows.get(person)
        for year in (first_year, first_year + 1):
            first, last = date(year, 9, 1).toordinal(), date(year + 1, 8, 31).toordinal()
            if last < pop.start or first > pop.end:
                continue
            neet = window is not None and window[0] <= last and window[1] >= first
            status = "neet" if neet or draw.chance(0.04) else draw.weighted(
                ("education", "training", "employment"), (18, 2, 1))
            table.add(person, first, last if last < pop.end else 0, status)


def early_years(draw: Draw, pop: Population, world: World, needs: FamilyNeeds) -> None:
    """Health visiting checks for under-fives and pregnancy notifications for babies born in the window."""
    checks, pregnancies = world.tables["early_years_assessment"], world.tables["pregnancy"]
    for person in range(pop.size):
        dob = pop.dob[person]
        if dob < pop.start - 5 * DAY_YEAR:
            continue
        window = needs.early_years_window.get(person)
        # the new birth visit, the 6-8 week review, the one-year review and the two-year check
        for tool, offset in (("health_visitor", 12), ("health_visitor", 45), ("asq3", 365), ("two_year_check", 760)):
            day = int(dob + offset + draw.day(0, 40))
            if pop.start <= day <= pop.end and day >= pop.joined[person]:
                concern = window is not None and window[0] <= day <= window[1]
                result = "below_expected" if concern or draw.chance(0.06) else "on_track"
                checks.add(person, day, tool, result)
        if window is not None and window[1] < pop.end:   # a review once the concern has resolved
            review = window[1] + draw.day(14, 60)
            if review <= pop.end and review < dob + 5 * DAY_YEAR:
                checks.add(person, review, "asq3", "on_track")
        mother = pop.mother[person]
        if mother >= 0 and dob > pop.start:
            notified = dob - draw.day(180, 235)
            if notified >= pop.start:
                pregnancies.add(mother, notified, dob + draw.day(-10, 10))
            antenatal = dob - draw.day(60, 90)   # the health visitor's antenatal contact with the mother
            if pop.start <= antenatal <= pop.end:
                checks.add(mother, antenatal, "health_visitor", "on_track")
    for household in range(len(pop.hh_shape)):  # pregnancies still under way at the window's end
        women = [p for p in pop.hh_members[household] if pop.sex[p] == "F" and 18 <= pop.age_on(p, pop.end) <= 40]
        if women and draw.chance(0.04):
            notified = draw.day(pop.end - 150, pop.end - 20)
            due = notified + draw.day(150, 230)
            pregnancies.add(women[0], notified, due)
            if due - 75 <= pop.end:
                checks.add(women[0], due - 75, "health_visitor", "on_track")


def background(draw: Draw, pop: Population, world: World) -> None:
    """Low-rate events for anyone: the noise real feeds carry beside the families in need."""
    tables = world.tables
    for person in range(pop.size):
        age_end = pop.age_on(person, pop.end)
        since = max(pop.start, pop.joined[person])
        if age_end >= 12:
            for day in draw.times(since, pop.end, 0.008):
                outcome = "pending" if day > pop.end - 90 else draw.weighted(("nfa", "caution", "proven"), (5, 2, 2))
                tables["offence"].add(person, day, outcome, draw.pick(OFFENCE_TYPES))
            for day in draw.times(since, pop.end, 0.004):
                tables["asb_incident"].add(person, day, "none")
        if age_end >= 18:
            for day in draw.times(since, pop.end, 0.02):
                service = draw.weighted(("talking_therapies", "physical_health", "adult_mental_health"), (5, 3, 1))
                tables["health_referral"].add(person, day, service, "referred")
                if draw.chance(0.85) and day + 30 < pop.end:   # most people referred take up the support
                    tables["health_referral"].add(person, day + 30, service, "engaged")
        elif pop.upn[person]:
            for day in draw.times(since, pop.end, 0.012):
                tables["exclusion"].add(person, day, "fixed_term", draw.weighted((1, 2), (3, 1)))
        if pop.upn[person] and age_end < 17 and draw.chance(0.012):
            # off the school roll for a while: home education, or missing education until traced
            status = "elective_home_education" if draw.chance(0.6) else "missing_education"
            began = draw.day(since, pop.end - 20)
            ended = began + draw.day(30, 400) if status == "missing_education" or draw.chance(0.3) else 0
            tables["education_status"].add(person, began, ended if ended and ended < pop.end else 0, status)
            if status == "missing_education" and ended and ended < pop.end:   # traced and back on a roll
                tables["education_status"].add(person, ended, 0, "full_time_education")
        if 12 <= age_end < 23:   # teenagers at some point in the window
            for day in draw.times(since, pop.end, 0.01):
                if pop.age_on(person, day) < 18:
                    tables["missing_episode"].add(person, day)
            for day in draw.times(since, pop.end, 0.004):
                if pop.age_on(person, day) < 18:
                    tables["exploitation_concern"].add(person, day, "criminal" if draw.chance(0.7) else "sexual")
