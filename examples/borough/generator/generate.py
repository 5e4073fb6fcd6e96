"""Generate a whole synthetic borough: people, events, feeds, declarations and ground truth."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np

from engine.errors import ConfigError

from . import routine
from .declare import write_declarations
from .facts import Draw, World
from .feed_specs import FEEDS
from .households import build_population
from .needs import FamilyNeeds
from .randomness import ScalarRandom
from .registers import render_register
from .render import FeedRenderer
from .truth import write_needs_and_facts, write_people, write_records
from .writers import extract_folder, write_rows

WINDOW_START = date(2019, 9, 1)
WINDOW_END = date(2024, 12, 31)
MIN_RESIDENTS, MAX_RESIDENTS = 1_000, 1_000_000
GENERATOR_VERSION = "1"


@dataclass
class Summary:
    """What was generated: sizes, row counts per feed and the seconds each stage took."""

    residents: int
    households: int
    extracts: list[str]
    feed_rows: dict[str, int] = field(default_factory=dict)
    fact_counts: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)       # wall clock
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)   # this process's CPU time

    @property
    def total_rows(self) -> int:
        return sum(self.feed_rows.values())


def extract_days(months: int, end: date = WINDOW_END) -> list[int]:
    """First day of each of the last ``months`` months up to the one after ``end``, as ordinals.

    Examples:
        >>> [date.fromordinal(d).isoformat() for d in extract_days(2)]
        ['2024-12-01', '2025-01-01']
    """
    year, month = end.year, end.month + 1
    days = []
    for _ in range(months):
        if month > 12:
            year, month = year + 1, month - 12
        days.append(date(year, month, 1).toordinal())
        month -= 1
        if month < 1:
            year, month = year - 1, 12
    return sorted(days)


def _check(residents: int, months: int) -> None:
    if not MIN_RESIDENTS <= residents <= MAX_RESIDENTS:
        raise ConfigError(f"--residents {residents} is out of range: give {MIN_RESIDENTS:,} to {MAX_RESIDENTS:,} "
                          "(for example --residents 5000)")
    if not 1 <= months <= 24:
        raise ConfigError(f"--months {months} is out of range: give 1 to 24 monthly extracts (for example --months 6)")


def _clear(out: Path) -> None:
    """Remove what an earlier run generated here (and only that), so reruns give identical trees."""
    for name in ("extracts", "schemas", "truth"):
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    if (out / "feeds.yaml").exists():
        (out / "feeds.yaml").unlink()


def window_for(end: date | None) -> tuple[date, date]:
    """The simulated history: five school years and a bit up to ``end`` (default the fixed window).

    The demo passes an ``end`` some months after today, so the Temporal clock (which starts today) and
    the data agree.

    Examples:
        >>> [d.isoformat() for d in window_for(date(2027, 6, 30))]
        ['2022-09-01', '2027-06-30']
    """
    if end is None:
        return WINDOW_START, WINDOW_END
    return date(end.year - 5, 9, 1), end


def generate(out: Path, residents: int, seed: int, months: int = 6,
             progress: Callable[[str], None] | None = None, end: date | None = None) -> Summary:
    """Write feeds.yaml, schemas/, extracts/<date>/ and truth/ for a borough of about ``residents`` people.

    ``end`` moves the simulated history (default 2019-09-01 to 2024-12-31) to end on that date instead.
    """
    _check(residents, months)
    window_start, window_end = window_for(end)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a directory (it is created if missing)")
    note = progress or (lambda _stage: None)
    timings: dict[str, float] = {}
    cpu_timings: dict[str, float] = {}
    clock, cpu_clock = time.perf_counter(), time.process_time()

    def lap(stage: str) -> None:
        nonlocal clock, cpu_clock
        now, cpu_now = time.perf_counter(), time.process_time()
        timings[stage], cpu_timings[stage] = round(now - clock, 3), round(cpu_now - cpu_clock, 3)
        clock, cpu_clock = now, cpu_now
        note(stage)

    pop = build_population(np.random.default_rng([seed, 0]), residents, window_start, window_end)
    lap("people and households")
    world = World.empty()
    needs = FamilyNeeds(Draw(ScalarRandom(f"{seed}:needs")), pop, world)
    needs.run()
    needs.young_carers()
    draw = Draw(ScalarRandom(f"{seed}:routine"))
    routine.attendance(np.random.default_rng([seed, 3]), pop, world, needs)
    routine.work_and_benefits(draw, pop, world, needs)
    routine.neet_tracking(draw, pop, world, needs)
    routine.early_years(draw, pop, world, needs)
    routine.background(draw, pop, world)
    lap("life events")

    days = extract_days(months, window_end)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    renderers: list[FeedRenderer] = []
    delivered: dict[str, dict[int, tuple[int, int | None, int | None]]] = {}
    summary = Summary(residents=pop.size, households=len(pop.hh_shape),
                      extracts=[date.fromordinal(d).isoformat() for d in days])
    for spec in FEEDS:
        renderer = FeedRenderer(spec, pop, seed, days)
        if spec.fact_type is None:
            render_register(pop, renderer)
        else:
            renderer.render_facts(world.tables[spec.fact_type], delivered.setdefault(spec.fact_type, {}).__setitem__)
        for index, rows in enumerate(renderer.rows):
            write_rows(spec, extract_folder(out, days[index]) / spec.file_name, rows)
        summary.feed_rows[spec.name] = sum(len(rows) for rows in renderer.rows)
        renderer.release()
        renderers.append(renderer)
    write_declarations(out, window_start)
    lap("feeds")

    truth = out / "truth"
    truth.mkdir()
    write_people(truth, pop)
    write_needs_and_facts(truth, pop, world, delivered, days)
    write_records(truth, pop, renderers, days)
    summary.fact_counts = {name: len(table) for name, table in world.tables.items()}
    lap("ground truth")
    summary.stage_seconds, summary.stage_cpu_seconds = timings, cpu_timings
    manifest = {"generator_version": GENERATOR_VERSION, "seed": seed, "residents_requested": residents,
                "residents": pop.size, "households": len(pop.hh_shape), "months": months,
                "window": [window_start.isoformat(), window_end.isoformat()], "extracts": summary.extracts,
                "feed_rows": summary.feed_rows, "fact_counts": summary.fact_counts}
    (truth / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return summary
