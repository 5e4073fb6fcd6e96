"""Explaining (or diffing) a family that has no members on the date fails with a message naming the
closest family id that has members then, as known then, without planning the whole borough's snapshot.

The demo feeds are ingested for January and February and families built after each load: F000007 first
has members on 29 February, from the February build."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from engine.decisions.lookup import family_as_known
from engine.errors import NotFoundError
from engine.integrate import snapshot, snapshot_plan
from engine.storage.db import make_engine
from tests.decisions.pipeline import BUILT, DECIDED_AT, FEB, JAN, DemoFeeds

MARCH = date(2024, 3, 15)


@pytest.fixture
def borough(db_url: str, tmp_path, monkeypatch) -> sa.Engine:
    engine = make_engine(db_url)
    feeds = DemoFeeds(engine, tmp_path / "feeds")
    feeds.load(JAN)
    feeds.load(FEB)
    real = snapshot.plan_snapshot

    def planner_of_some_families(*args, family_ids=None, **kwargs):
        # loading the one family asked for plans it alone; the whole borough must never be planned
        if family_ids is None:
            raise AssertionError("the whole borough's snapshot was planned to name a family")
        return real(*args, family_ids=family_ids, **kwargs)

    for module in (snapshot, snapshot_plan):  # defined in the one, re-exported by the other
        monkeypatch.setattr(module, "plan_snapshot", planner_of_some_families)
    yield engine
    engine.dispose()


def _error(engine: sa.Engine, family_id: str, day: date, known: datetime) -> str:
    with pytest.raises(NotFoundError) as raised:
        family_as_known(engine, family_id, day, known)
    return str(raised.value)


def test_names_the_closest_family_with_members(borough: sa.Engine) -> None:
    message = _error(borough, "F0000007", MARCH, datetime(2024, 3, 10))
    assert message == ("family 'F0000007' has no members on 2024-03-15 in what was known at 2024-03-10 00:00 UTC; "
                       "did you mean 'F000007'?")
    assert family_as_known(borough, "F000007", MARCH, datetime(2024, 3, 10)).family_id == "F000007"


def test_names_no_family_without_members_then(borough: sa.Engine) -> None:
    """F000007 is not suggested before the build that made it was known, nor before it had members;
    before any build was known no family is suggested at all."""
    for day, known in ((MARCH, DECIDED_AT), (date(2024, 2, 20), datetime(2024, 3, 10))):
        message = _error(borough, "F0000007", day, known)
        assert message.startswith(f"family 'F0000007' has no members on {day} in what was known at "
                                  f"{known:%Y-%m-%d %H:%M} UTC")
        assert "'F000007'" not in message
        with pytest.raises(NotFoundError):
            family_as_known(borough, "F000007", day, known)
    message = _error(borough, "F0000001", MARCH, BUILT[JAN].replace(hour=9))
    assert message == "family 'F0000001' has no members on 2024-03-15 in what was known at 2024-02-01 09:00 UTC"
