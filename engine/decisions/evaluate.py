"""Evaluate many families with one compiled framework, in one process or several, deterministically.

Families are sorted by id before evaluation and results come back in that order whatever the worker
count, and each result is serialised to a compact record's canonical JSON, so the same framework, knowledge state and
evaluation date always give byte-identical records.

Worker processes are forked: they inherit the compiled framework and the family list, so nothing big
is pickled on the way in; only each family's result JSON comes back.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Sequence

from engine.decisions.overrides import OverrideRecord
from engine.decisions.compact import encode
from engine.decisions.framework_text import framework_text
from engine.decisions.records import pack_result, unpack_result
from engine.rules.inputs import FamilyInput
from engine.rules.ir import Framework


@dataclass(frozen=True)
class Evaluated:
    """One family's result: its compact record's canonical JSON (what is stored and hashed) plus what
    produced it."""

    family_id: str
    person_ids: tuple[str, ...]
    result_zlib: bytes
    result_sha256: str
    override_ids: tuple[int, ...]
    #: the figures a run summary counts, taken before serialising so nobody re-parses the JSON
    eligible: str = "unknown"
    headlines: tuple[tuple[str, str], ...] = ()
    unknowns: int = 0

    @property
    def result_json(self) -> str:
        """The record as stored (format 3 compact JSON)."""
        return unpack_result(self.result_zlib)


#: compiled frameworks by content hash: compiling Phase 3 takes ~0.2 s, and replaying or explaining
#: several decisions in one process should pay it once
_COMPILED: dict[str, Any] = {}
_COMPILED_KEEP = 4


#: content hashes by framework object (frozen models): hashing serialises the whole framework, ~5 ms for
#: Phase 3, and explain or replay asks for the same stored framework's compiled form more than once
_HASHED: dict[int, tuple[Framework, str]] = {}


def _content_hash(framework: Framework) -> str:
    found = _HASHED.get(id(framework))
    if found is None or found[0] is not framework:
        if len(_HASHED) >= _COMPILED_KEEP:
            _HASHED.clear()
        found = _HASHED[id(framework)] = (framework, framework.content_hash())
    return found[1]


def compile_for(framework: Framework) -> Any:
    """The evaluator's compiled form of ``framework``, cached by content hash."""
    from engine.rules.evaluator import compile_framework

    key = _content_hash(framework)
    compiled = _COMPILED.get(key)
    if compiled is None:
        if len(_COMPILED) >= _COMPILED_KEEP:
            _COMPILED.pop(next(iter(_COMPILED)))
        compiled = _COMPILED[key] = compile_framework(framework)
    return compiled


def evaluator_overrides(records: Sequence[OverrideRecord]) -> tuple[Any, ...]:
    """Overrides in the evaluator's own type (``engine.rules.results.Override``)."""
    from engine.rules.results import Override

    return tuple(
        Override(rule=r.rule, family_id=r.family_id, person_id=r.person_id, value=r.value, reason=r.reason,
                 actor=r.actor, at=r.created_at)
        for r in records
    )


def evaluate_one(compiled: Any, family: FamilyInput, as_of: date,
                 overrides: Sequence[OverrideRecord] = (), trace: bool = True) -> Any:
    """The FamilyResult for one family (overrides applied). ``trace=False`` leaves out the tree of
    sub-criteria under each rule (every rule's result, evidence and unknowns are still there)."""
    return compiled.evaluate(family, as_of, overrides=evaluator_overrides(overrides), trace=trace)


# State shared with forked workers (set just before the pool starts, read-only afterwards).
_SHARED: dict[str, Any] = {}


def _evaluate_range(bounds: tuple[int, int]) -> list[Evaluated]:
    compiled, families, as_of, overrides, trace = (
        _SHARED["compiled"], _SHARED["families"], _SHARED["as_of"], _SHARED["overrides"], _SHARED["trace"]
    )
    return [_evaluated(compiled, family, as_of, overrides.get(family.family_id, ()), trace)
            for family in families[bounds[0]:bounds[1]]]


def _evaluated(compiled: Any, family: FamilyInput, as_of: date,
               overrides: Sequence[OverrideRecord], trace: bool) -> Evaluated:
    result = evaluate_one(compiled, family, as_of, overrides, trace)
    packed, digest = pack_result(encode(result, framework_text(compiled.framework)))
    return Evaluated(
        family_id=family.family_id,
        person_ids=tuple(sorted(m.person_id for m in family.members)),
        result_zlib=packed,
        result_sha256=digest,
        override_ids=tuple(r.override_id for r in overrides),
        eligible=result.eligible.value,
        headlines=tuple((code, h.value) for code, h in sorted(result.headlines.items())),
        unknowns=len(result.unknowns),
    )


def evaluate_families(
    compiled: Any,
    families: Sequence[FamilyInput],
    as_of: date,
    overrides: Mapping[str, Sequence[OverrideRecord]] | None = None,
    workers: int = 1,
    trace: bool = False,
) -> list[Evaluated]:
    """Evaluate every family, returning results sorted by family id (the order of ``families`` and the
    number of workers make no difference to the output)."""
    ordered = sorted(families, key=lambda f: f.family_id)
    overrides = dict(overrides or {})
    if workers <= 1 or len(ordered) < 2 * workers or "fork" not in multiprocessing.get_all_start_methods():
        return [_evaluated(compiled, f, as_of, overrides.get(f.family_id, ()), trace) for f in ordered]
    _SHARED.update(compiled=compiled, families=ordered, as_of=as_of, overrides=overrides, trace=trace)
    try:
        # More chunks than workers keeps both cores busy when some families are much bigger than others.
        chunks = workers * 8
        step = -(-len(ordered) // chunks)
        bounds = [(start, min(start + step, len(ordered))) for start in range(0, len(ordered), step)]
        pool = multiprocessing.get_context("fork").Pool(workers)
        try:
            parts = pool.map(_evaluate_range, bounds)
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.close()  # let the workers exit and be reaped (their CPU time then counts as ours)
            pool.join()
    finally:
        _SHARED.clear()
    return [item for part in parts for item in part]
