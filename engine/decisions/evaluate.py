"""Evaluate many families with one compiled framework, in one process or several, deterministically.

Families are sorted by id before evaluation and results come back in that order whatever the worker
count, and each result is serialised to a compact record's canonical JSON, so the same framework, knowledge state and
evaluation date always give byte-identical records. A profile run (``stored=True``) stores a family as
its batch's columns instead (format 5, :mod:`engine.decisions.batches`) when the columns decide it
entirely, or decide all but family-level rules whose evaluation read no record, member's detail or case
date (:mod:`engine.columns.stored`): its record, derived when read, is the same bytes.

Worker processes are forked: they inherit the compiled framework and the family list (or the list of
batches to load), so nothing big is pickled on the way in; only each family's packed result comes back.
With :func:`evaluate_batches` each worker loads its own batch of families, so no process ever holds
every family's input.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Sequence, TypeVar

from engine.decisions.overrides import OverrideRecord
from engine.decisions.batches import batch_key, family_digest, pointer
from engine.decisions.compact import canonical_bytes, compact
from engine.decisions.framework_text import framework_text
from engine.decisions.records import pack_result, unpack_result
from engine.integrate.collector import collector_paused
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
    #: a record stored as its batch's columns (format 5; ``result_zlib`` points to them): the batch's key and
    #: stored bytes (one object for the batch's families, so it crosses from a worker once)
    batch: tuple[str, bytes] | None = None
    #: the record's unknown reasons (its "unknowns"), for what a run reports without reading records back
    reasons: tuple[str, ...] = ()

    @property
    def result_json(self) -> str:
        """The record as stored (format 4 compact JSON; a record stored as its batch's columns is derived when
        read from the database: ``engine.decisions.records.stored_bytes``)."""
        if self.batch is not None:
            raise ValueError(f"family {self.family_id}'s record is stored as its batch's columns: read it from the "
                             "decision row (engine.decisions.records.stored_bytes)")
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
    if not records:  # (most families: called once for each)
        return ()
    from engine.rules.results import Override

    return tuple(
        Override(rule=r.rule, family_id=r.family_id, person_id=r.person_id, value=r.value, reason=r.reason,
                 actor=r.actor, at=r.created_at, role=r.role)
        for r in records
    )


def evaluate_one(compiled: Any, family: FamilyInput, as_of: date,
                 overrides: Sequence[OverrideRecord] = (), trace: bool = True) -> Any:
    """The FamilyResult for one family (overrides applied). ``trace=False`` leaves out the tree of
    sub-criteria under each rule (every rule's result, evidence and unknowns are still there)."""
    return compiled.evaluate(family, as_of, overrides=evaluator_overrides(overrides), trace=trace)


def _evaluated(compiled: Any, family: FamilyInput, as_of: date,
               overrides: Sequence[OverrideRecord], trace: bool) -> Evaluated:
    return _recorded(compiled, family, evaluate_one(compiled, family, as_of, overrides, trace), overrides)


def _recorded(compiled: Any, family: FamilyInput, result: Any, overrides: Sequence[OverrideRecord]) -> Evaluated:
    record = compact(result, framework_text(compiled.framework))
    packed, digest = pack_result(canonical_bytes(record))
    return Evaluated(
        family_id=family.family_id,
        person_ids=tuple(sorted(m.person_id for m in family.members)),
        result_zlib=packed,
        result_sha256=digest,
        override_ids=tuple(r.override_id for r in overrides),
        eligible=result.eligible.value,
        headlines=tuple((code, h.value) for code, h in sorted(result.headlines.items())),
        unknowns=len(record["unknowns"]), reasons=tuple(record["unknowns"]),
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
    batches, workers = batches_for_workers(families, workers)
    return [item for part in evaluate_batches(compiled, batches, as_given, as_of, overrides, workers, trace)
            for item in part]


def batches_for_workers(families: Sequence[FamilyInput], workers: int) -> tuple[list[list[FamilyInput]], int]:
    """``families`` in batches for ``workers`` processes, and the number of processes worth forking."""
    if len(families) < 2 * workers:
        workers = 1  # forking costs more than a few families
    # More batches than workers keeps both cores busy when some families are much bigger than others.
    return family_batches(families, -(-len(families) // (workers * 8)) if workers > 1 else len(families)), workers


def family_batches(families: Sequence[FamilyInput], size: int, workers: int = 1) -> list[list[FamilyInput]]:
    """``families`` sorted by id, in consecutive batches of ``size`` (to evaluate with :func:`as_given`);
    for several ``workers``, smaller towards the end so they finish together (as a snapshot's batches are:
    :func:`engine.integrate.snapshot_plan.tapered_sizes`)."""
    from engine.integrate.snapshot_plan import tapered_sizes

    ordered = sorted(families, key=lambda f: f.family_id)
    batches, start = [], 0
    for length in tapered_sizes(len(ordered), max(1, size), workers):
        batches.append(ordered[start:start + length])
        start += length
    return batches


def as_given(families: Sequence[FamilyInput]) -> Sequence[FamilyInput]:
    """The "loader" of batches that already are families."""
    return families


Batch = TypeVar("Batch")

# State shared with forked workers (set just before the pool starts, read-only afterwards).
_SHARED: dict[str, Any] = {}


def _fork_pool(workers: int):
    """A pool of forked workers. Objects that exist now are moved out of the collector's reach first, so
    the workers' garbage collections do not write to (and so copy) every page they inherited."""
    gc.freeze()
    try:
        return multiprocessing.get_context("fork").Pool(workers)
    finally:
        gc.unfreeze()


def _run_batch(index: int) -> Any:
    return _SHARED["work"](_SHARED["batches"][index])


def bulk_results(compiled: Any, families: Sequence[FamilyInput], as_of: date,
                 overrides: Mapping[str, Sequence[OverrideRecord]] | None = None) -> Iterator[tuple[FamilyInput, Any]]:
    """(family, FamilyResult without sub-criteria trees) for a batch, in family id order, to record. The
    batch's person- and family-level rules are first evaluated column-wise (:mod:`engine.columns`), which
    gives each family exactly the results it would compute itself; each family's whole result is then
    assembled from them (a ``ColumnResult``, which only the record encoder reads, the evaluator asked only
    for what they leave unknown), except a family with an override or a case identified earlier, which its
    evaluator assembles. The collector is paused meanwhile: the batch's evaluations are many objects
    and few cycles."""
    from engine.columns.assemble import column_result

    ordered = sorted(families, key=lambda f: f.family_id)
    with collector_paused():
        evaluations = seeded_evaluations(compiled, ordered, as_of, overrides)
        for i, family in enumerate(ordered):
            ev, evaluations[i] = evaluations[i], None  # each evaluation is freed once its result is used
            yield family, column_result(ev) or ev.family_result()


def seeded_evaluations(compiled: Any, families: Sequence[FamilyInput], as_of: date,
                       overrides: Mapping[str, Sequence[OverrideRecord]] | None = None) -> list[Any]:
    """The families' evaluations (no sub-criteria trees), in the order given, with the batch's person- and
    family-level results computed column-wise and handed to them (:mod:`engine.columns`)."""
    from engine.columns.family import seed_batch

    overrides = overrides or {}
    evaluations = [compiled.evaluation(f, as_of, evaluator_overrides(overrides.get(f.family_id, ())), False)
                   for f in families]
    seed_batch(compiled, evaluations)
    return evaluations


def _evaluate_loaded(compiled: Any, families: Sequence[FamilyInput], as_of: date,
                     overrides: Mapping[str, Sequence[OverrideRecord]], trace: bool,
                     stored: bool = False) -> list[Evaluated]:
    """A batch's records (:func:`bulk_results` unless sub-criteria trees are stored too). With
    ``stored``, the families the batch's columns decide entirely are recorded as the batch's columns
    (format 5, :mod:`engine.decisions.batches`) instead of a record each."""
    if trace:
        ordered = sorted(families, key=lambda f: f.family_id)
        return [_evaluated(compiled, f, as_of, overrides.get(f.family_id, ()), trace) for f in ordered]
    if stored:
        return _stored_loaded(compiled, families, as_of, overrides)
    return [_recorded(compiled, family, result, overrides.get(family.family_id, ()))
            for family, result in bulk_results(compiled, families, as_of, overrides)]


def _stored_loaded(compiled: Any, families: Sequence[FamilyInput], as_of: date,
                   overrides: Mapping[str, Sequence[OverrideRecord]]) -> list[Evaluated]:
    from engine.columns.assemble import column_result
    from engine.columns.figures import RunFigures
    from engine.columns.summary import run_figures

    ordered = sorted(families, key=lambda f: f.family_id)
    ev = found = result = None
    with collector_paused():
        evaluations = seeded_evaluations(compiled, ordered, as_of, overrides)
        columns = batch_columns(evaluations)
        stored = _stored_groups(compiled, evaluations)
        figures = dict(zip(map(id, evaluations), run_figures(compiled, evaluations)))
        out: list[Evaluated] = []
        for i, family in enumerate(ordered):
            ev, evaluations[i] = evaluations[i], None
            found = stored.get(id(ev))
            batch, result = found if found is not None else (None, None)
            if batch is None:
                if result is None or isinstance(result, RunFigures):
                    result = column_result(ev) or ev.family_result()
                out.append(_recorded(compiled, family, result, overrides.get(family.family_id, ())))
                continue
            key = batch[0]
            if result is None:  # (decided by the columns entirely: nothing unknown)
                eligible, headlines, reasons = *figures[id(ev)], ()
            elif isinstance(result, RunFigures):
                eligible, headlines, reasons = result.eligible, result.headlines, result.reasons
            else:
                eligible, reasons = result.eligible.value, tuple(result.unknowns)
                headlines = tuple((code, h.value) for code, h in sorted(result.headlines.items()))
            out.append(Evaluated(
                family_id=family.family_id, person_ids=tuple(sorted(m.person_id for m in family.members)),
                result_zlib=pointer(key), result_sha256=family_digest(key, family.family_id), override_ids=(),
                eligible=eligible, headlines=headlines, unknowns=len(reasons), batch=batch, reasons=reasons))
        # Freed while the collector is still off: re-enabling it with the batch's columns alive would make
        # its next collection scan all of them.
        stored.clear()
        figures.clear()
        ev = found = result = None  # (the last family's)
        release_columns(columns)
    return out


def batch_columns(evaluations: Sequence[Any]) -> list[Any]:
    """The column-wise results (:class:`engine.columns.person.PersonColumns`) seeding ``evaluations``."""
    return list({id(ev.seeds[0]): ev.seeds[0] for ev in evaluations if ev.seeds is not None}.values())


def release_columns(columns: list[Any]) -> None:
    """Free a finished batch's columns now, by reference counting (``columns`` is emptied): see
    :meth:`engine.columns.person.PersonColumns.release`."""
    while columns:
        columns.pop().release()


def _stored_groups(compiled: Any, evaluations: list[Any]) -> dict[int, tuple[tuple[str, bytes] | None, Any]]:
    """id(evaluation) -> (its group's stored columns as (key, bytes), or None where the family is not
    stored; its result where it was assembled, or its :class:`~engine.columns.figures.RunFigures`, else
    None) for each family of a column-wise group: the families the columns decide entirely
    (:func:`engine.columns.stored.clean_families`), and those whose result reads no record, member's
    detail or case date (so the stored columns give the same result: :mod:`engine.columns.stored`),
    found without assembling it where :func:`~engine.columns.figures.run_figures_of` can."""
    from engine.columns.assemble import ColumnResult, ColumnResults, column_result
    from engine.columns.figures import run_figures_of
    from engine.columns.stored import NotStorable, clean_families, pack_batch

    groups: dict[int, list[Any]] = {}
    for ev in evaluations:
        if ev.seeds is not None and ev.seeds[0].families is not None:
            groups.setdefault(id(ev.seeds[0]), []).append(ev)
    found: dict[int, tuple[tuple[str, bytes] | None, Any]] = {}
    for group in groups.values():
        persons = group[0].seeds[0]
        results = persons.families.results
        if results is None:
            results = persons.families.results = ColumnResults(persons)
        stored = clean_families(results)
        assembled: dict[int, Any] = {}
        for f, (ev, clean) in enumerate(zip(group, stored.tolist())):
            if clean:
                continue
            # what the run needs of a family it stores, without assembling its result (the same figures)
            quick = run_figures_of(results, ev)
            if quick is not None and not quick.inputs_read:
                assembled[id(ev)], stored[f] = quick, True
                continue
            result = assembled[id(ev)] = column_result(ev) or ev.family_result()
            stored[f] = isinstance(result, ColumnResult) and not ev.inputs_read
        batch = None
        if stored.any():
            try:
                packed = pack_batch(results, group, stored)
                batch = (batch_key(packed), packed)
            except NotStorable:
                pass
        found.update((id(ev), (batch if ok else None, assembled.get(id(ev))))
                     for ev, ok in zip(group, stored.tolist()))
    return found


def evaluate_batches(
    compiled: Any,
    batches: Sequence[Batch],
    load: Callable[[Batch], Sequence[FamilyInput]],
    as_of: date,
    overrides: Mapping[str, Sequence[OverrideRecord]] | None = None,
    workers: int = 1,
    trace: bool = False,
    stored: bool = False,
) -> Iterator[list[Evaluated]]:
    """Load each batch with ``load`` and evaluate it, yielding each batch's results (sorted by family
    id) in the order of ``batches`` as soon as it and the batches before it are done.

    With ``workers`` > 1 the batches are loaded and evaluated in forked workers, each taking the next
    batch when it finishes one; ``load`` then runs in the workers and must open its own database
    connection there (:class:`engine.integrate.snapshot.BatchLoader` does). Given batches in family id
    order (as :func:`engine.integrate.snapshot.plan_snapshot` makes them), the results are those of
    :func:`evaluate_families` on all the families, whatever the batch size and worker count. Closing
    the generator early stops the workers.
    """
    overrides = dict(overrides or {})

    def work(batch: Batch) -> list[Evaluated]:
        # (the collector paused for the load and the evaluation together: turned back on in between, its
        # first collection would walk every record and member the load made, which live on)
        with collector_paused():
            return _evaluate_loaded(compiled, load(batch), as_of, overrides, trace, stored)

    return map_batches(work, batches, workers)


Result = TypeVar("Result")


def map_batches(work: Callable[[Batch], Result], batches: Sequence[Batch], workers: int = 1) -> Iterator[Result]:
    """``work(batch)`` for each batch, yielded in the order of ``batches`` as soon as it and the batches
    before it are done. With ``workers`` > 1 the work runs in forked workers, each taking the next batch
    when it finishes one (``work`` is inherited, never pickled; only its results come back, pickled), so
    whatever ``work`` reads from a database it must open there. Closing the generator early stops the
    workers."""
    if workers <= 1 or len(batches) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for batch in batches:
            yield work(batch)
        return
    _SHARED.update(work=work, batches=batches)
    try:
        pool = _fork_pool(min(workers, len(batches)))
        try:
            yield from pool.imap(_run_batch, range(len(batches)))
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.close()  # let the workers exit and be reaped (their CPU time then counts as ours)
            pool.join()
    finally:
        _SHARED.clear()
