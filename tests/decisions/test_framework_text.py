"""Format 3 and 4 records leave the framework's citations and rule sources (and format 4 its parameter
values) to the stored framework: they expand exactly from it, keep what differs from it, and an altered
stored framework is refused, not read."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from engine.decisions.compact import FORMAT, encode, expand
from engine.decisions.framework_text import framework_text
from engine.decisions.lookup import explain_recorded
from engine.decisions.profile import profile
from engine.decisions.records import canonical_json, stored_bytes, stored_result, verify_chain
from engine.decisions.replay import replay_decision
from engine.errors import IntegrityError
from engine.rules import ir
from engine.rules.results import FamilyResult, NeedResult, OutcomeResult, ParamUse, TriResult
from engine.storage.tables_decisions import decisions, frameworks_store

from tests.decisions.pipeline import AS_OF, DECIDED_AT, JAN, DemoFeeds, phase3

GUIDANCE = ir.Citation(text="Guidance ch.4", url="https://example.org/g", confidence="verified")
LOCAL_PLAN = ir.Citation(text="Local plan", confidence="local")
WHAT_IF = ir.Citation(text="what-if value", confidence="local")
NEEDS_SPAN = ir.Span(file="needs.hearth", line=3, column=1)
TRUE = ir.Lit(value=True)

FRAMEWORK = ir.Framework(
    header=ir.FrameworkHeader(id="fw", title="Records test", phase="3", version="1"),
    parameters=(ir.Parameter(name="window", unit="months", values=(
        ir.DatedValue(effective_from=date(2022, 1, 1), value=12, citation=LOCAL_PLAN),)),),
    headlines=(ir.Headline(code="CRIME", name="Crime"),),
    needs=(ir.Need(name="CRIME", headline="CRIME", condition=TRUE, span=NEEDS_SPAN, citations=(GUIDANCE,)),),
    outcomes=(ir.Outcome(name="CRIME_outcome", need="CRIME", achieved=TRUE, span=NEEDS_SPAN, citations=(GUIDANCE,)),),
    eligibility=ir.Eligibility(family_definition=TRUE, condition=TRUE,
                               span=ir.Span(file="eligibility.hearth", line=1, column=1)),
)
SHARED = framework_text(FRAMEWORK)


def _result() -> FamilyResult:
    """Criteria agreeing with the framework's sources, differing from them (another span, no citations,
    no source where the framework has one) and citing what the framework does not hold."""
    window = ParamUse("window", ir.Duration(amount=12, unit="months"), date(2022, 1, 1), LOCAL_PLAN, "months")
    what_if = ParamUse("window", ir.Duration(amount=3, unit="months"), date(2023, 9, 1), WHAT_IF, "months", "what-if")
    need = TriResult("met", "CRIME", "need", NEEDS_SPAN, (GUIDANCE,), parameters=[window])
    member = TriResult("met", "CRIME", "need", ir.Span(file="local.hearth", line=9, column=2), (GUIDANCE,),
                       person_id="P1", parameters=[what_if])
    achieved = TriResult("not_met", "CRIME.achieved", "outcome_achieved", NEEDS_SPAN, ())
    plain = TriResult("unknown", "family_definition", "family_definition", unknowns=["feed missing"])
    return FamilyResult(
        family_id="F1", as_of=date(2023, 9, 1), framework_id="fw", framework_version="1",
        framework_hash=SHARED.framework_hash, family_definition=plain,
        needs={"CRIME": NeedResult("CRIME", "Crime", "CRIME", "person", need, members={"P1": member})},
        headlines={"CRIME": TriResult("met", "CRIME", "headline")},
        eligible=TriResult("unknown", "eligible", "eligible"), outcomes={"CRIME": OutcomeResult(
            "CRIME", "met", achieved, None, "not_met")},
        claimable=TriResult("not_met", "claimable", "claimable"), scores={},
    )


def test_a_record_keeps_only_what_differs_from_its_framework() -> None:
    result = _result()
    stored = json.loads(encode(result, SHARED))
    assert stored["format"] == FORMAT
    assert expand(stored, SHARED) == json.loads(canonical_json(result.to_dict()))
    # only the what-if citation is the record's own; it is numbered after the framework's
    assert stored["citations"] == [{"text": "what-if value", "url": None, "confidence": "local"}]
    # likewise the what-if parameter value: the framework's own value is referred to by its position
    assert [(p["effective_from"], p["citation"]) for p in stored["params"]] == [("2023-09-01", len(SHARED.citations))]
    assert SHARED.params == [{"name": "window", "value": "12 months", "unit": "months",
                              "effective_from": "2022-01-01", "override_label": None,
                              "citation": SHARED.citation_index[("Local plan", None, "local")]}]
    need = stored["needs"]["CRIME"]
    assert need["result"]["params"] == [0] and need["members"]["P1"]["params"] == [len(SHARED.params)]
    # format 3 spelled out both values in the record
    older = json.loads(encode(result, SHARED, 3))
    assert older["format"] == 3 and expand(older, SHARED) == expand(stored, SHARED)
    assert [p["effective_from"] for p in older["params"]] == ["2022-01-01", "2023-09-01"]
    # CRIME matches the framework; the outcome has no citations, eligible and family_definition no span,
    # where the framework has them; a member with another span carries it
    assert stored["sources"] == {
        "CRIME.achieved": {"span": "needs.hearth:3:1", "citations": []},
        "eligible": {"span": None, "citations": []},
        "family_definition": {"span": None, "citations": []},
    }
    assert stored["needs"]["CRIME"]["members"]["P1"]["span"] == "local.hearth:9:2"
    # the result names the need "Crime"; the framework gives no description, so a result would say "CRIME"
    assert stored["needs"]["CRIME"]["name"] == "Crime"
    assert b"Guidance ch.4" not in encode(result, SHARED) and b"Guidance ch.4" in encode(result)


def test_a_record_expands_only_with_its_own_framework() -> None:
    stored = json.loads(encode(_result(), SHARED))
    other = framework_text(FRAMEWORK.model_copy(update={"sources": {"needs.hearth": "edited"}}))
    with pytest.raises(IntegrityError, match="was written under framework"):
        expand(stored, other)
    with pytest.raises(ValueError, match="needs its framework's table"):
        expand(stored)
    with pytest.raises(ValueError, match="cannot be recorded against"):
        encode(_result(), other)


def test_stored_records_read_from_the_stored_framework_and_an_altered_one_is_refused(
        db: sa.Engine, tmp_path) -> None:
    """Profile writes format 4 without the framework's citation texts; readers expand it through their
    connection; editing the stored framework breaks reading, replay and ``audit verify`` alike."""
    DemoFeeds(db, tmp_path / "feeds").load(JAN)
    run = profile(db, phase3(), AS_OF, DECIDED_AT)
    cited = next(c.text for n in phase3().needs for c in n.citations)
    with db.connect() as conn:
        rows = conn.execute(sa.select(decisions).order_by(decisions.c.seq)).all()
        results = [stored_result(r, conn) for r in rows]
        assert verify_chain(conn).intact
    assert all(json.loads(stored_bytes(r))["format"] == FORMAT for r in rows)
    assert not any(cited.encode() in stored_bytes(r) for r in rows), "citation texts stay in the framework"
    assert all(set(n) == {"result", "members"} for r in rows for n in json.loads(stored_bytes(r))["needs"].values()), \
        "need descriptions stay in the framework"
    assert any(c["text"] == cited for r in results for n in r["needs"].values() for c in n["result"]["citations"])
    assert results == [stored_result(r, phase3()) for r in rows], "the stored framework reads as the original"
    with pytest.raises(IntegrityError, match=r"stored_result\(row, conn\)"):
        stored_result(rows[0])
    family = run.evaluated[0].family_id
    assert "matches the record exactly" in explain_recorded(db, family).heading()

    with db.begin() as conn:
        text = conn.execute(sa.select(frameworks_store.c.ir_json)).scalar_one()
        conn.execute(frameworks_store.update().values(ir_json=text.replace(cited, "Some other guidance")))
    with db.connect() as conn:
        with pytest.raises(IntegrityError, match="no longer hashes"):
            stored_result(rows[0], conn)
        report = verify_chain(conn)
    assert not report.intact and "frameworks_store row was altered" in report.problem
    with pytest.raises(IntegrityError, match="no longer hashes"):
        replay_decision(db, run.decision_ids[0])


def test_a_connection_caches_its_frameworks_only_while_it_lives(db: sa.Engine) -> None:
    """Readers pass their connection for every row: the framework is loaded once per connection, and the
    cache goes with the connection."""
    import gc

    from engine.decisions import framework_text as module
    from engine.decisions.store import store_framework

    with db.begin() as conn:
        store_framework(conn, FRAMEWORK)
    before = len(module._PER_CONNECTION)
    with db.connect() as conn:
        first = module.resolver(conn)(SHARED.framework_hash)
        assert module.resolver(conn).loaded == {SHARED.framework_hash: first} and first == SHARED
        assert len(module._PER_CONNECTION) == before + 1
    del conn
    gc.collect()
    assert len(module._PER_CONNECTION) == before
