"""Claims: written once per family per phase, by an idempotent activity, within the annual cap."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from temporalio.exceptions import ApplicationError

from engine.storage.tables_cases import claims
from tests.workflows import builders
from tests.workflows.helpers import attach_and_plan, request_and_sign_off, to_sustaining, wait_for
from workflows.activities import CaseActivities
from workflows.cases import CaseActionRejected, rejected
from workflows.models import ClaimRecord

pytestmark = pytest.mark.temporal


@pytest.fixture
def claim_cap() -> int:
    return 1


def claim_rows(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.select(claims).order_by(claims.c.claim_id)).all()


async def test_annual_cap_refuses_the_claim_over_it(harness):
    """With a cap of one, the second sign-off is refused and its case stays claimable."""
    h = harness
    first, second = await h.open_case("C1"), await h.open_case("C2")
    for case_id, family in ((first, "C1"), (second, "C2")):
        await to_sustaining(h, case_id, family)
    await h.skip(days=186)
    await wait_for(h.cases, first, "claimable")
    await wait_for(h.cases, second, "claimable")
    await request_and_sign_off(h.cases, first)
    with pytest.raises(CaseActionRejected, match="annual claim cap of 1"):
        await request_and_sign_off(h.cases, second)
    assert (await h.cases.view(second)).state == "claimable"
    assert [r.family_id for r in claim_rows(h.engine)] == ["C1"]
    assert "ClaimCapReached" not in rejected(h.engine, second)[-1].message  # the message, not the type name
    assert "cap" in rejected(h.engine, second)[-1].message


@pytest.mark.parametrize("claim_cap", [None])
async def test_one_claim_per_family_per_phase(harness, claim_cap):
    """A second framework's case for the same family and phase cannot claim again."""
    h = harness
    local = builders.framework(framework_id="test_local")
    national, borough = await h.open_case("C3"), await h.open_case("C3", framework=local)
    assert national != borough
    await to_sustaining(h, national, "C3")
    await attach_and_plan(h.cases, borough)  # the engaged referral is already in the family's facts
    await wait_for(h.cases, borough, "sustaining")
    await h.skip(days=186)
    await wait_for(h.cases, national, "claimable")
    await wait_for(h.cases, borough, "claimable")
    await request_and_sign_off(h.cases, national)
    with pytest.raises(CaseActionRejected, match="already has a phase 3 claim"):
        await request_and_sign_off(h.cases, borough)
    assert len(claim_rows(h.engine)) == 1


def test_write_claim_is_idempotent(tmp_path):
    """A retried, already-committed claim write returns the same claim and adds no row."""
    from engine.storage.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    activities = CaseActivities(engine, claim_cap=5)
    record = ClaimRecord(case_id="case-F-x-3", family_id="F", framework_id="x", phase="3", framework_hash="h" * 64,
                         claim_id="case-F-x-3:claim", claimed_at=datetime(2025, 2, 1, tzinfo=timezone.utc),
                         signed_off_by="ava")
    first, retry = activities.write_claim(record), activities.write_claim(record)
    assert (first.claim_id, first.attempts, retry.attempts) == (record.claim_id, 1, 2)
    assert first.cap_year == 2024  # February 2025 is in the 2024/25 financial year
    assert len(claim_rows(engine)) == 1
    other_case = record.model_copy(update={"case_id": "case-F-y-3", "claim_id": "case-F-y-3:claim"})
    with pytest.raises(ApplicationError, match="already has a phase 3 claim") as caught:
        activities.write_claim(other_case)
    assert caught.value.type == "ClaimConflict" and caught.value.non_retryable
