"""Decisions stored as their batch's columns (format 5): each family's record derived from the stored batch
is byte for byte the record the run would have written itself (``engine.columns.stored``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dsl.api import load_framework
from engine.columns import stored as stored_module
from engine.columns.stored import StoredBatch, StoredBatchError, _chunked
from engine.columns.table import ABSENT, NO_END
from engine.decisions.batches import is_pointer
from engine.decisions.compact import canonical_bytes, compact
from engine.decisions.evaluate import _evaluate_loaded
from engine.decisions.framework_text import framework_text
from engine.decisions.records import DecisionSummary, decision_summary, decompress
from engine.rules.evaluator import compile_framework
from tests.rules.test_columns import FRAMEWORKS, _crafted, bench



@pytest.fixture(scope="module")
def families():
    # (with the crafted families of the column-wise tests: records missing a field, coverage ending early,
    # members without a date of birth, a member who has left, duplicated records)
    return bench.synthetic_families(120, seed=11) + _crafted()


@pytest.fixture(scope="module")
def phase3():
    return compile_framework(load_framework(FRAMEWORKS["phase3"]))


@pytest.mark.parametrize("name", sorted(FRAMEWORKS))
@pytest.mark.parametrize("as_of", [date(2023, 9, 1), date(2023, 3, 15), date(2022, 11, 20)])
def test_a_stored_family_reads_back_as_the_record_the_run_would_have_written(name, as_of, families):
    compiled = compile_framework(load_framework(FRAMEWORKS[name]))
    stored = _evaluate_loaded(compiled, families, as_of, {}, False, stored=True)
    written = _evaluate_loaded(compiled, families, as_of, {}, False)
    assert [e.family_id for e in stored] == [e.family_id for e in written]
    pointing = [e for e in stored if e.batch is not None]
    # most families are decided by the columns entirely, or with unknowns the columns word
    assert len(families) // 2 < len(pointing) <= len(families)
    # ... and some stored families have unknowns (worded by the columns, family-level rules by the evaluator),
    # while a family whose evaluation read its records keeps a record of its own
    assert any(e.unknowns for e in pointing)
    assert any(e.unknowns and e.batch is None for e in stored)
    text = framework_text(compiled.framework)
    batches = {key: StoredBatch(blob, compiled) for key, blob in {e.batch[0]: e.batch[1] for e in pointing}.items()}
    for ours, theirs in zip(stored, written):
        assert (ours.eligible, ours.headlines, ours.person_ids) == (theirs.eligible, theirs.headlines, theirs.person_ids)
        if ours.batch is None:
            assert ours.result_zlib == theirs.result_zlib and not is_pointer(ours.result_zlib)
            continue
        assert is_pointer(ours.result_zlib) and (ours.unknowns, ours.reasons) == (theirs.unknowns, theirs.reasons)
        derived = canonical_bytes(compact(batches[ours.batch[0]].result(ours.family_id), text))
        assert derived == decompress(theirs.result_zlib), ours.family_id
        # what a report counts of it, read from the columns, is what its record says
        figures = batches[ours.batch[0]].figures()[ours.family_id]
        assert figures is None or DecisionSummary(*figures) == decision_summary(theirs.result_zlib), ours.family_id
        # one family's rows read alone (as reading one decision does) give the same record
        alone = StoredBatch(ours.batch[1], compiled, ours.family_id)
        assert canonical_bytes(compact(alone.result(ours.family_id), text)) == derived, ours.family_id


def test_a_family_the_batch_does_not_hold_is_refused(phase3, families):
    stored = _evaluate_loaded(phase3, families, date(2023, 9, 1), {}, False, stored=True)
    kept = next(e for e in stored if e.batch is None)
    pointing = next(e for e in stored if e.batch is not None)
    batch = StoredBatch(pointing.batch[1], phase3)
    with pytest.raises(StoredBatchError, match=f"family {kept.family_id} is not stored"):
        batch.result(kept.family_id)
    with pytest.raises(StoredBatchError, match="F-none is not stored"):
        batch.result("F-none")
    with pytest.raises(StoredBatchError, match=f"family {kept.family_id} is not stored"):
        StoredBatch(pointing.batch[1], phase3, kept.family_id)


def test_damaged_or_foreign_bytes_are_refused(phase3, families):
    stored = _evaluate_loaded(phase3, families, date(2023, 9, 1), {}, False, stored=True)
    blob = next(e for e in stored if e.batch is not None).batch[1]
    with pytest.raises(StoredBatchError, match="damaged"):
        StoredBatch(blob[:-40], phase3)
    other = compile_framework(load_framework(FRAMEWORKS["phase2"]))
    with pytest.raises(StoredBatchError, match="evaluated with framework"):
        StoredBatch(blob, other)


def test_a_stored_family_whose_result_would_read_its_records_is_refused(phase3, families):
    """The evaluation a stored family is assembled with holds no records and no member's details: were a
    criterion that reads them left to it, the answer would be wrong, so it refuses instead of answering."""
    stored = _evaluate_loaded(phase3, families, date(2023, 9, 1), {}, False, stored=True)
    item = next(e for e in stored if e.batch is not None)
    batch = StoredBatch(item.batch[1], phase3)
    role = batch.results.persons.rules[phase3.role_names[0]]
    row = batch.starts[batch.row_of_family[item.family_id]]
    role.names[row] = None  # as if the columns had left this member's role to the evaluator
    with pytest.raises(StoredBatchError, match=f"{item.family_id}.* asked to read its records, a member's details or its case"):
        batch.result(item.family_id)


def _iso_dates(chunk):
    """A chunk's record dates as batches written before session 16 hold them: ISO text, None for no end."""
    days, ends = chunk.pop("day"), chunk.pop("end_day")
    chunk["date"] = [date.fromordinal(d).isoformat() for d in days]
    chunk["end_date"] = [None if d == NO_END else date.fromordinal(d).isoformat() for d in ends]
    return chunk


def _chunked_as_before_session_15(contents, count):
    """The stored records as batches written before session 15 hold them: each record's own fields mapping."""
    fields = contents["fields"]
    chunks = []
    for start in range(0, count, 256):
        stop = min(start + 256, count)
        chunk = {"count": stop - start, **{name: values[start:stop] for name, values in contents.items()
                                           if name not in ("fields", "gappy")}}
        chunk["fields"] = [{k: column[i] for k, column in fields.items() if column[i] is not ABSENT}
                           for i in range(start, stop)]
        chunks.append(_iso_dates(chunk))
    return chunks


def _chunked_as_in_session_15(contents, count):
    """As batches written in session 15 hold them: a list per field, dates as ISO text, every list in full."""
    chunks = _chunked(contents, count)
    for chunk in chunks:
        chunk.update((name, [value] * chunk["count"]) for name, value in chunk.pop("same", {}).items())
        chunk["fields"].update((name, [value] * chunk["count"]) for name, value in chunk.pop("same_fields", {}).items())
    return [_iso_dates(chunk) for chunk in chunks]


@pytest.mark.parametrize("as_of", [date(2023, 9, 1), date(2023, 3, 15)])
@pytest.mark.parametrize("written", [_chunked_as_before_session_15, _chunked_as_in_session_15])
def test_a_batch_stored_by_an_earlier_version_reads_back_the_same(phase3, families, as_of, written, monkeypatch):
    # (an auditor reads batches written by earlier versions: each record kept its own fields mapping before
    # session 15; records' dates were ISO text, and counts 4-byte integers, before session 16)
    # every other record of the first families carries a field the rest lack (no rule reads it)
    families = [replace(f, facts=tuple(replace(x, fields={**x.fields, "note": "checked"}) if i % 2 else x
                                       for i, x in enumerate(f.facts))) if n < 20 else f
                for n, f in enumerate(families)]
    now = _evaluate_loaded(phase3, families, as_of, {}, False, stored=True)
    monkeypatch.setattr(stored_module, "_chunked", written)
    # (and every count as a 4-byte integer, as before session 16)
    monkeypatch.setattr(stored_module._Writer, "counts", lambda writer, values: writer.array(values, "<i4"))
    before = _evaluate_loaded(phase3, families, as_of, {}, False, stored=True)
    monkeypatch.undo()
    text = framework_text(phase3.framework)
    pairs = [(a, b) for a, b in zip(now, before) if a.batch is not None]
    assert pairs and all(b.batch is not None for _, b in pairs)
    assert pairs[0][0].batch[0] != pairs[0][1].batch[0]  # (the bytes differ: the records are kept another way)
    gappy = same = 0
    for a, b in pairs:
        ours, theirs = StoredBatch(a.batch[1], phase3), StoredBatch(b.batch[1], phase3)
        assert canonical_bytes(compact(ours.result(a.family_id), text)) == \
            canonical_bytes(compact(theirs.result(b.family_id), text)), a.family_id
        gappy += b'"absent"' in ours.body
        same += b'"same"' in ours.body and b'"same"' not in theirs.body
    assert gappy  # (a batch citing a record that lacks a field is among them)
    assert same  # (and one whose chunks keep a list of equal values once)
