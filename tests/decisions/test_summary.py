"""A decision's summary (eligibility, needs and headlines met, primary RAG) read straight from the stored
bytes, in every record format, equals what the fully expanded record says."""

from __future__ import annotations

import json
import zlib
from datetime import date

from engine.decisions.compact import CITING_FORMATS, encode
from engine.decisions.framework_text import framework_text
from engine.decisions.records import canonical_json, decision_summary, pack_result

from tests.decisions.test_compact import compiled  # noqa: F401 - the compiled Phase 3 fixture
from tests.rules.test_bulk_identical import bench


def _expected(full: dict) -> tuple:
    first = next(iter(full["scores"].values()), None)
    return (full["eligible"]["value"],
            tuple(sorted(c for c, n in full["needs"].items() if n["result"]["value"] == "met")),
            tuple(sorted(c for c, h in full["headlines"].items() if h["value"] == "met")),
            first is not None, first.get("rag") if first else None)


def test_summary_equals_the_expanded_record_in_every_format(compiled) -> None:  # noqa: F811
    shared = framework_text(compiled.framework)
    seen = {"eligible": set(), "needs": 0, "rag": set()}
    for family in bench.synthetic_families(40, seed=5):
        result = compiled.evaluate(family, date(2023, 9, 1), trace=False)
        full = json.loads(canonical_json(result.to_dict()))
        stored_forms = [canonical_json(result.to_dict()).encode(), encode(result)]
        stored_forms += [encode(result, shared, version) for version in CITING_FORMATS]
        # as runs store them (zstd) and as older rows hold them (zlib)
        for packed in [pack_result(stored)[0] for stored in stored_forms] + [zlib.compress(s) for s in stored_forms]:
            s = decision_summary(packed)
            assert (s.eligible, tuple(sorted(s.needs_met)), tuple(sorted(s.headlines_met)), s.scored, s.rag) \
                == _expected(full)
        seen["eligible"].add(s.eligible)
        seen["needs"] += len(s.needs_met)
        seen["rag"].add(s.rag)
    # the sample exercises what the summary reads: several eligibility values, needs met, RAG ratings
    assert len(seen["eligible"]) >= 2 and seen["needs"] > 0 and len(seen["rag"]) >= 2, seen
