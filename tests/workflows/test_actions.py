"""Human actions are validated against the framework's lifecycle; refusals are logged."""

from __future__ import annotations

import json

import pytest

from tests.workflows.helpers import attach_and_plan, wait_for
from workflows.cases import CaseActionRejected, ProfiledFamily, rejected
from workflows.models import ActionRequest, ClaimRequest, EvidenceRequest

pytestmark = pytest.mark.temporal

REFUSED = [
    # (description, request, words the refusal must contain)
    ("wrong role", ActionRequest(transition="attach", actor="kim", role="keyworker",
                                 fields={"lead_practitioner": "kim"}), "role 'keyworker' may not take attach"),
    ("missing lead practitioner", ActionRequest(transition="attach", actor="mo", role="manager"),
     "attach requires lead_practitioner"),
    ("wrong state", ActionRequest(transition="start_plan", actor="kim", role="keyworker",
                                  fields={"assessment": "a", "plan": "p"}),
     "start_plan is not possible from state 'identified'"),
    ("automatic transition", ActionRequest(transition="sustained", actor="mo", role="manager"), "is automatic"),
    ("unknown transition", ActionRequest(transition="promote", actor="mo", role="manager"),
     "unknown transition 'promote'"),
    ("role not in framework", ActionRequest(transition="attach", actor="x", role="director",
                                            fields={"lead_practitioner": "kim"}), "not a role of this framework"),
    ("closure reason not allowed", ActionRequest(transition="close", actor="mo", role="manager", reason="bored"),
     "reason 'bored' is not one of"),
    ("close without reason", ActionRequest(transition="close", actor="mo", role="manager"), "requires reason"),
]


async def test_refused_actions_are_explained_and_logged(harness):
    """Each refusal names the rule it broke, leaves the case unchanged and lands in rejected_actions."""
    h = harness
    case_id = await h.open_case("R1")
    for description, request, words in REFUSED:
        with pytest.raises(CaseActionRejected) as caught:
            await h.cases.act(case_id, request)
        assert words in str(caught.value), description
    view = await h.cases.view(case_id)
    assert view.state == "identified"
    log = rejected(h.engine, case_id)
    assert [r.action for r in log] == [r.transition for _, r, _ in REFUSED]
    assert all(words in row.message for row, (_, _, words) in zip(log, REFUSED))
    assert json.loads(log[0].payload)["fields"] == {"lead_practitioner": "kim"}


async def test_claim_needs_request_and_separate_sign_off(harness):
    """Sign-off needs a claim request first and may not be done by the requester."""
    h = harness
    case_id = await h.open_case("R2")
    with pytest.raises(CaseActionRejected, match="a claim can be requested in claimable"):
        await h.cases.request_claim(case_id, ClaimRequest(actor="kim", role="keyworker"))
    await attach_and_plan(h.cases, case_id)
    h.families.add_fact("R2", "health_referral", await h.today(), status="engaged")
    await h.cases.record_evidence(case_id, EvidenceRequest(evidence_id="e1", actor="kim", role="keyworker",
                                                           kind="engagement", description="attending CAMHS"))
    await wait_for(h.cases, case_id, "sustaining")
    await h.skip(days=186)
    await wait_for(h.cases, case_id, "claimable")
    with pytest.raises(CaseActionRejected, match="none has been made"):
        await h.cases.sign_off(case_id, actor="ava", role="auditor")
    with pytest.raises(CaseActionRejected, match="role 'auditor' may not request a claim"):
        await h.cases.request_claim(case_id, ClaimRequest(actor="ava", role="auditor"))
    await h.cases.request_claim(case_id, ClaimRequest(actor="kim", role="keyworker"))
    with pytest.raises(CaseActionRejected, match="separation of duties"):
        await h.cases.sign_off(case_id, actor="kim", role="auditor")
    result = await h.cases.sign_off(case_id, actor="ava", role="auditor")
    assert result.state == "claimed"
    assert len(rejected(h.engine, case_id)) == 4


async def test_evidence_is_recorded_once_per_id(harness):
    """Re-sending the same evidence id (a double click, a retry) records it once."""
    h = harness
    case_id = await h.open_case("R3")
    evidence = EvidenceRequest(evidence_id="visit-1", actor="mo", role="manager", kind="visit", description="x")
    first = await h.cases.record_evidence(case_id, evidence)
    second = await h.cases.record_evidence(case_id, evidence)
    assert first.seq == second.seq
    assert (await h.cases.view(case_id)).evidence_count == 1
    with pytest.raises(CaseActionRejected, match="role 'auditor' may not record evidence"):
        await h.cases.record_evidence(case_id, evidence.model_copy(update={"evidence_id": "v2", "role": "auditor"}))


async def test_case_creation_is_idempotent_and_closed_cases_stay_closed(harness):
    """Re-running case creation finds the same case; a closed case is not reopened."""
    h = harness
    case_id = await h.open_case("R4")
    family = [ProfiledFamily("R4", "met", "D-2")]
    again = await h.cases.start_cases(h.framework, family, as_of=await h.today(), run_id="run-2")
    assert (again.created, again.existing) == ([], [case_id])
    run_ids = {(await h.env.client.get_workflow_handle(case_id).describe()).run_id}
    assert len(run_ids) == 1
    await h.cases.take(case_id, requires="reason", final=True, actor="mo", role="manager", reason="declined_support")
    await h.cases.outcome(case_id)
    third = await h.cases.start_cases(h.framework, family, as_of=await h.today(), run_id="run-3")
    assert (third.created, third.existing, third.closed_not_reopened) == ([], [], [case_id])


async def test_families_losing_eligibility_before_attachment_are_flagged(harness):
    """A later profiling run saying not eligible flags the unattached case; eligible again clears it."""
    h = harness
    case_id = await h.open_case("R5")
    today = await h.today()
    report = await h.cases.start_cases(h.framework, [ProfiledFamily("R5", "not_met", "D-9")], as_of=today,
                                       run_id="run-9")
    assert report.flagged == [case_id] and report.created == []
    view = await h.cases.view(case_id)
    assert view.flags == ["eligibility_lost"] and view.state == "identified"
    await h.cases.start_cases(h.framework, [ProfiledFamily("R5", "met", "D-10")], as_of=today, run_id="run-10")
    assert (await h.cases.view(case_id)).flags == []
