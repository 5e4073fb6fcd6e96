"""The case workflow: a deterministic interpreter of a framework's lifecycle.

One workflow per case (id ``case-<family>-<framework>-<phase>``). The states, transitions, roles and
timers are those of the :class:`~engine.rules.ir.Lifecycle` the case was started with (pinned with its
framework's content hash), never Python constants. The workflow only decides; activities do the I/O:
guards are evaluated by the rules engine in ``evaluate_guards``, every step is appended to
``case_audit`` by ``write_audit``, a claim is written by the idempotent ``write_claim``.

Messages:
- updates (validated against the lifecycle: transition exists from the current state, the role may
  take it, required fields are given): ``act`` (any manual transition), ``record_evidence``,
  ``request_claim``;
- signals (feeds, at-least-once, deduplicated by id): ``fact``, ``eligibility``, ``profiled`` (a
  profiling run finished: re-check waiting guards as of its evaluation date);
- queries: ``view``, ``timeline``, ``deadlines``.

Timers start when the case enters a timer's state, keep an absolute deadline in the state (so they
survive continue-as-new and worker restarts), restart when a ``restart on`` fact arrives and take their
``fail_transition`` on a ``fail on`` fact.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from engine.rules.ir import Transition
    from workflows import lifecycle as lcx
    from workflows.activities import CaseActivities
    from workflows.models import (
        ActionRequest,
        ActionResult,
        AuditBatch,
        CaseInput,
        CaseOutcome,
        CaseState,
        CaseView,
        ClaimRecord,
        ClaimRequest,
        Deadline,
        EligibilitySignal,
        EvidenceItem,
        EvidenceRequest,
        FactNote,
        FactSignal,
        GuardRequest,
        ProfilingRunSignal,
        TimelineEntry,
        TimerState,
    )

FAMILY_ID = SearchAttributeKey.for_keyword("FamilyId")
FRAMEWORK_ID = SearchAttributeKey.for_keyword("FrameworkId")
PHASE = SearchAttributeKey.for_keyword("Phase")
CASE_STATE = SearchAttributeKey.for_keyword("CaseState")
SEARCH_ATTRIBUTES = (FAMILY_ID, FRAMEWORK_ID, PHASE, CASE_STATE)

SYSTEM_ACTOR = "system"
#: flags raised by profiling results reaching a case that is not yet attached
ELIGIBILITY_FLAGS = {"not_met": "eligibility_lost", "unknown": "eligibility_unknown"}
GUARD_FAILED_FLAG = "guard_evaluation_failed"
#: patch ids of behaviour added after cases were already running (see docs/cases.md, "Changing the workflow")
PATCH_AUDIT_GUARD_CHANGES = "audit-guard-changes"
PATCH_RECHECK_AFTER_PROFILING = "recheck-after-profiling"

#: short: a worker killed mid-activity delays the case by this much before the activity is retried
WRITE_TIMEOUT = timedelta(seconds=10)
GUARD_TIMEOUT = timedelta(seconds=20)
AUDIT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
GUARD_RETRY = RetryPolicy(maximum_attempts=3, non_retryable_error_types=["FrameworkNotStored", "FamilyNotFound"])
CLAIM_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=30), non_retryable_error_types=["ClaimCapReached", "ClaimConflict"]
)


def case_workflow_id(family_id: str, framework_id: str, phase: str) -> str:
    return f"case-{family_id}-{framework_id}-{phase}"


def _rejected(message: str) -> ApplicationError:
    return ApplicationError(message, type="ActionRejected", non_retryable=True)


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        self.inp = inp
        self.lc = inp.lifecycle
        if inp.state is not None:
            self.s = inp.state
        else:
            now = workflow.now()
            self.s = CaseState(
                state=lcx.initial_state(self.lc).name, entered_at=now, opened_at=now, identified_on=now.date()
            )
        self._seen = set(self.s.seen_event_ids)
        self._lock = asyncio.Lock()
        self._pending: list[TimelineEntry] = []
        self._queued: list[tuple[str, str]] = []
        self._profiled: list[ProfilingRunSignal] = []
        self._wake = False
        self._timer_transitions = lcx.timer_driven_transitions(self.lc)

    # ---------------------------------------------------------------------------------------- run
    @workflow.run
    async def run(self, inp: CaseInput) -> CaseOutcome:
        if inp.state is None:
            self._start_timers(self.s.state)
            self._upsert_state()
        while not lcx.is_final(self.lc, self.s.state):
            async with self._lock:
                await self._process_due()
                await self._flush()
            if lcx.is_final(self.lc, self.s.state):
                break
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not (self._pending or self._queued or self._profiled or lcx.is_final(self.lc, self.s.state)):
                    carried = self.s.model_copy(update={"runs": self.s.runs + 1})
                    workflow.continue_as_new(inp.model_copy(update={"state": carried}))
                continue
            timeout = self._time_to_next_event()
            if timeout is not None and timeout <= timedelta(0):
                continue
            self._wake = False
            try:
                await workflow.wait_condition(lambda: self._wake, timeout=timeout)
            except asyncio.TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        async with self._lock:
            await self._flush()
        return CaseOutcome(
            case_id=inp.case_id, state=self.s.state, closure_reason=self.s.closure_reason,
            claim_id=self.s.claim_id, runs=self.s.runs,
        )

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return info.get_current_history_length() >= self.inp.max_events_per_run or info.is_continue_as_new_suggested()

    def _time_to_next_event(self) -> timedelta | None:
        if self.s.guard_check_due or self._queued or self._pending or self._profiled:
            return timedelta(0)
        deadlines = [t.deadline for t in self.s.timers.values()]
        if self.s.next_guard_check is not None:
            deadlines.append(self.s.next_guard_check)
        if not deadlines:
            return None
        return max(min(deadlines) - workflow.now(), timedelta(0))

    async def _process_due(self) -> None:
        while self._queued:
            name, reason = self._queued.pop(0)
            t = lcx.transition(self.lc, name)
            if t is not None and self.s.state in t.sources:
                await self._take_automatic(t, reason)
        for ts in sorted(self.s.timers.values(), key=lambda t: (t.deadline, t.name)):
            if ts.name in self.s.timers and ts.deadline <= workflow.now():
                await self._fire_timer(ts)
        while self._profiled:
            await self._recheck_after_profiling(self._profiled.pop(0))
        due = self.s.next_guard_check is not None and self.s.next_guard_check <= workflow.now()
        if self.s.guard_check_due or due:
            await self._check_guards()

    # ---------------------------------------------------------------------------------------- timers
    def _duration(self, name: str):
        timer = lcx.timer(self.lc, name)
        return lcx.timer_duration(timer, self.inp.timer_durations) if timer else None

    def _start_timers(self, state: str) -> None:
        now = workflow.now()
        for timer in lcx.timers_in(self.lc, state):
            duration = lcx.timer_duration(timer, self.inp.timer_durations)
            if timer.name in self.s.timers:
                continue
            if duration is None:
                self._flag(f"timer_without_duration:{timer.name}", f"timer {timer.name} has no resolved duration")
                continue
            self.s.timers[timer.name] = TimerState(
                name=timer.name, started_at=now, deadline=lcx.add_duration(now, duration)
            )

    def _stop_timers_leaving(self, new_state: str) -> None:
        for name in list(self.s.timers):
            timer = lcx.timer(self.lc, name)
            if timer is None or new_state not in lcx.timer_states(timer):
                del self.s.timers[name]
                self._unflag(name, "left the timer's state")

    async def _fire_timer(self, ts: TimerState) -> None:
        timer = lcx.timer(self.lc, ts.name)
        duration = self._duration(ts.name)
        ts.fired += 1
        if timer.repeat and duration is not None:
            ts.deadline = lcx.add_duration(ts.deadline, duration)
        else:
            del self.s.timers[ts.name]
        if timer.transition is None:
            self._flag(timer.name, timer.description or f"timer {timer.name} elapsed")
            return
        t = lcx.transition(self.lc, timer.transition)
        if t is None or self.s.state not in t.sources:
            return
        taken = await self._take_automatic(t, lcx.timer_reason(timer))
        if not taken and t.name not in self.s.waiting_transitions:
            self.s.waiting_transitions.append(t.name)
            self.s.waiting_since = self.s.waiting_since or workflow.now()
            self.s.next_guard_check = workflow.now() + timedelta(days=self.inp.guard_recheck_days)
            self._record("waiting", t.name, reason=f"timer {timer.name} elapsed; guard not met yet",
                         details={g: self.s.guard_values.get(g, "unknown") for g in t.guard})

    # ---------------------------------------------------------------------------------------- guards
    async def _evaluate(self, guards: set[str], as_of: date | None = None) -> dict[str, str] | None:
        request = GuardRequest(
            case_id=self.inp.case_id, framework_hash=self.inp.framework_hash, family_id=self.inp.family_id,
            as_of=as_of or workflow.now().date(), guards=sorted(guards), identified_on=self.s.identified_on,
            attached_on=self.s.attached_on, closed_on=self.s.closed_on,
        )
        try:
            result = await workflow.execute_activity_method(
                CaseActivities.evaluate_guards, request,
                start_to_close_timeout=GUARD_TIMEOUT, retry_policy=GUARD_RETRY,
            )
        except ActivityError as exc:
            cause = exc.cause.message if isinstance(exc.cause, ApplicationError) else str(exc.cause)
            self._flag(GUARD_FAILED_FLAG, f"guards {sorted(guards)} could not be evaluated: {cause}")
            return None
        self._unflag(GUARD_FAILED_FLAG, "guards evaluated")
        changed = {g: v for g, v in sorted(result.values.items()) if self.s.guard_values.get(g) != v}
        self.s.guard_values.update(result.values)
        # v2: the audit trail also shows when the rules engine's answer changed (an extra audit write,
        # so runs recorded before it must not take this path on replay)
        if changed and workflow.patched(PATCH_AUDIT_GUARD_CHANGES):
            self._record("guards_changed", "rules engine", reason=", ".join(f"{g}={v}" for g, v in changed.items()),
                         details={g: "; ".join(result.reasons.get(g, [])) for g in changed})
        return dict(result.values)

    def _guard_candidates(self) -> list[Transition]:
        return [
            t for t in lcx.transitions_from(self.lc, self.s.state)
            if t.automatic and t.guard
            and (t.name not in self._timer_transitions or t.name in self.s.waiting_transitions)
        ]

    async def _check_guards(self) -> None:
        self.s.guard_check_due = False
        candidates = self._guard_candidates()
        if not candidates:
            self.s.next_guard_check = None
            return
        self.s.next_guard_check = workflow.now() + timedelta(days=self.inp.guard_recheck_days)
        values = await self._evaluate({g for t in candidates for g in t.guard})
        self._take_first_met(candidates, values, "guard met")

    def _take_first_met(self, candidates: list[Transition], values: dict[str, str] | None, reason: str) -> None:
        for t in candidates if values is not None else ():
            if all(values.get(g) == "met" for g in t.guard):
                self._apply(t, SYSTEM_ACTOR, None, f"{reason}: " + ", ".join(t.guard), {}, None,
                            {g: values[g] for g in t.guard})
                return

    async def _recheck_after_profiling(self, run: ProfilingRunSignal) -> None:
        """Re-check waiting guards as of a profiling run's date, the feeds' coverage end (the weekly
        re-check asks as of today, past the coverage between extracts: unknown). A date before the
        wait began says nothing about it (skipped); one after today is read as today."""
        candidates = self._guard_candidates()
        as_of = min(run.as_of, workflow.now().date())
        self.s.profiled_as_of = max(as_of, self.s.profiled_as_of or as_of)
        since = (self.s.waiting_since or self.s.entered_at).date()
        # v3: cases recorded before this signal existed never reach here; the patch marks the new path
        if not candidates or as_of < since or not workflow.patched(PATCH_RECHECK_AFTER_PROFILING):
            return
        values = await self._evaluate({g for t in candidates for g in t.guard}, as_of=as_of)
        self._take_first_met(candidates, values, f"guard met as of {as_of.isoformat()} (profiling run {run.run_id})")

    def _unknown_today_known_when_profiled(self, t: Transition, values: dict[str, str] | None) -> bool:
        """A person's guarded action read unknown as of today (past the feeds' coverage) and a profiling
        run has told the case its date: ask again as of that date, the newest the data answers for."""
        unknown = values is not None and any(values.get(g) == "unknown" for g in t.guard)
        return unknown and self.s.profiled_as_of is not None and workflow.patched(PATCH_RECHECK_AFTER_PROFILING)

    async def _take_automatic(self, t: Transition, reason: str) -> bool:
        details: dict[str, str] = {}
        if t.guard:
            values = await self._evaluate(set(t.guard))
            if values is None or any(values.get(g) != "met" for g in t.guard):
                return False
            details = {g: values[g] for g in t.guard}
        self._apply(t, SYSTEM_ACTOR, None, reason, {}, None, details)
        return True

    # ---------------------------------------------------------------------------------------- state changes
    def _apply(self, t: Transition, actor: str, role: str | None, reason: str | None,
               fields: dict[str, str], decision_id: str | None, details: dict[str, str]) -> None:
        now, old = workflow.now(), self.s.state
        self.s.fields.update({k: v for k, v in fields.items() if v})
        if "lead_practitioner" in t.requires and self.s.attached_on is None:
            self.s.attached_on = now.date()
        self.s.state, self.s.entered_at = t.target, now
        self.s.waiting_transitions, self.s.waiting_since = [], None
        if lcx.is_final(self.lc, t.target):
            self.s.closed_on, self.s.closure_reason = now.date(), reason
        self._record("transition", t.name, from_state=old, to_state=t.target, actor=actor, role=role,
                     reason=reason, decision_id=decision_id, details=details)
        self._stop_timers_leaving(t.target)
        if not lcx.is_final(self.lc, t.target):
            self._start_timers(t.target)
        else:
            self.s.timers.clear()
        self.s.guard_check_due = True
        self.s.next_guard_check = None
        self._upsert_state()

    def _upsert_state(self) -> None:
        workflow.upsert_search_attributes([CASE_STATE.value_set(self.s.state)])

    def _record(self, kind: str, name: str, *, from_state: str | None = None, to_state: str | None = None,
                actor: str = SYSTEM_ACTOR, role: str | None = None, reason: str | None = None,
                decision_id: str | None = None, details: dict[str, str] | None = None) -> None:
        self.s.seq += 1
        entry = TimelineEntry(
            seq=self.s.seq, kind=kind, name=name, from_state=from_state, to_state=to_state, actor=actor,
            role=role, reason=reason, decision_id=decision_id, at=workflow.now(), details=details or {},
        )
        self.s.timeline.append(entry)
        self._pending.append(entry)

    def _flag(self, flag: str, reason: str, decision_id: str | None = None) -> None:
        if flag not in self.s.flags:
            self.s.flags.append(flag)
            self._record("flag", flag, reason=reason, decision_id=decision_id)

    def _unflag(self, flag: str, reason: str, decision_id: str | None = None) -> None:
        if flag in self.s.flags:
            self.s.flags.remove(flag)
            self._record("flag_cleared", flag, reason=reason, decision_id=decision_id)

    def _clear_repeating_timer_flags(self, actor: str) -> None:
        """A person acting on the case counts as the review a repeating timer asked for."""
        for timer in self.lc.timers:
            if timer.repeat and timer.transition is None:
                self._unflag(timer.name, f"case reviewed by {actor}")

    async def _flush(self) -> None:
        if not self._pending:
            return
        entries = list(self._pending)
        batch = AuditBatch(
            **self.inp.identity(), state=self.s.state, entries=entries, flags=list(self.s.flags), lead_practitioner=self.s.fields.get("lead_practitioner"),
            closure_reason=self.s.closure_reason, opened_at=self.s.opened_at,
        )
        await workflow.execute_activity_method(
            CaseActivities.write_audit, batch, start_to_close_timeout=WRITE_TIMEOUT, retry_policy=AUDIT_RETRY
        )
        self._pending = self._pending[len(entries):]

    # ---------------------------------------------------------------------------------------- validation
    def _roles_acting_now(self) -> set[str]:
        return {r for t in lcx.manual_transitions_from(self.lc, self.s.state) for r in t.roles}

    def _check_role(self, role: str, allowed: set[str] | tuple[str, ...], what: str) -> None:
        if self.lc.actor_roles and role not in self.lc.actor_roles:
            raise ValueError(f"role {role!r} is not a role of this framework; roles: {', '.join(self.lc.actor_roles)}")
        if role not in allowed:
            raise ValueError(f"role {role!r} may not {what}; allowed: {', '.join(sorted(allowed)) or 'nobody'}")

    def _check_open(self) -> None:
        if lcx.is_final(self.lc, self.s.state):
            raise ValueError(f"case is {self.s.state} (final); nothing more can be recorded")

    def _check_action(self, req: ActionRequest) -> Transition:
        t = lcx.transition(self.lc, req.transition)
        if t is None:
            names = ", ".join(x.name for x in self.lc.transitions if not x.automatic)
            raise ValueError(f"unknown transition {req.transition!r}; this case's lifecycle has: {names}")
        if t.automatic:
            raise ValueError(f"{t.name} is automatic (taken by a timer or a rule), not by a person")
        if self.s.state not in t.sources:
            possible = ", ".join(x.name for x in lcx.manual_transitions_from(self.lc, self.s.state)) or "none"
            raise ValueError(
                f"{t.name} is not possible from state {self.s.state!r} (only from {', '.join(t.sources)}); "
                f"possible now: {possible}"
            )
        if not req.actor.strip():
            raise ValueError("actor is empty; give the name of the person acting")
        self._check_role(req.role, t.roles, f"take {t.name}")
        missing = [f for f in t.requires if f != "reason" and not req.fields.get(f, "").strip()]
        if "reason" in t.requires and not (req.reason or "").strip():
            missing.append("reason")
        if missing:
            raise ValueError(f"{t.name} requires {', '.join(missing)}; none given")
        reasons = lcx.allowed_reasons(self.lc, t)
        if req.reason and reasons and req.reason not in reasons:
            raise ValueError(f"reason {req.reason!r} is not one of: {', '.join(reasons)}")
        claim = lcx.claim_transition(self.lc)
        if claim is not None and t.name == claim.name:
            if self.s.claim_requested_by is None:
                raise ValueError(f"{t.name} signs off a claim request; none has been made (request a claim first)")
            if req.actor == self.s.claim_requested_by:
                raise ValueError(f"{req.actor} requested this claim and so may not sign it off (separation of duties)")
        return t

    def _check_evidence(self, req: EvidenceRequest) -> None:
        self._check_open()
        self._check_role(req.role, self._roles_acting_now(), "record evidence in state " + self.s.state)
        empty = [n for n in ("evidence_id", "actor", "kind", "description") if not getattr(req, n).strip()]
        if empty:
            raise ValueError(f"evidence needs {', '.join(empty)}; none given")

    def _check_claim_request(self, req: ClaimRequest) -> Transition:
        claim = lcx.claim_transition(self.lc)
        if claim is None:
            raise ValueError("this lifecycle has no claim sign-off (a manual transition guarded by claimable)")
        if self.s.state not in claim.sources:
            raise ValueError(f"a claim can be requested in {', '.join(claim.sources)}; the case is {self.s.state}")
        if self.s.claim_requested_by is not None:
            raise ValueError(f"a claim was already requested by {self.s.claim_requested_by}")
        if not req.actor.strip():
            raise ValueError("actor is empty; give the name of the person acting")
        self._check_role(req.role, self._roles_acting_now() - set(claim.roles), "request a claim")
        return claim

    # ---------------------------------------------------------------------------------------- updates
    @workflow.update
    async def act(self, req: ActionRequest) -> ActionResult:
        async with self._lock:
            try:
                t = self._check_action(req)
            except ValueError as exc:
                raise _rejected(str(exc)) from None
            details: dict[str, str] = {}
            if t.guard:
                values = await self._evaluate(set(t.guard))
                if self._unknown_today_known_when_profiled(t, values):
                    values = await self._evaluate(set(t.guard), as_of=self.s.profiled_as_of)
                    details["as_of"] = self.s.profiled_as_of.isoformat()
                unmet = {g: (values or {}).get(g, "unknown") for g in t.guard if (values or {}).get(g) != "met"}
                if unmet:
                    self._wake = True
                    raise ApplicationError(
                        f"{t.name} needs {', '.join(t.guard)} met; the rules engine says "
                        + ", ".join(f"{g}={v}" for g, v in unmet.items()), type="GuardNotMet", non_retryable=True,
                    )
                details.update({g: values[g] for g in t.guard})
            claim = lcx.claim_transition(self.lc)
            if claim is not None and t.name == claim.name:
                await self._write_claim(req)
                details["claim_id"] = self.s.claim_id or ""
            self._clear_repeating_timer_flags(req.actor)
            self._apply(t, req.actor, req.role, req.reason, req.fields, req.decision_id, details)
            await self._flush()
            self._wake = True
            return ActionResult(case_id=self.inp.case_id, state=self.s.state, seq=self.s.seq, claim_id=self.s.claim_id)

    @act.validator
    def _validate_act(self, req: ActionRequest) -> None:
        self._check_action(req)

    async def _write_claim(self, req: ActionRequest) -> None:
        record = ClaimRecord(
            **self.inp.identity(), claim_id=f"{self.inp.case_id}:claim", claimed_at=workflow.now(), signed_off_by=req.actor, requested_by=self.s.claim_requested_by,
            lead_practitioner=self.s.fields.get("lead_practitioner"), attached_on=self.s.attached_on,
            decision_id=req.decision_id,
        )
        try:
            written = await workflow.execute_activity_method(
                CaseActivities.write_claim, record, start_to_close_timeout=WRITE_TIMEOUT,
                retry_policy=CLAIM_RETRY,
            )
        except ActivityError as exc:
            cause = exc.cause
            kind = cause.type if isinstance(cause, ApplicationError) else "ClaimFailed"
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise ApplicationError(f"claim not written: {message}", type=kind, non_retryable=True) from None
        self.s.claim_id, self.s.signed_off_by = written.claim_id, req.actor

    @workflow.update
    async def record_evidence(self, req: EvidenceRequest) -> ActionResult:
        async with self._lock:
            if req.evidence_id not in {e.evidence_id for e in self.s.evidence}:
                try:
                    self._check_evidence(req)
                except ValueError as exc:
                    raise _rejected(str(exc)) from None
                now = workflow.now()
                self.s.evidence.append(EvidenceItem(
                    evidence_id=req.evidence_id, kind=req.kind, description=req.description,
                    observed_on=req.observed_on, recorded_by=req.actor, recorded_at=now,
                ))
                self._clear_repeating_timer_flags(req.actor)
                self._record("evidence", req.kind, actor=req.actor, role=req.role, reason=req.description,
                             details={"evidence_id": req.evidence_id,
                                      "observed_on": req.observed_on.isoformat() if req.observed_on else ""})
                self.s.guard_check_due = True
                await self._flush()
                self._wake = True
            return ActionResult(case_id=self.inp.case_id, state=self.s.state, seq=self.s.seq)

    @record_evidence.validator
    def _validate_evidence(self, req: EvidenceRequest) -> None:
        if req.evidence_id not in {e.evidence_id for e in self.s.evidence}:
            self._check_evidence(req)

    @workflow.update
    async def request_claim(self, req: ClaimRequest) -> ActionResult:
        async with self._lock:
            try:
                claim = self._check_claim_request(req)
            except ValueError as exc:
                raise _rejected(str(exc)) from None
            self.s.claim_requested_by = req.actor
            self._record("claim_requested", claim.name, actor=req.actor, role=req.role, reason=req.note)
            await self._flush()
            return ActionResult(case_id=self.inp.case_id, state=self.s.state, seq=self.s.seq)

    @request_claim.validator
    def _validate_claim_request(self, req: ClaimRequest) -> None:
        self._check_claim_request(req)

    # ---------------------------------------------------------------------------------------- signals
    @workflow.signal
    def fact(self, f: FactSignal) -> None:
        if not self._first_delivery(f.event_id):
            return
        now = workflow.now()
        self.s.facts.append(FactNote(event_id=f.event_id, fact_type=f.fact_type, occurred_on=f.occurred_on,
                                     received_at=now, source=f.source))
        for ts in list(self.s.timers.values()):
            timer = lcx.timer(self.lc, ts.name)
            what = f"{f.fact_type} on {f.occurred_on.isoformat()} ({f.event_id}) during {timer.name}"
            if f.fact_type in timer.fail_on and timer.fail_transition:
                self._queued.append((timer.fail_transition, lcx.timer_reason(timer, failed=True)))
                self._record("timer_failed", timer.name, reason=what)
            elif f.fact_type in timer.restart_on:
                duration = self._duration(ts.name)
                ts.started_at, ts.deadline = now, lcx.add_duration(now, duration)
                ts.restarts += 1
                self._record("timer_restarted", timer.name, reason=what,
                             details={"deadline": ts.deadline.isoformat(), "restarts": str(ts.restarts)})
        self.s.guard_check_due = True
        self._wake = True

    @workflow.signal
    def eligibility(self, e: EligibilitySignal) -> None:
        if not self._first_delivery(f"eligibility:{e.run_id}"):
            return
        if self.s.state != lcx.initial_state(self.lc).name:
            return
        reason = f"profiling run {e.run_id} as of {e.as_of.isoformat()}: eligible is {e.eligible}"
        for value, flag in ELIGIBILITY_FLAGS.items():
            if e.eligible == value:
                self._flag(flag, reason, e.decision_id)
            else:
                self._unflag(flag, reason, e.decision_id)
        self._wake = True

    @workflow.signal
    def profiled(self, run: ProfilingRunSignal) -> None:
        if self._first_delivery(f"profiled:{run.run_id}"):
            self._profiled.append(run)
            self._wake = True

    def _first_delivery(self, key: str) -> bool:
        """Signals are at-least-once: True only the first time ``key`` arrives (kept across continue-as-new)."""
        if key in self._seen:
            return False
        self._seen.add(key)
        self.s.seen_event_ids.append(key)
        return True

    # ---------------------------------------------------------------------------------------- queries
    @workflow.query
    def view(self) -> CaseView:
        actions = [t.name for t in lcx.manual_transitions_from(self.lc, self.s.state)]
        return CaseView(
            **self.inp.identity(), state=self.s.state,
            final=lcx.is_final(self.lc, self.s.state), fields=dict(self.s.fields), flags=list(self.s.flags),
            identified_on=self.s.identified_on, attached_on=self.s.attached_on, closed_on=self.s.closed_on,
            closure_reason=self.s.closure_reason, claim_requested_by=self.s.claim_requested_by,
            signed_off_by=self.s.signed_off_by, claim_id=self.s.claim_id, evidence_count=len(self.s.evidence),
            fact_count=len(self.s.facts), guard_values=dict(self.s.guard_values), available_actions=actions,
            runs=self.s.runs,
        )

    @workflow.query
    def timeline(self) -> list[TimelineEntry]:
        return list(self.s.timeline)

    @workflow.query
    def deadlines(self) -> list[Deadline]:
        rows = []
        for ts in sorted(self.s.timers.values(), key=lambda t: (t.deadline, t.name)):
            timer = lcx.timer(self.lc, ts.name)
            rows.append(Deadline(timer=ts.name, state=self.s.state, due=ts.deadline,
                                 takes=timer.transition if timer else None, restarts=ts.restarts))
        return rows
