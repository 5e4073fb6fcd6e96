"""The nightly pipeline as one call: ingest -> match -> families -> profile, per monthly extract.

A borough folder holds ``feeds.yaml`` and dated extract folders (``extracts/YYYY-MM-DD/...``). Extracts
are loaded in date order, one month at a time, and after each month people are matched, families
re-formed and every family profiled as of that extract date: knowledge accumulates the way it does in a
council, so decisions, ids and the monthly trend are what a nightly run would have produced.

This module is composition (it wires dsl, engine and workflows); it is not workflow code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from engine.errors import ConfigError, DataError
from engine.integrate.feeds import Feeds, load_feeds
from engine.rules.calendar import ENGLISH_TERMS, ONE_DAY, TermCalendar, period_end, period_label, period_of, period_start
from engine.rules.ir import Framework

_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class StageTime:
    stage: str
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class PeriodNotDelivered:
    """The last complete period of a per-period fact type (a school term's attendance) that no feed had
    delivered on the profile date.

    Every rule reading that period is unknown until an extract brings it: this is the data's state (the
    school census reports a term weeks after it ends), not a fault, and a data officer needs it named.
    """

    fact_type: str
    period: str                   # e.g. "autumn term 2024"
    period_ended: date
    latest_delivered: str | None  # e.g. "summer term 2024"; None when no record of the type is loaded
    feeds: tuple[str, ...]
    #: families whose eligibility is unknown and whose decision names this period among its reasons, of
    #: all families whose eligibility is unknown (None until a profile run is counted: count_waiting)
    families_unknown: int | None = None
    families_unknown_in_all: int | None = None

    def describe(self) -> str:
        feeds = ", ".join(self.feeds) or "no feed"
        delivered = (f"the latest {self.fact_type} in {feeds} is for {self.latest_delivered}"
                     if self.latest_delivered else f"{feeds} has delivered no {self.fact_type} records")
        counted = ("" if self.families_unknown is None else
                   f"; {self.families_unknown:,} of the {self.families_unknown_in_all:,} families whose eligibility "
                   "is unknown are waiting for it")
        return (f"{self.fact_type} for {self.period} (ended {self.period_ended}) is not in the feeds yet "
                f"({delivered}): rules reading it stay unknown until an extract brings it{counted} "
                "(docs/data-readiness.md)")


def periods_not_delivered(engine: sa.Engine, framework: Framework, as_of: date,
                          terms: TermCalendar = ENGLISH_TERMS) -> list[PeriodNotDelivered]:
    """For each per-period fact type of ``framework``, the last period ending on or before ``as_of`` when
    no loaded record falls in it or later (one record of anybody's is enough to count it delivered)."""
    from engine.storage.tables_ingest import batches, facts

    periodic = [t for t in framework.fact_types if t.recording == "periodic"]
    if not periodic:
        return []
    found = []
    with engine.connect() as conn:
        feeds_of: dict[str, set[str]] = {}
        for feed, types in conn.execute(sa.select(batches.c.feed, batches.c.fact_types)):
            for name in types or ():
                feeds_of.setdefault(name, set()).add(feed)
        for fact_type in periodic:
            unit = fact_type.period or "terms"
            due = period_of(as_of, unit, terms)
            if period_end(due, unit) > as_of:  # the period holding as_of has not ended: the one before is due
                due = period_of(period_start(due, unit) - ONE_DAY, unit, terms)
            latest = conn.execute(sa.select(sa.func.max(facts.c.event_date)).where(
                facts.c.fact_type == fact_type.name, facts.c.event_date <= as_of)).scalar_one()
            if latest is not None and period_end(period_of(latest, unit, terms), unit) >= period_end(due, unit):
                continue
            found.append(PeriodNotDelivered(
                fact_type.name, period_label(due, unit), period_end(due, unit),
                period_label(period_of(latest, unit, terms), unit) if latest else None,
                tuple(sorted(feeds_of.get(fact_type.name, ())))))
    return found


def count_waiting(gaps: list[PeriodNotDelivered], evaluated: Sequence) -> list[PeriodNotDelivered]:
    """Each gap with the number of eligibility-unknown families whose decision record names its period
    among its unknown reasons (the evaluator's reasons read "attendance for autumn term 2024 ...")."""
    if not gaps:
        return gaps
    unknown = [item for item in evaluated if item.eligible == "unknown"]
    return [replace(gap, families_unknown=sum(any(f"{gap.fact_type} for {gap.period}" in reason for reason in item.reasons)
                                              for item in unknown),
                    families_unknown_in_all=len(unknown)) for gap in gaps]


@dataclass
class MonthResult:
    extract_date: date
    files_loaded: int
    rows_in: int
    accepted: int
    quarantined: int
    unreadable: list[str]
    persons: int | None
    families: int | None
    profile_run_id: str | None
    eligible: tuple[int, int, int] | None  # met, not met, unknown
    #: per-period records (a term's attendance) due by the profile date that no feed has delivered yet
    waiting_for: list[PeriodNotDelivered] = field(default_factory=list)
    #: the extract was already loaded and profiled (the newest: with this framework and engine, and nothing
    #: known has changed since): no stage ran again; ``profile_run_id`` and ``eligible`` are that earlier
    #: run's
    skipped: bool = False


@dataclass
class PipelineResult:
    months: list[MonthResult] = field(default_factory=list)
    stages: list[StageTime] = field(default_factory=list)

    @property
    def last_run_id(self) -> str | None:
        return next((m.profile_run_id for m in reversed(self.months) if m.profile_run_id), None)

    def seconds_by_stage(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.stages:
            out[s.stage] = out.get(s.stage, 0.0) + s.seconds
        return out


def find_feeds(path: str | Path) -> Path:
    """``feeds.yaml`` itself, or the one in a borough folder (or its ``generated/`` subfolder)."""
    p = Path(path)
    for candidate in (p, p / "feeds.yaml", p / "generated" / "feeds.yaml"):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"{p}: no feeds.yaml here. Give a feeds.yaml or a borough folder holding one "
        "(generate one with `hearth borough generate --out DIR` or run `hearth demo`)."
    )


def extract_dates(feeds_path: Path) -> list[date]:
    """The dated extract folders beside ``feeds.yaml`` (``extracts/YYYY-MM-DD``), oldest first."""
    folder = feeds_path.parent / "extracts"
    if not folder.is_dir():
        return []
    return sorted(date.fromisoformat(d.name) for d in folder.iterdir() if d.is_dir() and _DATED.match(d.name))


def feeds_for_month(feeds: Feeds, day: date) -> Feeds:
    """The same feeds with every ``extracts/*/`` source path pinned to one dated extract folder."""
    pinned = []
    for feed in feeds.feeds:
        path = feed.source.path
        if path and "extracts/*/" in path:
            path = path.replace("extracts/*/", f"extracts/{day.isoformat()}/", 1)
            feed = feed.model_copy(update={"source": feed.source.model_copy(update={"path": path})})
        pinned.append(feed)
    return Feeds(path=feeds.path, feeds=pinned, schemas=feeds.schemas)


@dataclass
class Pipeline:
    """Runs the stages against one database; ``note`` receives progress lines (the CLI prints them)."""

    engine: sa.Engine
    framework: Framework
    note: Callable[[str], None] = lambda _msg: None
    workers: int = 1
    #: process every extract again, also those already profiled (see :meth:`run`)
    rerun: bool = False
    result: PipelineResult = field(default_factory=PipelineResult)

    def _timed(self, stage: str):
        pipeline = self

        class _Timer:
            def __enter__(self):
                self.start = time.perf_counter()
                pipeline.note(f"{stage}…")
                return self

            def __exit__(self, *exc):
                pipeline.result.stages.append(StageTime(stage, time.perf_counter() - self.start))
                return False

        return _Timer()

    def run(self, feeds_path: Path, *, until: date | None = None, only_last: bool = False) -> PipelineResult:
        feeds = load_feeds(feeds_path)
        dates = [d for d in extract_dates(feeds_path) if until is None or d <= until]
        if only_last and dates:
            dates = dates[-1:]
        if not dates:
            self.month(feeds, None)
        # A nightly run decides the newest extract again only if its last profile was under another framework
        # or engine version, or something is known that it did not know; an older extract already loaded and
        # profiled is history, decided under the framework then in force, and is not decided again. Once one
        # extract is processed, the later ones are too (what they know has changed).
        processing = self.rerun
        for day in dates:
            skip = None if processing else ("newest" if day == dates[-1] else "history")
            processing = not self.month(feeds_for_month(feeds, day), day, skip=skip).skipped or processing
        return self.result

    def months(self, feeds_path: Path, dates: list[date]) -> Iterator[MonthResult]:
        feeds = load_feeds(feeds_path)
        for day in dates:
            yield self.month(feeds_for_month(feeds, day), day)

    def month(self, feeds: Feeds, day: date | None, *, skip: str | None = None) -> MonthResult:
        """Ingest one extract, then match, form families and profile as of its date. ``skip``: when the
        extract loads nothing new, ``"history"`` skips the other stages if it was profiled before (under
        any framework), ``"newest"`` only if it was profiled with this framework and engine by a run that
        knew everything known now."""
        label = day.isoformat() if day else "all extracts"
        return self._load_and_profile([feeds], label, day, skip)

    def first_load(self, feeds_path: Path, dates: list[date]) -> MonthResult:
        """A council's first full load: the given extracts ingested oldest first as one stage, then one
        match, one family build and one profile as of the newest of them (not one per month)."""
        feeds = load_feeds(feeds_path)
        label = f"{len(dates)} extracts to {dates[-1].isoformat()}" if dates else "all extracts"
        pinned = [feeds_for_month(feeds, day) for day in dates] or [feeds]
        return self._load_and_profile(pinned, label, dates[-1] if dates else None)

    def _load_and_profile(self, extracts: list[Feeds], label: str, day: date | None,
                          skip: str | None = None) -> MonthResult:
        from engine.integrate.ingest import ingest

        files = []
        with self._timed(f"ingest {label}"):
            for feeds in extracts:
                files.extend(ingest(self.engine, feeds, workers=self.workers).files)
        loaded = [f for f in files if f.status == "loaded"]
        if day is None:
            day = max((f.extract_date for f in files if f.extract_date), default=None) or date.today()
        unreadable = [f"{f.feed}: {f.error}" for f in files if f.status == "unreadable"]
        earlier = self.profiled_run(day, knowing_everything=skip == "newest") if skip and not loaded else None
        if earlier is not None:
            month = MonthResult(
                extract_date=day, files_loaded=0, rows_in=0, accepted=0, quarantined=0, unreadable=unreadable,
                persons=None, families=None, profile_run_id=earlier.run_id,
                eligible=(earlier.eligible_met, earlier.eligible_not_met, earlier.eligible_unknown), skipped=True)
            self.result.months.append(month)
            return month
        persons = self.match(extracts)
        families = self.families()
        run_id, eligible, waiting_for = self.profile(day)
        month = MonthResult(
            extract_date=day, files_loaded=len(loaded), rows_in=sum(f.rows_in for f in loaded),
            accepted=sum(f.accepted for f in loaded), quarantined=sum(f.quarantined for f in loaded),
            unreadable=unreadable, persons=persons,
            families=families, profile_run_id=run_id, eligible=eligible, waiting_for=waiting_for,
        )
        self.result.months.append(month)
        return month

    def profiled_run(self, as_of: date, *, knowing_everything: bool) -> sa.Row | None:
        """The latest profiling run as of ``as_of``, or None. Without ``knowing_everything`` any run will
        do (history stays as it was decided, under the framework then in force); with it only a run of this
        framework and engine version that knew everything known now (no batch loaded, family build
        finished or override set or revoked after it started)."""
        import engine as engine_pkg
        from engine.storage.tables_decisions import decision_runs, overrides
        from engine.storage.tables_families import family_builds
        from engine.storage.tables_ingest import batches

        query = sa.select(decision_runs).where(decision_runs.c.as_of == as_of)
        if knowing_everything:
            query = query.where(decision_runs.c.framework_hash == self.framework.content_hash(),
                                decision_runs.c.engine_version == engine_pkg.__version__)
        with self.engine.connect() as conn:
            run = conn.execute(query.order_by(decision_runs.c.known_at.desc()).limit(1)).first()
            if run is None or not knowing_everything:
                return run
            changes = [conn.execute(sa.select(sa.func.max(column))).scalar()
                       for column in (batches.c.loaded_at, family_builds.c.finished_at, overrides.c.created_at,
                                      overrides.c.revoked_at)]
        latest = max((c for c in changes if c is not None), default=None)
        return run if latest is None or run.known_at >= latest else None

    def match(self, extracts: Sequence[Feeds] = ()) -> int | None:
        from engine.matching.pipeline import run_matching
        from engine.matching.population import feed_populations

        # the feeds' declared age ranges are matching evidence; None keeps what the previous run had
        populations = feed_populations(f for feeds in extracts for f in feeds.feeds) or None
        with self._timed("match people"):
            # pairs are compared in forked workers; the run is the same for any number of them
            summary = run_matching(self.engine, populations=populations, workers=self.workers)
        return getattr(summary, "persons", None)

    def families(self) -> int | None:
        from engine.integrate.families import build_families
        from engine.integrate.grouping import load_grouping

        with self._timed("form families"):
            report = build_families(self.engine, load_grouping(None))
        household = report.layers.get("household")
        return household.families if household else None

    def profile(self, as_of: date) -> tuple[str | None, tuple[int, int, int] | None, list[PeriodNotDelivered]]:
        """Profile every family as of ``as_of``; also names the per-period records (a term's attendance)
        due by then that no feed has delivered, which leave families unknown until the next extracts."""
        from engine.decisions.profile import profile

        with self._timed(f"profile as of {as_of.isoformat()}"):
            run = profile(self.engine, self.framework, as_of, workers=self.workers)
            waiting_for = count_waiting(periods_not_delivered(self.engine, self.framework, as_of), run.evaluated)
        # not sent to `note`: the benchmark reads each note as the start of a stage
        counts = run.summary.eligible
        return run.run_id, (counts["met"], counts["not_met"], counts["unknown"]), waiting_for

