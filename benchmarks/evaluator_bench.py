"""Benchmark: the rules evaluator alone, on seeded synthetic Phase 3 families.

    .venv/bin/python benchmarks/evaluator_bench.py [--families 4000] [--seed 11] [--workers 1] [--cprofile] [--no-share]

Builds ``--families`` FamilyInputs (4 members, about 70 facts each, a Phase 3 mix: termly attendance,
monthly rent statements, benefit/employment/education states, incidents, referrals; a third with a
case identified months earlier so outcomes are judged), compiles ``frameworks/phase3`` and times, per
family, ``evaluate(trace=False)`` and ``to_dict()`` + canonical JSON, as bulk profiling does. Prints
CPU ms/family and families/s for each step, and the projection for 40,000 families (3M facts) on
``--workers`` processes. ``--cprofile`` prints the top functions by own time; ``--no-share`` evaluates
every member in full (no person-level results shared between members of one shape), for comparison.

:func:`synthetic_families` is also what ``tests/rules/test_bulk_identical.py`` uses to check that
optimisations leave every result byte-identical.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sys
import time
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.rules.inputs import CaseDates, Coverage, Fact, FamilyInput, Member  # noqa: E402

AS_OF = date(2023, 9, 1)
FEEDS_FROM = date(2019, 9, 1)
PHASE3_TYPES = (
    "attendance", "exclusion", "education_status", "neet_status", "offence", "asb_incident",
    "domestic_abuse_incident", "social_care_episode", "missing_episode", "exploitation_concern", "benefit_claim",
    "employment", "rent_account", "homelessness", "health_referral", "substance_treatment",
    "early_years_assessment", "pregnancy", "problem_debt", "relationship_concern", "young_carer_assessment",
)
# (autumn, spring, summer) terms of a school year starting in September of ``year``
TERM_DATES = ((9, 1, 12, 20), (1, 4, 3, 31), (4, 17, 7, 21))


class _FamilyMaker:
    """One family's members and facts, drawn from a seeded generator."""

    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng = rng
        self.family_id = f"F{index:06d}"
        self.facts: list[Fact] = []
        self.n = 0

    def day(self, start: date = FEEDS_FROM, end: date = AS_OF) -> date:
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))

    def fact(self, fact_type: str, person: str, day: date, end: date | None = None, **fields) -> None:
        self.n += 1
        self.facts.append(Fact(
            fact_id=f"{self.family_id}-{fact_type[:4]}-{self.n}", fact_type=fact_type, date=day, fields=fields,
            person_id=person, source=f"{fact_type}_feed", source_record_id=f"{person}-{self.n}",
            batch_id=f"B{day.year}", end_date=end))

    def maybe(self, rate: float) -> int:
        """How many events at ``rate`` per family-member lifetime of the window (a small Poisson draw)."""
        count, threshold, product = 0, 2.718281828 ** -rate, self.rng.random()
        while product > threshold:
            count += 1
            product *= self.rng.random()
        return count

    def adult(self, pid: str) -> Member:
        rng = self.rng
        dob = date(rng.randrange(1970, 1998), rng.randrange(1, 13), rng.randrange(1, 29))
        start = self.day(FEEDS_FROM, date(2022, 6, 1))
        if rng.random() < 0.5:
            ended = start + timedelta(days=rng.randrange(60, 700))
            self.fact("benefit_claim", pid, start, ended if ended < AS_OF else None, start_date=start,
                      benefit="uc_searching_for_work", out_of_work=True)
            if ended < AS_OF and rng.random() < 0.6:
                self.fact("employment", pid, ended, None, start_date=ended, hours_per_week=rng.choice((16, 20, 30, 37.5)))
                self.fact("benefit_claim", pid, ended, None, start_date=ended, benefit="uc_working", out_of_work=False)
        elif rng.random() < 0.7:
            self.fact("employment", pid, start, None, start_date=start, hours_per_week=rng.choice((20, 37.5)))
        if rng.random() < 0.6:  # monthly rent statements for the tenancy holder
            arrears = rng.choice((0, 0, 0, 150, 400, 900))
            month = date(2021, 9, 1)
            while month <= AS_OF:
                arrears = max(0, arrears + rng.choice((-100, 0, 0, 50, 120)))
                self.fact("rent_account", pid, month, statement_date=month, arrears=arrears,
                          notice_served=arrears > 1200 and rng.random() < 0.3)
                month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        for _ in range(self.maybe(0.5)):
            d = self.day()
            self.fact("offence", pid, d, offence_date=d, outcome=rng.choice(("proven", "caution", "nfa", "pending")),
                      offence_type="theft")
        for _ in range(self.maybe(0.6)):
            d = self.day()
            self.fact("asb_incident", pid, d, incident_date=d, intervention=rng.choice(("none", "warning")))
        for _ in range(self.maybe(0.4)):
            d = self.day()
            self.fact("domestic_abuse_incident", pid, d, incident_date=d, involvement=rng.choice(("victim", "perpetrator")),
                      risk=rng.choice(("standard", "medium", "high")))
        for _ in range(self.maybe(0.8)):
            d = self.day()
            self.fact("health_referral", pid, d, referral_date=d,
                      service=rng.choice(("adult_mental_health", "talking_therapies", "physical_health")),
                      status=rng.choice(("referred", "accepted", "engaged", "discharged_improved", "declined")))
        if rng.random() < 0.1:
            d = self.day()
            self.fact("substance_treatment", pid, d, None if rng.random() < 0.5 else d + timedelta(days=200),
                      start_date=d, substance=rng.choice(("alcohol", "drugs")),
                      status=rng.choice(("in_treatment", "completed", "dropped_out")))
        if rng.random() < 0.15:
            d = self.day()
            self.fact("problem_debt", pid, d, referral_date=d, amount=rng.randrange(500, 9000), plan_in_place=rng.random() < 0.4)
        if rng.random() < 0.1:
            d = self.day(date(2022, 9, 1))
            self.fact("pregnancy", pid, d, notification_date=d, due_date=d + timedelta(days=200))
        if rng.random() < 0.1:
            d = self.day()
            self.fact("relationship_concern", pid, d, concern_date=d, kind="parental_conflict")
        if rng.random() < 0.05:
            d = self.day()
            self.fact("homelessness", pid, d, approach_date=d, duty=rng.choice(("prevention", "relief")))
        return Member(pid, date_of_birth=dob, sex=rng.choice("FM"))

    def child(self, pid: str, age: int) -> Member:
        rng = self.rng
        dob = date(AS_OF.year - age - 1, rng.randrange(9, 13), rng.randrange(1, 29))
        age_now = AS_OF.year - dob.year - ((AS_OF.month, AS_OF.day) < (dob.month, dob.day))
        if 5 <= age_now < 16 or (age_now == 16 and rng.random() < 0.5):
            usual = rng.choice((97, 95, 93, 91, 88, 85, 70, 45))
            for year in range(2019, 2023):
                for sm, sd, em, ed in TERM_DATES:
                    y = year if sm >= 9 else year + 1
                    start, end = date(y, sm, sd), date(y, em, ed)
                    if end > AS_OF or rng.random() < 0.03:  # an occasional missing term
                        continue
                    possible = rng.randrange(110, 150)
                    attended = min(possible, round(possible * (usual + rng.randrange(-4, 5)) / 100))
                    self.fact("attendance", pid, end, term_start=start, term_end=end, possible_sessions=possible,
                              attended_sessions=attended, unauthorised_sessions=(possible - attended) // 2)
            status = rng.choice(("full_time_education",) * 8 + ("alternative_provision", "missing_education"))
            self.fact("education_status", pid, date(2019, 9, 1), None, start_date=date(2019, 9, 1), status=status)
        if age_now >= 16:
            d = date(2023, 6, 1)
            self.fact("neet_status", pid, d, None, start_date=d, status=rng.choice(("neet", "education", "training")))
        if age_now < 5:
            for _ in range(1 + self.maybe(0.8)):
                d = self.day(max(FEEDS_FROM, dob))
                self.fact("early_years_assessment", pid, d, assessment_date=d, tool=rng.choice(("asq3", "two_year_check")),
                          result=rng.choice(("on_track", "on_track", "below_expected")))
        for _ in range(self.maybe(0.3)):
            d = self.day()
            self.fact("exclusion", pid, d, exclusion_date=d, kind=rng.choice(("fixed_term",) * 6 + ("permanent",)),
                      days=rng.randrange(1, 6))
        for _ in range(self.maybe(0.2)):
            d = self.day()
            self.fact("missing_episode", pid, d, episode_date=d)
        if rng.random() < 0.12:
            d = self.day()
            self.fact("social_care_episode", pid, d, None if rng.random() < 0.4 else d + timedelta(days=180),
                      start_date=d, category=rng.choice(("early_help", "cin", "cp")))
        if rng.random() < 0.05:
            d = self.day()
            self.fact("exploitation_concern", pid, d, concern_date=d, concern_type="criminal")
        if rng.random() < 0.05:
            d = self.day()
            self.fact("young_carer_assessment", pid, d, assessment_date=d, status=rng.choice(("supported", "unsupported")))
        return Member(pid, date_of_birth=dob, sex=rng.choice("FM"))


def synthetic_families(count: int, seed: int = 11, start: int = 0) -> list[FamilyInput]:
    """``count`` seeded Phase 3 families (ids ``F{start}``...): two adults and two children each."""
    coverage = {t: Coverage(t, FEEDS_FROM, AS_OF, (f"{t}_feed",)) for t in PHASE3_TYPES}
    families = []
    for index in range(start, start + count):
        rng = random.Random(seed * 1_000_003 + index)
        maker = _FamilyMaker(rng, index)
        pids = [f"{maker.family_id}-P{k}" for k in range(4)]
        members = [maker.adult(pids[0]), maker.adult(pids[1]),
                   maker.child(pids[2], rng.randrange(5, 15)), maker.child(pids[3], rng.randrange(0, 18))]
        case = CaseDates()
        if rng.random() < 0.33:  # a case identified and worked earlier: outcomes are judged
            identified = AS_OF - timedelta(days=rng.randrange(200, 500))
            attached = identified + timedelta(days=30)
            closed = attached + timedelta(days=120) if rng.random() < 0.6 else None
            case = CaseDates(identified, attached, closed)
        families.append(FamilyInput(maker.family_id, tuple(members), tuple(maker.facts), case, coverage))
    return families


def _compile(share: bool = True):
    from dsl.api import load_framework
    from engine.rules.evaluator import compile_framework

    return compile_framework(load_framework(ROOT / "frameworks" / "phase3"), share=share)


def _time_chunk(args: tuple[int, int, int]) -> tuple[float, float, int]:
    """Evaluate and serialise one chunk of families in a worker; returns (eval s, json s, bytes)."""
    start, count, seed = args
    compiled = _compile()
    families = synthetic_families(count, seed, start)
    t0 = time.process_time()
    results = [compiled.evaluate(f, AS_OF, trace=False) for f in families]
    t1 = time.process_time()
    size = sum(len(json.dumps(r.to_dict(), sort_keys=True, separators=(",", ":"))) for r in results)
    return t1 - t0, time.process_time() - t1, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workers", type=int, default=1, help="processes for the projection run (0 = skip it)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the fastest is reported")
    parser.add_argument("--cprofile", action="store_true", help="print the top functions by own time")
    parser.add_argument("--no-share", action="store_true",
                        help="evaluate every member in full (no results shared between members of one shape)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    families = synthetic_families(args.families, args.seed)
    built = time.perf_counter() - t0
    facts = sum(len(f.facts) for f in families)
    print(f"{len(families):,} families, {facts:,} facts ({facts / len(families):.1f} per family, 4 members); "
          f"built in {built:.1f}s (not timed below)")
    t0 = time.perf_counter()
    compiled = _compile(share=not args.no_share)
    print(f"compile frameworks/phase3: {(time.perf_counter() - t0) * 1000:.0f} ms (load + compile, once)")

    profiler = cProfile.Profile() if args.cprofile else None
    if profiler:
        profiler.enable()
    evaluated = serialised = float("inf")
    for _ in range(1 if profiler else max(1, args.repeat)):
        # CPU time, best of the passes: figures depend as little as possible on what else the machine runs
        t0 = time.process_time()
        results = [compiled.evaluate(f, AS_OF, trace=False) for f in families]
        t1 = time.process_time()
        texts = [json.dumps(r.to_dict(), sort_keys=True, separators=(",", ":")) for r in results]
        evaluated, serialised = min(evaluated, t1 - t0), min(serialised, time.process_time() - t1)
    if profiler:
        profiler.disable()
    n = len(families)
    for label, seconds in (("evaluate(trace=False)", evaluated), ("to_dict + json", serialised),
                           ("both", evaluated + serialised)):
        print(f"  {label:22s} {seconds * 1000 / n:6.3f} ms/family  {n / seconds:8,.0f} families/s")
    values = {}
    for r in results:
        values[r.eligible.value] = values.get(r.eligible.value, 0) + 1
    print(f"  eligible: {dict(sorted(values.items()))}; JSON {sum(map(len, texts)) / n / 1024:.1f} KiB/family")
    projected = 40_000 * (evaluated + serialised) / n
    print(f"projection for 40,000 families (~{40_000 * facts / n / 1e6:.1f}M facts): {projected:.1f}s on 1 core")

    if args.workers > 0:
        chunks = [(s, min(2000, 40_000 - s), args.seed) for s in range(0, 40_000, 2000)] if args.workers > 1 else []
        if chunks:
            t0 = time.perf_counter()
            with get_context("fork").Pool(args.workers) as pool:
                parts = pool.map(_time_chunk, chunks)
            wall = time.perf_counter() - t0
            cpu = sum(e + s for e, s, _ in parts)
            print(f"40,000 families on {args.workers} processes: {wall:.1f}s wall (generation and compile in each "
                  f"worker included), evaluate+json CPU {cpu:.1f}s = {cpu * 1000 / 40_000:.3f} ms/family")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
