"""The whole case lifecycle on the time-skipping server: months of case work in seconds."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.storage.tables_cases import cases as cases_table
from engine.storage.tables_cases import claims
from tests.workflows import builders
from tests.workflows.helpers import (
    attach_and_plan,
    audit_rows,
    request_and_sign_off,
    to_sustaining,
    transitions,
    wait_for,
    wait_until,
)
from workflows.claims import export_claims
from workflows.models import EvidenceRequest, FactSignal

pytestmark = pytest.mark.temporal


async def test_attach_to_claim_to_close(harness, tmp_path):
    """identified -> attached -> tracking -> sustaining -> (6 months) -> claimable -> claimed -> closed."""
    h = harness
    case_id = await h.open_case("F1")
    assert case_id == "case-F1-test_phase3-3"
    view = await wait_for(h.cases, case_id, "identified")
    assert view.available_actions == ["attach", "close"]

    await attach_and_plan(h.cases, case_id)
    view = await wait_until(h.cases, case_id, lambda v: "all_outcomes_achieved" in v.guard_values, "guards")
    assert (view.state, view.fields["lead_practitioner"]) == ("tracking", "kim.keyworker")
    assert view.guard_values["all_outcomes_achieved"] == "not_met"

    await h.cases.record_evidence(case_id, EvidenceRequest(
        evidence_id="ev-1", actor="kim.keyworker", role="keyworker", kind="visit", description="home visit"))
    today = await h.today()
    h.families.add_fact("F1", "health_referral", today, status="engaged")
    await h.cases.send_fact(case_id, FactSignal(event_id="hr-2", fact_type="health_referral", occurred_on=today))
    await wait_for(h.cases, case_id, "sustaining")
    deadline = {d.timer: d for d in await h.cases.deadlines(case_id)}["sustainment"]
    assert deadline.takes == "sustained"

    await h.skip(days=190)
    view = await wait_for(h.cases, case_id, "claimable")
    assert "claim_window" in {d.timer for d in await h.cases.deadlines(case_id)}

    result = await request_and_sign_off(h.cases, case_id)
    assert result.state == "claimed"
    assert result.claim_id == f"{case_id}:claim"
    await h.cases.take(case_id, requires="reason", final=True, actor="mo.manager", role="manager", reason="claimed")
    outcome = await h.cases.outcome(case_id)
    assert (outcome.state, outcome.closure_reason, outcome.claim_id) == ("closed", "claimed", result.claim_id)

    assert transitions(h.engine, case_id) == [
        ("attach", "attached", "mo.manager"),
        ("start_plan", "tracking", "kim.keyworker"),
        ("outcomes_achieved", "sustaining", "system"),
        ("sustained", "claimable", "system"),
        ("sign_off", "claimed", "ava.auditor"),
        ("close", "closed", "mo.manager"),
    ]
    rows = audit_rows(h.engine, case_id)
    assert [r.seq for r in rows] == list(range(len(rows)))
    assert rows[0].kind == "opened" and rows[0].decision_id == "D-F1"
    kinds = {r.kind for r in rows}
    assert {"evidence", "claim_requested", "guards_changed"} <= kinds
    with h.engine.connect() as conn:
        claim = conn.execute(sa.select(claims)).one()
        case_row = conn.execute(sa.select(cases_table)).one()
    assert (claim.family_id, claim.phase, claim.signed_off_by, claim.requested_by) == (
        "F1", "3", "ava.auditor", "kim.keyworker")
    assert (case_row.state, case_row.closure_reason, json.loads(case_row.flags)) == ("closed", "claimed", [])

    today = await h.today()
    report = export_claims(h.engine, today - timedelta(days=1), today, tmp_path / "export")
    with open(report.csv_path, newline="") as handle:
        (line,) = list(csv.DictReader(handle))
    assert (line["claim_reference"], line["family_id"], line["signed_off_by"]) == (claim.claim_id, "F1", "ava.auditor")
    pack = json.loads((tmp_path / "export" / line["audit_pack"]).read_text())
    assert [(t["name"], t["actor"]) for t in pack["transitions"]][:3] == [
        ("opened", "system"), ("attach", "mo.manager"), ("start_plan", "kim.keyworker")]
    assert [e["details"]["evidence_id"] for e in pack["evidence"]] == ["ev-1"]
    assert pack["case"]["opening_decision_id"] == "D-F1"
    empty = export_claims(h.engine, today - timedelta(days=400), today - timedelta(days=300), tmp_path / "old")
    assert empty.claims == 0


async def test_regression_restarts_the_sustainment_window(harness):
    """An offence three months into sustainment restarts the six months; duplicates are ignored."""
    h = harness
    case_id = await h.open_case("F2")
    await attach_and_plan(h.cases, case_id)
    h.families.add_fact("F2", "health_referral", await h.today(), status="engaged")
    await h.cases.send_fact(case_id, FactSignal(event_id="hr-1", fact_type="health_referral",
                                                occurred_on=await h.today()))
    await wait_for(h.cases, case_id, "sustaining")
    first = {d.timer: d for d in await h.cases.deadlines(case_id)}["sustainment"].due

    await h.skip(days=90)
    offence_day = await h.today()
    h.families.add_fact("F2", "offence", offence_day, outcome="proven")
    offence = FactSignal(event_id="off-1", fact_type="offence", occurred_on=offence_day, source="police")
    await h.cases.send_fact(case_id, offence)
    await h.cases.send_fact(case_id, offence)  # redelivered by the feed: ignored
    restarted = {d.timer: d for d in await h.cases.deadlines(case_id)}["sustainment"]
    assert restarted.restarts == 1
    assert restarted.due > first
    view = await h.cases.view(case_id)
    assert view.fact_count == 2

    await h.skip(days=100)  # past the original deadline: still sustaining
    assert (await h.cases.view(case_id)).state == "sustaining"
    await h.skip(days=95)  # six months after the offence
    await wait_for(h.cases, case_id, "claimable")
    restarts = [r for r in audit_rows(h.engine, case_id) if r.kind == "timer_restarted"]
    assert len(restarts) == 1 and "off-1" in restarts[0].reason


async def test_inactivity_closes_an_unattached_case(harness):
    """Nobody attaches the family for six months: the inactivity timer closes the case."""
    h = harness
    case_id = await h.open_case("F3")
    await h.skip(days=200)
    outcome = await h.cases.outcome(case_id)
    assert (outcome.state, outcome.closure_reason) == ("closed", "no_longer_eligible")
    assert transitions(h.engine, case_id) == [("close", "closed", "system")]


async def test_review_due_flag_is_raised_and_cleared_by_evidence(harness):
    """The repeating review timer flags the case; recording a review clears the flag."""
    h = harness
    case_id = await h.open_case("F4")
    await attach_and_plan(h.cases, case_id)
    await h.skip(days=95)
    view = await h.cases.view(case_id)
    assert "review_due" in view.flags
    await h.cases.record_evidence(case_id, EvidenceRequest(
        evidence_id="rev-1", actor="kim.keyworker", role="keyworker", kind="review", description="3-month review"))
    view = await h.cases.view(case_id)
    assert "review_due" not in view.flags
    assert [r.name for r in audit_rows(h.engine, case_id) if r.kind.startswith("flag")] == ["review_due", "review_due"]


FAILING_SUSTAINMENT = builders.LIFECYCLE.model_copy(update={"timers": tuple(
    t.model_copy(update={"restart_on": (), "fail_on": ("offence",), "fail_transition": "regress"})
    if t.name == "sustainment" else t for t in builders.LIFECYCLE.timers)})


@pytest.mark.parametrize("lifecycle", [FAILING_SUSTAINMENT])
async def test_fail_on_fact_takes_the_fail_transition(harness, lifecycle):
    """With ``fail on offence`` an offence during sustainment takes ``regress`` back to tracking; the
    rules still say the outcome is achieved, so the case re-enters sustaining with a fresh window."""
    h = harness
    case_id = await h.open_case("F6")
    await to_sustaining(h, case_id, "F6")
    first_due = {d.timer: d.due for d in await h.cases.deadlines(case_id)}["sustainment"]
    await h.skip(days=30)
    day = await h.today()
    h.families.add_fact("F6", "offence", day, outcome="proven")
    await h.cases.send_fact(case_id, FactSignal(event_id="off-9", fact_type="offence", occurred_on=day))
    await wait_until(h.cases, case_id, lambda v: v.state == "sustaining" and any(
        name == "regress" for name, _, _ in transitions(h.engine, case_id)), "regress and re-entry")
    assert [t[:2] for t in transitions(h.engine, case_id)][2:] == [
        ("outcomes_achieved", "sustaining"), ("regress", "tracking"), ("outcomes_achieved", "sustaining")]
    failed = [r for r in audit_rows(h.engine, case_id) if r.kind == "timer_failed"]
    assert len(failed) == 1 and "off-9" in failed[0].reason
    new_due = {d.timer: d for d in await h.cases.deadlines(case_id)}["sustainment"]
    assert new_due.due > first_due and new_due.restarts == 0
