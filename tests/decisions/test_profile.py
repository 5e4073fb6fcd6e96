"""Profiling: one chained decision per family, a run summary, and byte-identical results however the
input is ordered and however many worker processes evaluate it."""

from __future__ import annotations

import json
import random

import sqlalchemy as sa

from engine.decisions.compact import FORMAT
from engine.decisions.evaluate import compile_for, evaluate_families
from engine.decisions.profile import profile
from engine.decisions.records import stored_result, verify_chain
from engine.decisions.rehydrate import full_form, result_from_dict
from engine.rules.inputs import FamilyInput
from engine.storage.tables_decisions import decision_runs, decisions, frameworks_store

from tests.decisions.builders import AS_OF, borough, framework


def _shuffled(families: list[FamilyInput], seed: int) -> list[FamilyInput]:
    """The same families with families, members and facts each in a different order."""
    rng = random.Random(seed)
    out = []
    for f in families:
        members, facts = list(f.members), list(f.facts)
        rng.shuffle(members)
        rng.shuffle(facts)
        out.append(FamilyInput(f.family_id, tuple(members), tuple(facts), f.case, dict(f.coverage)))
    rng.shuffle(out)
    return out


def test_profile_records_one_chained_decision_per_family(db: sa.Engine) -> None:
    """A run stores its framework, a run row with counts, and one decision per family in family order."""
    run = profile(db, framework(), AS_OF, families=borough())
    assert run.summary.families == 8
    assert run.summary.eligible["met"] == 2 and run.summary.eligible["not_met"] == 6
    assert run.summary.needs_by_headline["EDUCATION"] == 4
    with db.connect() as conn:
        rows = conn.execute(sa.select(decisions).order_by(decisions.c.seq)).all()
        stored_run = conn.execute(sa.select(decision_runs)).one()
        stored_fw = conn.execute(sa.select(frameworks_store.c.framework_hash)).scalar_one()
        assert verify_chain(conn).intact
        first = stored_result(rows[0], framework(), conn)
    assert [r.family_id for r in rows] == [f"F0{i}" for i in range(1, 9)]
    assert stored_run.families == 8 and stored_run.eligible_met == 2
    assert stored_fw == framework().content_hash() == rows[0].framework_hash
    assert first["eligible"]["value"] == "met" and json.loads(rows[0].person_ids) == ["F01-C0", "F01-P1"]
    # the evidence an auditor follows back to the feed row is in the stored record
    evidence = first["needs"]["EDU_PERSISTENT_ABSENCE"]["result"]
    assert any(e["source"] == "school_census" for e in _all_evidence(evidence))


def _all_evidence(node: dict) -> list[dict]:
    found = list(node.get("evidence", ()))
    for child in node.get("children", ()):
        found += _all_evidence(child)
    return found


def test_results_are_byte_identical_whatever_the_order_or_worker_count() -> None:
    """Shuffled families, members and facts, with one or two workers, give the same JSON bytes."""
    compiled = compile_for(framework())
    # sixteen families: the borough plus renamed copies, so each of two workers gets several
    families = borough() + [FamilyInput(f"X{f.family_id}", f.members, f.facts, f.case, dict(f.coverage)) for f in borough()]
    baseline = evaluate_families(compiled, families, AS_OF, workers=1)
    for seed, workers in ((1, 1), (2, 2), (3, 2)):
        again = evaluate_families(compiled, _shuffled(families, seed), AS_OF, workers=workers)
        assert [e.result_json for e in again] == [e.result_json for e in baseline]
    assert [e.family_id for e in baseline] == sorted(f.family_id for f in families)


def test_stored_result_rebuilds_exactly() -> None:
    """The stored (compact) JSON expands and turns back into a FamilyResult whose to_dict() is the same."""
    compiled = compile_for(framework("2", attendance_threshold=95, include_da=True))
    for item in evaluate_families(compiled, borough(), AS_OF):
        stored = json.loads(item.result_json)
        assert stored["format"] == FORMAT and "facts" in stored
        data = full_form(stored, compiled.framework)
        assert result_from_dict(data).to_dict() == data


def test_phase3_results_rebuild_exactly() -> None:
    """The national Phase 3 framework's results (derived rules, outcomes, scores) round-trip too."""
    from pathlib import Path

    from dsl import load_framework

    from tests.decisions.builders import family

    phase3 = Path(__file__).resolve().parents[2] / "frameworks" / "phase3"
    compiled = compile_for(load_framework(phase3))
    for item in evaluate_families(compiled, [family("P1", attendance=80, offences=2, da=True), family("P2")], AS_OF):
        data = full_form(json.loads(item.result_json), compiled.framework)
        assert data["rules"], "phase 3 has derived rules; they must be in the record"
        assert result_from_dict(data).to_dict() == data
