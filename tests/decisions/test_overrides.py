"""Overrides: recorded with who/when/why, applied by profile, shown in explanations, and replayed as
they stood when the decision was made."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from engine.decisions.lookup import explain_recorded
from engine.decisions.overrides import list_overrides, overrides_in_force, revoke_override, set_override
from engine.decisions.profile import profile
from engine.decisions.records import stored_result
from engine.decisions.replay import replay_decision
from engine.errors import ConfigError, NotFoundError
from engine.storage.tables_decisions import decisions

from engine.reporting.collect import collect_report
from workflows.claims import overrides_applied

from tests.decisions.pipeline import AS_OF, DECIDED_AT, JAN, DemoFeeds, phase3

FAMILY = "F000002"
SET_AT = datetime(2024, 2, 10, 9, 30)
REVOKED_AT = datetime(2024, 2, 20, 9, 0)


@pytest.fixture
def loaded(db: sa.Engine, tmp_path) -> sa.Engine:
    DemoFeeds(db, tmp_path / "feeds").load(JAN)
    return db


def _override(conn: sa.Connection) -> int:
    return set_override(conn, family_id=FAMILY, rule="CRIME_OFFENDING", value="met",
                        reason="police intelligence not in the feed", actor="j.smith", role="manager",
                        at=SET_AT).override_id


def _revoke(conn: sa.Connection, override_id: int, **given) -> None:
    revoke_override(conn, override_id, actor="r.jones", role="manager", reason="the feed now has it", **given)


def test_override_is_recorded_with_who_when_and_why(db: sa.Engine) -> None:
    """The override row keeps actor, role, reason and time; bad values and empty reasons, actors or roles
    are refused."""
    with db.begin() as conn:
        override_id = _override(conn)
        given = dict(family_id=FAMILY, rule="CRIME_OFFENDING", value="met", reason="x", actor="a", role="manager")
        for wrong, message in ((dict(value="maybe"), "met, not_met"), (dict(reason="  "), "needs a reason"),
                               (dict(actor=""), "pass --actor"), (dict(role=" "), "pass --role")):
            with pytest.raises(ConfigError, match=message):
                set_override(conn, **{**given, **wrong})
    with db.connect() as conn:
        (record,) = list_overrides(conn)
    assert (record.override_id, record.actor, record.role, record.reason, record.created_at) == (
        override_id, "j.smith", "manager", "police intelligence not in the feed", SET_AT)
    assert "set to met by j.smith (as manager)" in record.describe()


def test_override_in_force_only_between_set_and_revoked(db: sa.Engine) -> None:
    """An override counts from when it was set until it is revoked, and never before."""
    with db.begin() as conn:
        override_id = _override(conn)
        with pytest.raises(ConfigError, match="needs a reason to be revoked"):
            revoke_override(conn, override_id, actor="r.jones", role="manager", reason="")
        _revoke(conn, override_id, at=REVOKED_AT)
        with pytest.raises(NotFoundError):
            _revoke(conn, override_id)
    with db.connect() as conn:
        (record,) = list_overrides(conn)
        assert record.describe_revocation() == "revoked by r.jones (as manager) on 2024-02-20 09:00 UTC, because the feed now has it"
        assert overrides_in_force(conn, datetime(2024, 2, 9)) == {}
        assert [o.override_id for o in overrides_in_force(conn, DECIDED_AT)[FAMILY]] == [override_id]
        assert overrides_in_force(conn, REVOKED_AT) == {}


def test_profile_applies_overrides_and_replay_respects_those_then_in_force(loaded: sa.Engine) -> None:
    """The decision records the override; after it is revoked, replay still applies it (it was in force
    at the decision's knowledge time) and a new decision no longer does."""
    db = loaded
    with db.begin() as conn:
        override_id = _override(conn)
    run = profile(db, phase3(), AS_OF, DECIDED_AT)
    index = [e.family_id for e in run.evaluated].index(FAMILY)
    decision_id = run.decision_ids[index]
    with db.connect() as conn:
        row = conn.execute(sa.select(decisions).where(decisions.c.decision_id == decision_id)).one()
        result = stored_result(row, conn)
    need = result["needs"]["CRIME_OFFENDING"]["result"]
    # the demo feeds have no police data, so the rules could only say unknown
    assert (need["value"], need["overridden_from"]) == ("met", "unknown")
    assert (need["override"]["actor"], need["override"]["role"]) == ("j.smith", "manager")
    assert row.override_ids == f"[{override_id}]"
    explained = explain_recorded(db, FAMILY)
    assert "OVERRIDDEN: set to met by j.smith (as manager)" in explained.text
    assert "police intelligence not in the feed" in explained.text
    assert explained.override_lines() == [f"Human override #{override_id}: CRIME_OFFENDING set to met by j.smith "
                                          "(as manager) on 2024-02-10 09:30 UTC, because police intelligence not in "
                                          "the feed."]

    with db.begin() as conn:
        _revoke(conn, override_id, at=REVOKED_AT)
    assert replay_decision(db, decision_id).identical
    (shown,) = collect_report(db).overrides  # the programme report lists it under the run that applied it
    assert (shown.override_id, shown.family_id, shown.actor, shown.role) == (override_id, FAMILY, "j.smith", "manager")
    assert shown.revoked.startswith("revoked by r.jones")
    (line,) = explain_recorded(db, FAMILY).override_lines()  # (the decision still applies it)
    assert line.endswith("Since revoked by r.jones (as manager) on 2024-02-20 09:00 UTC, because the feed now has it.")
    # a claim's audit pack lists the overrides its decisions applied, revocation included
    with db.connect() as conn:
        (applied,) = overrides_applied(conn, [{"family_id": FAMILY, "override_ids": json.loads(row.override_ids)},
                                              {"family_id": "F000001", "override_ids": []}])
    assert (applied["override_id"], applied["actor"], applied["role"], applied["rule"]) == (
        override_id, "j.smith", "manager", "CRIME_OFFENDING")
    assert (applied["revoked_by"], applied["revoked_role"], applied["revoke_reason"]) == (
        "r.jones", "manager", "the feed now has it")
    assert applied["revoked_at"].startswith("2024-02-20T09:00")
    later = profile(db, phase3(), AS_OF, datetime(2024, 2, 25))
    again = stored_result_for(db, later.decision_ids[index])
    assert again["needs"]["CRIME_OFFENDING"]["result"]["override"] is None
    assert again["needs"]["CRIME_OFFENDING"]["result"]["value"] == "unknown"


def stored_result_for(db: sa.Engine, decision_id: str) -> dict:
    with db.connect() as conn:
        return stored_result(conn.execute(sa.select(decisions).where(decisions.c.decision_id == decision_id)).one(), conn)


@pytest.mark.parametrize("folder", ["phase3", "phase2"])
def test_override_scope_is_whom_the_evaluator_decides_each_rule_for(folder: str) -> None:
    """What `hearth override set` asks of --person follows the compiled rules: a person-level need or outcome
    part is asked for members and for the family (combining them), any other person-level rule for members
    only, a family-level one for the family only."""
    from dsl import load_framework
    from engine.decisions.evaluate import compile_for
    from engine.decisions.lookup import override_scope, rule_names

    framework = load_framework(f"frameworks/{folder}")
    compiled = compile_for(framework)
    scopes = {}
    for name in rule_names(framework):
        rule = compiled.rules[name]
        expected = "either" if rule.per_member else rule.subject
        scopes[name] = override_scope(framework, name)
        assert scopes[name] == expected, name
    assert {"person", "family", "either"} <= set(scopes.values())
