"""Client-side helpers: open cases from a profiling run, take actions, read views and histories.

The workflow decides; these helpers address it by its deterministic id and keep the records Temporal
does not: a validator's rejection leaves no trace in the workflow history, so every refused action is
written to ``rejected_actions`` here, and the case row plus its "opened" audit entry are written when a
case is created (in bulk, which is what makes creating thousands of cases fast).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Iterable, Sequence

import sqlalchemy as sa
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from engine.errors import ConfigError, HearthError, NotFoundError
from engine.rules.ir import DURATION_UNITS, Duration, Framework
from engine.storage.tables_cases import case_audit, cases, rejected_actions
from workflows import lifecycle as lcx
from workflows.activities import insert_for, naive_utc
from workflows.case_workflow import FAMILY_ID, FRAMEWORK_ID, PHASE, CaseWorkflow, case_workflow_id
from workflows.models import (
    ActionRequest,
    ActionResult,
    CaseInput,
    CaseOutcome,
    CaseView,
    ClaimRequest,
    Deadline,
    EligibilitySignal,
    EvidenceRequest,
    FactSignal,
    ProfilingRunSignal,
    TimelineEntry,
)
from workflows.worker import TASK_QUEUE


class CaseActionRejected(HearthError, ValueError):
    """A case refused an action (wrong state, role or missing field); the message says why."""


@dataclass(frozen=True)
class ProfiledFamily:
    """One family's result in a profiling run: what case creation needs from it."""

    family_id: str
    eligible: str
    decision_id: str | None = None


@dataclass
class StartReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    #: closed cases of families still eligible: not reopened (a new referral needs a new phase or id)
    closed_not_reopened: list[str] = field(default_factory=list)
    #: open, not yet attached cases told that the family is no longer (or not surely) eligible
    flagged: list[str] = field(default_factory=list)
    #: open cases waiting on a guard, told to re-check it as of the run's evaluation date
    rechecked: list[str] = field(default_factory=list)


def waits_on_guards(lc, state: str) -> bool:
    """Whether a case in ``state`` can be waiting on a rule: an automatic transition out of it is
    guarded (taken when the rule holds, or when its timer fires and the rule holds)."""
    return not lcx.is_final(lc, state) and any(t.automatic and t.guard for t in lcx.transitions_from(lc, state))


def resolve_timer_durations(framework: Framework, as_of: date) -> dict[str, Duration]:
    """Timer durations given as parameters, taking the parameter's value in force on ``as_of``."""
    resolved: dict[str, Duration] = {}
    for timer_name, param_name in lcx.unresolved_timer_durations(framework.lifecycle):
        param = framework.parameter(param_name)
        if param is None:
            raise ConfigError(f"timer {timer_name} takes its duration from parameter {param_name!r}, "
                              f"which framework {framework.header.id} does not define")
        in_force = [v for v in param.values if v.effective_from <= as_of]
        if not in_force:
            raise ConfigError(f"parameter {param_name} has no value in force on {as_of} (timer {timer_name})")
        value = max(in_force, key=lambda v: v.effective_from).value
        if isinstance(value, int) and param.unit in DURATION_UNITS:
            value = Duration(amount=value, unit=param.unit)
        if not isinstance(value, Duration):
            raise ConfigError(f"parameter {param_name} is {value!r}; timer {timer_name} needs a duration "
                              "such as `6 months`")
        resolved[timer_name] = value
    return resolved


def profiled_families(engine: sa.Engine, run_id: str) -> tuple[Framework, date, list[ProfiledFamily]]:
    """The framework, evaluation date and per-family eligibility of a recorded profiling run."""
    from engine.decisions.records import decision_summary
    from engine.decisions.store import load_stored_framework
    from engine.storage.tables_decisions import decision_runs, decisions

    with engine.connect() as conn:
        run = conn.execute(sa.select(decision_runs).where(decision_runs.c.run_id == run_id)).first()
        if run is None:
            raise NotFoundError(f"no profiling run {run_id!r}; `hearth profile` prints the run id it records")
        framework = load_stored_framework(conn, run.framework_hash)
        # eligibility read in place from each stored record, streamed: a borough's run is ~130,000 decisions
        rows = conn.execute(sa.select(decisions.c.family_id, decisions.c.result_zlib, decisions.c.decision_id,
                                      decisions.c.framework_hash)
                            .where(decisions.c.run_id == run_id).order_by(decisions.c.seq)).fetchall()
        families = [ProfiledFamily(row.family_id, decision_summary(row, conn).eligible, row.decision_id)
                    for row in rows]
    return framework, run.as_of, families


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CaseClient:
    """Talks to case workflows for one database and task queue."""

    def __init__(self, client: Client, engine: sa.Engine, task_queue: str = TASK_QUEUE,
                 *, start_concurrency: int = 32) -> None:
        self.client = client
        self.engine = engine
        self.task_queue = task_queue
        #: starts in flight at once; more only queue up in the server (its database takes one writer)
        #: and use up the local worker's task slots, after which starts are no longer eager
        self.start_concurrency = start_concurrency

    # ------------------------------------------------------------------------------------ creation
    async def start_cases(self, framework: Framework, families: Iterable[ProfiledFamily], *, as_of: date,
                          run_id: str = "manual", max_events_per_run: int = 2000) -> StartReport:
        """Open one case per eligible family (idempotently) and flag open cases of families that lost it."""
        from engine.decisions.store import store_framework

        lc = framework.lifecycle
        if lc is None:
            raise ConfigError(f"framework {framework.header.id} has no lifecycle section; add one "
                              "(see docs/language-sketch.md, `lifecycle ... end`) before opening cases")
        problems = lcx.check(lc)
        if problems:
            raise ConfigError(f"the lifecycle of {framework.header.id} cannot run: " + "; ".join(problems))
        durations = resolve_timer_durations(framework, as_of)
        with self.engine.begin() as conn:
            digest = store_framework(conn, framework)
        header = framework.header
        families = list(families)
        eligible = [f for f in families if f.eligible == "met"]
        ids = {f.family_id: case_workflow_id(f.family_id, header.id, header.phase) for f in families}
        new_ids = self._insert_case_rows(
            [(ids[f.family_id], f) for f in eligible], header.id, header.phase, digest,
            lcx.initial_state(lc).name, run_id,
        )
        report = StartReport()
        gate = asyncio.Semaphore(self.start_concurrency)

        async def start(f: ProfiledFamily) -> None:
            inp = CaseInput(
                case_id=ids[f.family_id], family_id=f.family_id, framework_id=header.id, phase=header.phase,
                framework_hash=digest, lifecycle=lc, timer_durations=durations,
                opening_decision_id=f.decision_id, max_events_per_run=max_events_per_run,
            )
            attributes = TypedSearchAttributes([SearchAttributePair(FAMILY_ID, f.family_id),
                                                SearchAttributePair(FRAMEWORK_ID, header.id),
                                                SearchAttributePair(PHASE, header.phase)])
            async with gate:
                try:
                    await self.client.start_workflow(
                        CaseWorkflow.run, inp, id=inp.case_id, task_queue=self.task_queue,
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, search_attributes=attributes,
                        # a worker in this process (``hearth run``, the CLI) gets the first workflow task
                        # in the start response: no task queue dispatch, poll or history read per case
                        request_eager_start=True,
                    )
                except WorkflowAlreadyStartedError:
                    report.closed_not_reopened.append(inp.case_id)
                    return
            (report.created if inp.case_id in new_ids else report.existing).append(inp.case_id)

        async def tell(f: ProfiledFamily) -> None:
            signal = EligibilitySignal(run_id=run_id, eligible=f.eligible, as_of=as_of, decision_id=f.decision_id)
            if await self._signal_open(ids[f.family_id], CaseWorkflow.eligibility, signal, gate) and f.eligible != "met":
                report.flagged.append(ids[f.family_id])

        await asyncio.gather(*(start(f) for f in eligible))
        known = set(report.existing) | set(self._known_cases([ids[f.family_id] for f in families
                                                              if f.eligible != "met"]))
        await asyncio.gather(*(tell(f) for f in families if ids[f.family_id] in known))
        for bucket in (report.created, report.existing, report.closed_not_reopened, report.flagged):
            bucket.sort()
        return report

    async def start_cases_for_run(self, run_id: str, **kwargs) -> StartReport:
        """Open cases for a recorded profiling run, then have the framework's cases that wait on a guard
        re-check it as of the run's evaluation date (see :meth:`recheck_waiting_cases`)."""
        framework, as_of, families = profiled_families(self.engine, run_id)
        report = await self.start_cases(framework, families, as_of=as_of, run_id=run_id, **kwargs)
        report.rechecked = await self.recheck_waiting_cases(framework.header.id, framework.header.phase, run_id, as_of)
        return report

    async def recheck_waiting_cases(self, framework_id: str, phase: str, run_id: str, as_of: date) -> list[str]:
        """Signal ``profiled`` to every open case of the framework whose state waits on a guard.

        ``as_of`` is the run's evaluation date, the feeds' coverage end: the case re-evaluates its
        waiting guards as of that date (its weekly re-check asks as of today, usually past the
        coverage, so it reads unknown between extracts). The signal is deduplicated by ``run_id``, so
        a repeated call is harmless. Cases pinned to older framework versions are judged by their own
        lifecycle. Returns the ids of the cases told.
        """
        from engine.decisions.store import load_stored_framework

        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(cases.c.case_id, cases.c.state, cases.c.framework_hash).where(
                cases.c.framework_id == framework_id, cases.c.phase == phase)).all()
            lifecycles = {digest: load_stored_framework(conn, digest).lifecycle
                          for digest in {r.framework_hash for r in rows}}
        waiting = [r.case_id for r in rows if waits_on_guards(lifecycles[r.framework_hash], r.state)]
        signal, gate = ProfilingRunSignal(run_id=run_id, as_of=as_of), asyncio.Semaphore(self.start_concurrency)
        told = await asyncio.gather(*(self._signal_open(c, CaseWorkflow.profiled, signal, gate) for c in waiting))
        return sorted(c for c, ok in zip(waiting, told) if ok)

    async def _signal_open(self, case_id: str, signal_method, payload, gate: asyncio.Semaphore) -> bool:
        """Signal a case; False when it has no running workflow (never opened, or closed)."""
        async with gate:
            try:
                await self.client.get_workflow_handle(case_id).signal(signal_method, payload)
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                return False
        return True

    def _insert_case_rows(self, rows: Sequence[tuple[str, ProfiledFamily]], framework_id: str, phase: str,
                          digest: str, state: str, run_id: str) -> set[str]:
        """Insert rows for cases not seen before (one "opened" audit entry each); return their ids."""
        now = naive_utc(_utcnow())
        known = set(self._known_cases([case_id for case_id, _ in rows]))
        fresh = [(case_id, f) for case_id, f in rows if case_id not in known]
        if not fresh:
            return set()
        with self.engine.begin() as conn:
            conn.execute(insert_for(self.engine, cases).on_conflict_do_nothing(index_elements=["case_id"]), [
                {"case_id": case_id, "family_id": f.family_id, "framework_id": framework_id, "phase": phase,
                 "framework_hash": digest, "state": state, "flags": "[]", "opened_at": now, "updated_at": now,
                 "opening_decision_id": f.decision_id} for case_id, f in fresh])
            conn.execute(insert_for(self.engine, case_audit).on_conflict_do_nothing(
                index_elements=["case_id", "seq"]), [
                {"case_id": case_id, "seq": 0, "kind": "opened", "name": "opened", "to_state": state,
                 "actor": "system", "reason": f"eligible in profiling run {run_id}", "decision_id": f.decision_id,
                 "at": now, "details": json.dumps({"framework_hash": digest})} for case_id, f in fresh])
        return {case_id for case_id, _ in fresh}

    def _known_cases(self, case_ids: Sequence[str]) -> list[str]:
        found: list[str] = []
        with self.engine.connect() as conn:
            for i in range(0, len(case_ids), 500):
                chunk = case_ids[i:i + 500]
                found += conn.execute(sa.select(cases.c.case_id).where(cases.c.case_id.in_(chunk))).scalars().all()
        return found

    # ------------------------------------------------------------------------------------ actions
    async def _update(self, case_id: str, update, request, action: str, actor: str, role: str | None,
                      update_id: str | None = None):
        """Send an update; ``update_id`` makes a retry of the same action return the first answer."""
        handle = self.client.get_workflow_handle(case_id)
        try:
            return await handle.execute_update(update, request, id=update_id)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            self._log_rejection(case_id, action, actor, role, message, request.model_dump(mode="json"))
            raise CaseActionRejected(f"case {case_id}: {action} refused: {message}") from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                message = "no running case with this id (closed cases take no actions; see `hearth case list`)"
                self._log_rejection(case_id, action, actor, role, message, request.model_dump(mode="json"))
                raise NotFoundError(f"case {case_id}: {message}") from None
            raise

    def _log_rejection(self, case_id: str, action: str, actor: str, role: str | None, message: str,
                       payload: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(rejected_actions.insert().values(
                case_id=case_id, action=action, actor=actor, role=role, message=message,
                at=naive_utc(_utcnow()), payload=json.dumps(payload, sort_keys=True)))

    async def act(self, case_id: str, req: ActionRequest, update_id: str | None = None) -> ActionResult:
        return await self._update(case_id, CaseWorkflow.act, req, req.transition, req.actor, req.role, update_id)

    async def take(self, case_id: str, *, requires: str, actor: str, role: str, fields: dict[str, str] | None = None,
                   reason: str | None = None, final: bool | None = None) -> ActionResult:
        """Take the transition, possible now, that requires ``requires`` (``lead_practitioner`` = attach,
        ``plan`` = start the plan, ``reason`` into a final state = close), so the CLI needs no names."""
        view = await self.view(case_id)
        lc = await self._lifecycle(case_id)
        options = [t for t in lcx.transitions_requiring(lc, requires) if view.state in t.sources
                   and (final is None or lcx.is_final(lc, t.target) == final)]
        if not options:
            message = (f"no transition requiring {requires} is possible from state {view.state}; "
                       f"possible now: {', '.join(view.available_actions) or 'none'}")
            self._log_rejection(case_id, requires, actor, role, message, {"fields": fields or {}, "reason": reason})
            raise CaseActionRejected(f"case {case_id}: {message}")
        req = ActionRequest(transition=options[0].name, actor=actor, role=role, fields=fields or {}, reason=reason)
        return await self.act(case_id, req)

    async def sign_off(self, case_id: str, *, actor: str, role: str, decision_id: str | None = None,
                       update_id: str | None = None) -> ActionResult:
        claim = lcx.claim_transition(await self._lifecycle(case_id))
        if claim is None:
            raise CaseActionRejected(f"case {case_id}: its lifecycle has no claim sign-off transition")
        return await self.act(case_id, ActionRequest(transition=claim.name, actor=actor, role=role,
                                                     decision_id=decision_id), update_id)

    async def record_evidence(self, case_id: str, req: EvidenceRequest, update_id: str | None = None) -> ActionResult:
        return await self._update(case_id, CaseWorkflow.record_evidence, req, "record_evidence", req.actor, req.role,
                                  update_id)

    async def request_claim(self, case_id: str, req: ClaimRequest, update_id: str | None = None) -> ActionResult:
        return await self._update(case_id, CaseWorkflow.request_claim, req, "request_claim", req.actor, req.role,
                                  update_id)

    async def send_fact(self, case_id: str, fact: FactSignal) -> None:
        await self.client.get_workflow_handle(case_id).signal(CaseWorkflow.fact, fact)

    # ------------------------------------------------------------------------------------ views
    async def _lifecycle(self, case_id: str):
        from engine.decisions.store import load_stored_framework

        with self.engine.connect() as conn:
            digest = conn.execute(sa.select(cases.c.framework_hash).where(cases.c.case_id == case_id)).scalar()
            if digest is None:
                raise NotFoundError(f"no case {case_id!r}; list cases with `hearth case list`")
            return load_stored_framework(conn, digest).lifecycle

    async def outcome(self, case_id: str) -> CaseOutcome:
        """Wait for the case to finish (following continue-as-new) and return how it ended."""
        return await self.client.get_workflow_handle_for(CaseWorkflow.run, case_id).result()

    async def view(self, case_id: str) -> CaseView:
        return await self._query(case_id, CaseWorkflow.view)

    async def timeline(self, case_id: str) -> list[TimelineEntry]:
        return await self._query(case_id, CaseWorkflow.timeline)

    async def deadlines(self, case_id: str) -> list[Deadline]:
        return await self._query(case_id, CaseWorkflow.deadlines)

    async def _query(self, case_id: str, query):
        try:
            return await self.client.get_workflow_handle(case_id).query(query)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise NotFoundError(f"no case workflow {case_id!r}; list cases with `hearth case list`") from None
            raise


def case_history(engine: sa.Engine, case_id: str) -> list[sa.Row]:
    """The case's audit trail from ``case_audit`` (outlives the workflow history's retention)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(case_audit).where(case_audit.c.case_id == case_id)
                            .order_by(case_audit.c.seq)).all()
    if not rows:
        raise NotFoundError(f"no audit trail for case {case_id!r}; list cases with `hearth case list`")
    return rows


def list_cases(engine: sa.Engine, state: str | None = None, family_id: str | None = None, *,
               lead_practitioner: str | None = None, flagged: bool = False) -> list[sa.Row]:
    """Cases from the database, by case id: in one state, of one family, of one lead practitioner (a
    keyworker's caseload), or only those with a flag raised (a manager's worklist)."""
    query = sa.select(cases).order_by(cases.c.case_id)
    if state:
        query = query.where(cases.c.state == state)
    if family_id:
        query = query.where(cases.c.family_id == family_id)
    if lead_practitioner:
        query = query.where(cases.c.lead_practitioner == lead_practitioner)
    if flagged:
        query = query.where(cases.c.flags != "[]")
    with engine.connect() as conn:
        return conn.execute(query).all()


def cases_by_state(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(cases.c.state, sa.func.count()).group_by(cases.c.state)
                                 .order_by(cases.c.state)).all())


def rejected(engine: sa.Engine, case_id: str | None = None) -> list[sa.Row]:
    query = sa.select(rejected_actions).order_by(rejected_actions.c.rejection_id)
    if case_id:
        query = query.where(rejected_actions.c.case_id == case_id)
    with engine.connect() as conn:
        return conn.execute(query).all()
