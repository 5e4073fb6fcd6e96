"""Small helpers shared by the workflow tests."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

import sqlalchemy as sa
from temporalio.service import RPCError

from engine.storage.tables_cases import case_audit
from workflows.cases import CaseClient
from workflows.models import ActionRequest, CaseView, ClaimRequest, FactSignal


async def wait_until(cases: CaseClient, case_id: str, check: Callable[[CaseView], bool], what: str,
                     timeout: float = 15.0) -> CaseView:
    """Poll the case's view until ``check`` holds (signals, guards and timers act asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            view = await cases.view(case_id)
        except RPCError:  # a query racing continue-as-new can time out on the test server: ask again
            view = None
        if view is not None and check(view):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"{case_id}: waited for {what}; last view {view}")
        await asyncio.sleep(0.05)


async def wait_for(cases: CaseClient, case_id: str, state: str, timeout: float = 15.0) -> CaseView:
    return await wait_until(cases, case_id, lambda v: v.state == state, f"state {state}", timeout)


async def attach_and_plan(cases: CaseClient, case_id: str) -> None:
    await cases.take(case_id, requires="lead_practitioner", actor="mo.manager", role="manager",
                     fields={"lead_practitioner": "kim.keyworker"})
    await cases.act(case_id, ActionRequest(transition="start_plan", actor="kim.keyworker", role="keyworker",
                                           fields={"assessment": "family star assessment", "plan": "plan v1"}))


async def to_sustaining(h, case_id: str, family_id: str) -> None:
    """Attach, plan, and feed the fact that achieves the family's outcome."""
    await attach_and_plan(h.cases, case_id)
    today = await h.today()
    h.families.add_fact(family_id, "health_referral", today, status="engaged")
    await h.cases.send_fact(case_id, FactSignal(event_id=f"{family_id}-engaged", fact_type="health_referral",
                                                occurred_on=today))
    await wait_for(h.cases, case_id, "sustaining")


async def request_and_sign_off(cases: CaseClient, case_id: str):
    await cases.request_claim(case_id, ClaimRequest(actor="kim.keyworker", role="keyworker"))
    return await cases.sign_off(case_id, actor="ava.auditor", role="auditor")


def audit_rows(engine: sa.Engine, case_id: str) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.select(case_audit).where(case_audit.c.case_id == case_id)
                            .order_by(case_audit.c.seq)).all()


def transitions(engine: sa.Engine, case_id: str) -> list[tuple[str, str, str]]:
    """(transition, to_state, actor) for every transition in the audit table."""
    return [(r.name, r.to_state, r.actor) for r in audit_rows(engine, case_id) if r.kind == "transition"]
