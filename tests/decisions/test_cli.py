"""The commands as a user runs them: profile, explain, replay, diff, audit verify, override."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from engine.storage.db import make_engine
from engine.storage.tables_decisions import decisions
from workflows.cli import main

from tests.decisions.pipeline import JAN, PHASE3, DemoFeeds, forge_record
from tests.fixtures.frameworks import copy_framework

AS_OF, KNOWN_AT = "2024-02-15", "2024-02-15T12:00:00"


@pytest.fixture
def url(sqlite_url: str, tmp_path, monkeypatch) -> str:
    """A SQLite file with January's demo feeds loaded and families built (and a wide terminal)."""
    monkeypatch.setenv("COLUMNS", "250")
    engine = make_engine(sqlite_url)
    DemoFeeds(engine, tmp_path / "feeds").load(JAN)
    engine.dispose()
    return sqlite_url


def hearth(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``hearth ARGS`` in-process; its exit code, stdout and stderr."""
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def test_profile_explain_replay_verify(capsys, url: str) -> None:
    """An auditor's path: profile, explain a family (text and JSON), replay its decision, verify the chain."""
    code, out, _ = hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--known-at", KNOWN_AT,
                          "--db", url)
    assert code == 0 and "families" in out and "eligible: unknown" in out
    code, out, _ = hearth(capsys, "explain", "F000001", "--db", url)
    assert code == 0
    assert out.startswith("Decision D000000001") and "Family F000001 as of 2024-02-15" in out
    code, out, _ = hearth(capsys, "explain", "F000001", "--json", "--db", url)
    data = json.loads(out)
    assert data["decision"]["decision_id"] == "D000000001" and data["result"]["family_id"] == "F000001"
    assert data["explanation_tree"]["eligible"]["value"] == data["result"]["eligible"]["value"]
    code, out, _ = hearth(capsys, "replay", "D000000001", "--db", url)
    assert (code, "identical" in out) == (0, True)
    code, out, _ = hearth(capsys, "audit", "verify", "--db", url)
    assert code == 0 and "decision chain intact: 6 decisions verified" in out


def test_replay_a_whole_run(capsys, url: str) -> None:
    """`hearth replay --run` replays every decision of a run and exits 0; an edited decision is listed with
    its first difference and exit 1; a decision id and --run together, or neither, is a usage error."""
    code, out, _ = hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--known-at", KNOWN_AT,
                          "--db", url)
    run_id = next(word for word in out.split() if word.startswith("R2"))
    code, out, _ = hearth(capsys, "replay", "--run", run_id, "--db", url)
    assert code == 0 and f"Run {run_id} as of 2024-02-15" in out and "6 decisions replayed, 6 identical" in out
    engine = make_engine(url)
    forge_record(engine, "D000000003", lambda data: data["eligible"].update(value="forged"))
    engine.dispose()
    code, out, _ = hearth(capsys, "replay", "--run", run_id, "--db", url)
    assert code == 1 and "6 decisions replayed, 5 identical" in out and "1 decision(s) differ" in out
    assert "D000000003" in out and "$.eligible.value" in out
    code, out, _ = hearth(capsys, "replay", "--run", run_id, "--json", "--db", url)
    data = json.loads(out)
    assert (code, data["decisions"], data["identical"]) == (1, 6, False)
    assert [d["decision_id"] for d in data["differing"]] == ["D000000003"]
    for args in (("D000000001", "--run", run_id), ()):
        code, _, err = hearth(capsys, "replay", *args, "--db", url)
        assert code == 2 and "give a decision id" in err


def test_explain_fresh_for_another_date(capsys, url: str) -> None:
    """With --as-of, explain evaluates now (with the framework of the latest decision) and records nothing."""
    hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--known-at", KNOWN_AT, "--db", url)
    code, out, _ = hearth(capsys, "explain", "F000002", "--as-of", "2024-02-20", "--json", "--db", url)
    data = json.loads(out)
    assert code == 0 and data["recorded"] is False and data["result"]["as_of"] == "2024-02-20"
    code, _, err = hearth(capsys, "explain", "F0000002", "--as-of", "2024-02-20", "--framework", str(PHASE3),
                          "--db", url)
    assert code == 2 and "has no members on 2024-02-20" in err and "did you mean 'F000002'" in err.replace("\n", "")
    code, out, _ = hearth(capsys, "explain", "F000002", "--as-of", AS_OF, "--json", "--db", url)
    assert json.loads(out)["decision"]["decision_id"] == "D000000002", "a recorded date shows its decision"
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(decisions)).scalar() == 6
    engine.dispose()


def test_explain_a_chosen_decision_of_the_family(capsys, url: str) -> None:
    """An auditor explains the decision a claim cites, not the family's latest: --decision picks it, and only
    a decision about that family, given alone."""
    for as_of in (AS_OF, "2024-02-20"):
        hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", as_of, "--known-at", KNOWN_AT, "--db", url)
    code, out, _ = hearth(capsys, "explain", "F000002", "--db", url)
    assert code == 0 and out.startswith("Decision D000000008 "), "the latest by default"
    code, out, _ = hearth(capsys, "explain", "F000002", "--decision", "D000000002", "--db", url)
    assert code == 0 and out.startswith("Decision D000000002 ") and "Family F000002 as of 2024-02-15" in out
    assert "matches the record exactly" in out
    code, out, _ = hearth(capsys, "explain", "F000002", "--decision", "D000000002", "--json", "--db", url)
    assert json.loads(out)["decision"]["decision_id"] == "D000000002"
    code, _, err = hearth(capsys, "explain", "F000002", "--decision", "D000000003", "--db", url)
    assert code == 2 and "D000000003 is about family F000003, not F000002" in err.replace("\n", "")
    code, _, err = hearth(capsys, "explain", "F000002", "--decision", "D000000099", "--db", url)
    assert code == 2 and "no decision 'D000000099'" in err and "D000000001 to D000000012" in err.replace("\n", "")
    code, _, err = hearth(capsys, "explain", "F000002", "--decision", "D000000002", "--as-of", AS_OF, "--db", url)
    assert code == 2 and "drop --as-of" in err.replace("\n", "")


def test_tampering_fails_verify_and_replay(capsys, url: str) -> None:
    """Editing a stored decision makes `audit verify` exit 1 naming it, and replay exit 1."""
    hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--known-at", KNOWN_AT, "--db", url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(decisions.update().where(decisions.c.decision_id == "D000000004").values(family_id="F999999"))
    engine.dispose()
    code, _, err = hearth(capsys, "audit", "verify", "--db", url)
    assert code == 1 and "decision chain broken at decision D000000004" in err and "Tampering detected" in err
    code, out, _ = hearth(capsys, "replay", "D000000004", "--db", url)
    assert code == 1 and "no longer matches its record hash" in out


def test_user_errors_are_messages_not_tracebacks(capsys, url: str) -> None:
    """Unknown families and decisions, bad dates and bad override rules say what to do instead."""
    hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--known-at", KNOWN_AT, "--db", url)
    code, _, err = hearth(capsys, "explain", "F00001", "--db", url)
    assert code == 2 and "did you mean 'F000001'" in err.replace("\n", "")
    code, _, err = hearth(capsys, "replay", "D42", "--db", url)
    assert code == 2 and "D000000001 to D000000006" in err
    code, _, err = hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", "15/02/2024", "--db", url)
    assert code == 2 and "YYYY-MM-DD" in err
    for later in ("2999-01-01", "2999-01-01T09:00:00+01:00"):  # a decision can record only what is known by now
        code, _, err = hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--known-at", later,
                              "--db", url)
        assert code == 2 and f"--known-at {later} is later than now" in " ".join(err.split())
    assert "a date means the end of that day" not in " ".join(err.split())
    code, _, err = hearth(capsys, "override", "set", "F000001", "CRIME_OFENDING", "met", "--reason", "r",
                          "--actor", "a", "--role", "manager", "--db", url)
    assert code == 2 and "did you mean 'CRIME_OFFENDING'" in err.replace("\n", "")
    assert "Traceback" not in err


def test_override_set_list_and_profile(capsys, url: str) -> None:
    """An override set from the command line by a role the framework authorises is listed with that role,
    applied by the next profile and shown by explain; revoking it says who, as what and why."""
    hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--known-at", KNOWN_AT, "--db", url)
    code, out, _ = hearth(capsys, "override", "set", "F000001", "eligible", "met", "--reason",
                          "judgement after case review", "--actor", "a.khan", "--role", "manager", "--db", url)
    assert code == 0 and "override #1: eligible set to met by a.khan (as manager)" in out
    code, out, _ = hearth(capsys, "override", "list", "--db", url)
    assert "a.khan" in out and "manager" in out
    hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--db", url)
    code, out, _ = hearth(capsys, "explain", "F000001", "--json", "--db", url)
    data = json.loads(out)
    assert data["result"]["eligible"]["value"] == "met"
    assert (data["overrides"][0]["actor"], data["overrides"][0]["role"]) == ("a.khan", "manager")
    assert data["result"]["eligible"]["override"]["role"] == "manager"
    code, out, _ = hearth(capsys, "explain", "F000001", "--db", url)
    assert "by a.khan (as manager)" in " ".join(out.split())
    code, out, _ = hearth(capsys, "override", "revoke", "1", "--reason", "case review reversed", "--actor", "b.lee",
                          "--role", "manager", "--db", url)
    assert code == 0 and "revoked by b.lee (as manager)" in out
    code, out, _ = hearth(capsys, "override", "list", "--db", url)
    assert "b.lee" in out and "case review reversed" in " ".join(out.split())
    code, out, _ = hearth(capsys, "override", "list", "--json", "--db", url)
    (listed,) = json.loads(out)
    assert (listed["override_id"], listed["family_id"], listed["actor"], listed["role"]) == (1, "F000001", "a.khan", "manager")
    assert (listed["revoked_by"], listed["revoked_role"], listed["revoke_reason"]) == ("b.lee", "manager", "case review reversed")
    assert listed["created_at"] < listed["revoked_at"]


def test_an_override_names_a_member_exactly_when_the_rule_is_decided_per_member(capsys, url: str) -> None:
    """A role needs --person (an override of it for the family would replace nothing); eligibility refuses
    one; a need takes either; somebody outside the family is refused with the members listed. Nothing
    refused is recorded."""
    hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--known-at", KNOWN_AT, "--db", url)
    engine = make_engine(url)
    with engine.connect() as conn:
        members = json.loads(conn.execute(sa.select(decisions.c.person_ids).where(decisions.c.family_id == "F000001")
                                          .order_by(decisions.c.seq.desc())).scalars().first())
    engine.dispose()
    given = ("--reason", "r", "--actor", "a.khan", "--role", "manager", "--db", url)
    for args, expected in (
            (("dependent_child", "met"), "decided for each member, not for the family: pass --person"),
            (("eligible", "met", "--person", members[0]), f"drop --person {members[0]}"),
            (("CRIME_OFFENDING", "met", "--person", "P999999"), "is not a member of family F000001")):
        code, _, err = hearth(capsys, "override", "set", "F000001", *args, *given)
        assert code == 2 and expected in " ".join(err.split()) and "Traceback" not in err
    assert members[0] in " ".join(err.split())  # (the family's members are listed)
    code, out, _ = hearth(capsys, "override", "list", "--json", "--db", url)
    assert json.loads(out) == []
    for args in (("dependent_child", "met", "--person", members[0]), ("CRIME_OFFENDING", "met"),
                 ("CRIME_OFFENDING", "not_met", "--person", members[0])):
        code, out, _ = hearth(capsys, "override", "set", "F000001", *args, *given)
        assert code == 0 and "recorded override" in out


def test_overrides_only_by_a_role_the_framework_authorises(capsys, url: str, tmp_path) -> None:
    """Phase 3's lifecycle lets a manager override; internal audit, which checks overrides, and a role the
    framework does not have are refused, and so is any role under a framework naming none."""
    hearth(capsys, "profile", "--framework", str(PHASE3), "--as-of", AS_OF, "--known-at", KNOWN_AT, "--db", url)
    for role, expected in (("internal_auditor", "role 'internal_auditor' may not override"),
                           ("managr", "did you mean 'manager'")):
        code, _, err = hearth(capsys, "override", "set", "F000001", "eligible", "met", "--reason", "r", "--actor",
                              "a.khan", "--role", role, "--db", url)
        assert code == 2 and expected in " ".join(err.split()) and "lifecycle authorises: manager" in " ".join(err.split())
    code, out, _ = hearth(capsys, "override", "list", "--db", url)
    assert "Overrides (0)" in out  # nothing was recorded by the refused attempts
    hearth(capsys, "override", "set", "F000001", "eligible", "met", "--reason", "r", "--actor", "a.khan",
           "--role", "manager", "--db", url)
    code, _, err = hearth(capsys, "override", "revoke", "1", "--reason", "r", "--actor", "i.audit",
                          "--role", "internal_auditor", "--db", url)
    assert code == 2 and "may not override or revoke" in " ".join(err.split())
    code, _, err = hearth(capsys, "override", "revoke", "7", "--reason", "r", "--actor", "a", "--role", "manager",
                          "--db", url)
    assert code == 2 and "no override #7" in err

    silent = copy_framework(PHASE3.name, tmp_path / "silent")
    lifecycle = silent / "lifecycle.hearth"
    lifecycle.write_text(lifecycle.read_text().replace("  overrides by manager\n", "", 1))
    hearth(capsys, "profile", "--framework", str(silent), "--as-of", AS_OF, "--known-at", KNOWN_AT, "--db", url)
    code, _, err = hearth(capsys, "override", "set", "F000001", "eligible", "met", "--reason", "r", "--actor",
                          "a.khan", "--role", "manager", "--db", url)
    assert code == 2 and "names no role that may override" in " ".join(err.split())
    assert "Traceback" not in err


def test_diff_between_two_frameworks(capsys, url: str, tmp_path) -> None:
    """Lowering the minimum number of needs lists the families it makes eligible, with the rule's file:line."""
    lenient = tmp_path / "lenient"
    copy_framework(PHASE3.name, lenient)
    parameters = lenient / "parameters.hearth"
    parameters.write_text(parameters.read_text().replace("3 from 2022-10-03", "1 from 2022-10-03", 1))
    code, out, _ = hearth(capsys, "diff", "--from", str(PHASE3), "--to", str(lenient), "--as-of", AS_OF,
                          "--known-at", KNOWN_AT, "--json", "--db", url)
    assert code == 0
    data = json.loads(out)
    assert data["families"] == 6 and data["families_changed"] >= 1
    for changes in data["changes"].values():
        eligible = next(c for c in changes if c["kind"] == "eligible")
        assert eligible["before"] != eligible["after"] and eligible["span"].startswith("eligibility.hearth:")
        assert any("minimum_needs = 1" in because for because in eligible["because"])
    code, out, _ = hearth(capsys, "diff", "--from", str(PHASE3), "--to", str(lenient), "--as-of", AS_OF,
                          "--known-at", KNOWN_AT, "--csv", "--db", url)
    assert out.splitlines()[0] == "family_id,kind,code,before,after,span,citations,because"
    assert len(out.splitlines()) > 1
    changed = sorted(data["changes"])
    code, out, _ = hearth(capsys, "diff", "--from", str(PHASE3), "--to", str(lenient), "--as-of", AS_OF,
                          "--known-at", KNOWN_AT, "--limit", "1", "--db", url)
    assert code == 0
    # the summary a policy lead decides on: how eligibility moves, why (ranked), headlines, then a sample
    assert "How eligibility moves" in out and "By headline" in out
    assert "Parameter values new to the eligibility rule" in out and "minimum_needs = 1 (from 2022-10-03)" in out
    assert f"{changed[0]} " in out and (len(changed) == 1 or f"first 1 of {len(changed)}" in out)
    assert (len(changed) == 1) or changed[-1] not in out
    assert "--family FAMILY_ID" in out and "eligibility.hearth:" not in out  # per-rule detail is one option away
    code, out, _ = hearth(capsys, "diff", "--from", str(PHASE3), "--to", str(lenient), "--as-of", AS_OF,
                          "--known-at", KNOWN_AT, "--family", changed[0], "--db", url)
    assert code == 0 and f"Family {changed[0]}" in out and "eligibility.hearth:" in out
    unchanged = next(f"F{i:06d}" for i in range(1, 7) if f"F{i:06d}" not in data["changes"])
    code, out, _ = hearth(capsys, "diff", "--from", str(PHASE3), "--to", str(lenient), "--as-of", AS_OF,
                          "--known-at", KNOWN_AT, "--family", unchanged, "--db", url)
    assert code == 0 and f"family {unchanged}: nothing changes" in out
    code, _, err = hearth(capsys, "diff", "--from", str(PHASE3), "--to", str(lenient), "--as-of", AS_OF,
                          "--known-at", KNOWN_AT, "--family", changed[0] + "9", "--db", url)
    assert code == 2 and f"did you mean '{changed[0]}'" in err.replace("\n", "") and "Traceback" not in err


def test_diff_on_a_database_without_families_says_what_to_do(capsys, sqlite_url: str) -> None:
    """No families yet: the JSON stays valid and the note, on stderr, says to load feeds first."""
    code, out, err = hearth(capsys, "diff", "--from", str(PHASE3), "--to", str(PHASE3), "--as-of", AS_OF,
                            "--json", "--db", sqlite_url)
    assert code == 0 and json.loads(out)["families"] == 0
    assert "no family had members" in err and "hearth ingest" in err
