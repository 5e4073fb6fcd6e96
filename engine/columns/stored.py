"""A batch's columns stored as they are (record format 5), each family's result derived from them when read.

Building each family's record as Python structures and encoding it is most of what profiling a family
costs (``docs/performance.md``). A family the columns decide entirely - nothing unknown, nothing asked
of the evaluator, which :func:`clean_families` finds for the whole batch - needs none of that at run
time: its result is a function of the batch's columns, which are arrays. :func:`pack_batch` stores
them as they are: every rule's values, parameter-use list numbers, cited records and reached references,
the sources of the unknowns the columns word, the cited records' contents (source, record id, load batch,
values), and each family's members. :class:`StoredBatch` reads them back into the same column objects,
and :meth:`StoredBatch.result` runs the same assembly (:mod:`engine.columns.assemble`) on them for one
family, with an evaluation that holds no records and no member's details and refuses to read either:
the result, and so its format 4 record, is the one the run would have built, byte for byte
(``tests/rules/test_stored_batch.py`` compares them).

A family with something unknown is stored too when the run assembled its result without reading a
record, a member's detail or a case date (``Evaluation.inputs_read``: its unknowns are all ones the
columns word, and what the evaluator decided of it - family-level rules over those - read only what the
batch stores: the columns' results, its members, the parameters and the date): reading it runs the same
evaluator on the same inputs. Its record is still built at run time (a run counts its unknowns), but
not encoded or compressed.

The stored bytes are a zstd frame of: magic, the length of a JSON header, the header, then the arrays
the header names by (dtype, offset, count). Parameter uses are stored by name: they are the framework's
values in force on the date (a batch whose uses are any others is not stored this way).
"""

from __future__ import annotations

import bisect
import struct
from datetime import date
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import zstandard

from engine.columns.assemble import ColumnResults, _known
from engine.columns.summary import figure_table
from engine.columns.values import NAMES, NOT, YES
from engine.columns.family import FamilyColumns
from engine.columns.person import PersonColumns, RuleColumns
from engine.columns.reasons import Missing
from engine.columns.table import ABSENT, NO_END, TableRecords, object_array
from engine.errors import HearthError
from engine.rules.evaluator import Evaluation
from engine.rules.scoring import rag_band
from engine.rules.inputs import CaseDates, FamilyInput, Fact, Member

if TYPE_CHECKING:
    from engine.rules.evaluator import CompiledFramework

#: how a stored batch starts (inside its zstd frame)
MAGIC = b"HEARTH-COLUMNS-5\n"
FORMAT = 5


class StoredBatchError(HearthError, ValueError):
    """A stored batch that cannot be read back (damaged, or asked for what it does not hold)."""


class NotStorable(Exception):
    """A batch whose columns hold something this format does not store (its families get format 4)."""


def clean_families(results: ColumnResults) -> np.ndarray:
    """Per family of the batch: whether the columns decide its whole result, with nothing unknown and
    nothing left to the evaluator: every criterion its result holds is known, and so is every rule whose
    facts one of them cites (a reached reference, recursively). Only such a family's result can be
    derived from the stored columns alone."""
    columns, persons, families = results.columns, results.persons, results.families
    clean = columns.assembled & columns.family_known & columns.person_known & columns.needs_known
    if not clean.any():
        return clean
    compiled, starts = results.compiled, families.starts
    sure = _Sure(persons, families)
    person = np.ones(persons.size, dtype=bool)
    for name in compiled.role_names + compiled.person_helpers:
        person &= sure.person(name)
    for need in compiled.needs:
        rules = (columns.person, sure.person) if need.subject == "person" else (columns.family, sure.family)
        had = rules[0][need.name].value != NOT
        if need.subject == "person":
            person &= sure.person(need.name)
        else:
            clean &= sure.family(need.name)
        for code, achieved, sustained in results.outcome_rules:
            if code != need.name:
                continue
            for part in filter(None, (achieved, sustained)):
                if part.subject == "person":  # (a person-level need's: read for the members who had it)
                    person &= sure.person(part.name) | ~had
                else:
                    family_had = np.logical_or.reduceat(had, starts) if need.subject == "person" else had
                    clean &= sure.family(part.name) | ~family_had
    for name in ["family_definition", "eligible", "claimable"] + compiled.family_helpers:
        clean &= sure.family(name)
    return clean & np.logical_and.reduceat(person, starts)


class _Sure:
    """Per rule and row: known, and so is every rule whose facts the row cites (what assembling it reads)."""

    def __init__(self, persons: PersonColumns, families: FamilyColumns) -> None:
        self.persons, self.families = persons, families
        self.found: dict[int, np.ndarray] = {}

    def person(self, name: str) -> np.ndarray:
        return self.of(self.persons.rules[name], self.persons)

    def family(self, name: str) -> np.ndarray:
        return self.of(self.families.rules[name], self.families)

    def of(self, found: RuleColumns, scope: PersonColumns, known: bool = True) -> np.ndarray:
        key = (id(found), known)
        sure = self.found.get(key)
        if sure is not None:
            return sure
        sure = _known(found) if known else np.ones(len(found.value), dtype=bool)
        reach = iter(found.reach_arrays)
        for name, _ in found.refs:
            sure = sure & (~next(reach) | self.of(scope.rules[name], scope))
        starts = self.families.starts
        for role, _, test in found.member_refs:  # every member's role result and what the test cited
            members = np.ones(self.persons.size, dtype=bool)
            if role is not None:
                members &= self.of(self.persons.rules[role], self.persons)
            if test is not None:
                members &= self.of(test, self.persons, known=False)
            sure = sure & (~next(reach) | np.logical_and.reduceat(members, starts))
        self.found[key] = sure
        return sure


# Writing ------------------------------------------------------------------------------------------------
#: a record's attributes, as a stored batch keeps them (column by column)
_FACT_FIELDS = {name: attrgetter(name) for name in (
    "fact_id", "fact_type", "person_id", "family_id", "source", "source_record_id", "batch_id")}


#: records per stored chunk
_FACT_CHUNK = 256


def _contents(facts: list[Fact]) -> dict[str, Any]:
    """:meth:`engine.columns.table.FactTable.contents` of Fact objects."""
    contents: dict[str, Any] = {name: list(map(get, facts)) for name, get in _FACT_FIELDS.items()}
    contents["day"] = [fact.date.toordinal() for fact in facts]
    contents["end_day"] = [NO_END if fact.end_date is None else fact.end_date.toordinal() for fact in facts]
    mappings = [fact.fields for fact in facts]
    names = list(dict.fromkeys(chain.from_iterable(mappings)))
    contents["fields"] = {name: object_array([m.get(name, ABSENT) for m in mappings]) for name in names}
    contents["gappy"] = frozenset(name for name in names if any(name not in m for m in mappings))
    return contents


def _chunked(contents: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``contents`` in chunks of _FACT_CHUNK records: a list per attribute, ``fields`` a list per field (a
    record's own mapping was kept before session 15; the columns are smaller and cheaper to write),
    ``absent`` the rows of a chunk lacking a field (None there is no value, not a null one). A list whose
    values are all the same (a chunk's fact type, mostly its source and load batch) is kept once, in
    ``same`` (an attribute's) or ``same_fields`` (a field's), since session 16."""
    fields, gappy = contents["fields"], contents["gappy"]
    chunks = []
    for start in range(0, count, _FACT_CHUNK):
        stop = min(start + _FACT_CHUNK, count)
        chunk = {"count": stop - start, **{name: values[start:stop] for name, values in contents.items()
                                           if name not in ("fields", "gappy")}}
        same = _same(chunk, [name for name in chunk if name != "count"], _ATTRIBUTE_TYPES)
        if same:
            chunk["same"] = same
        columns, absent = {}, {}
        for name, column in fields.items():
            part = column[start:stop]
            if name in gappy:
                lacking = np.flatnonzero(part == ABSENT)
                if len(lacking) == len(part):
                    continue
                if len(lacking):
                    absent[name] = lacking.tolist()
                    part = part.copy()
                    part[lacking] = None
            columns[name] = part.tolist()
        same = _same(columns, list(columns), _FIELD_TYPES)
        if same:
            chunk["same_fields"] = same
        chunk["fields"] = columns
        if absent:
            chunk["absent"] = absent
        chunks.append(chunk)
    return chunks


def _same(lists: dict[str, list[Any]], names: list[str], types: frozenset[type]) -> dict[str, Any]:
    """The lists of ``names`` whose values are all the same, taken out of ``lists``: name -> the value. Only
    a first value of ``types`` is looked for: equal values of those are of its type too."""
    same = {}
    for name in names:
        values = lists[name]
        if values and values[0] == values[-1] and type(values[0]) in types and values.count(values[0]) == len(values):
            same[name] = values[0]
            del lists[name]
    return same


#: (a record's attributes are text, None or day numbers; a field's value equal to 1 may be True or 1.0, so
#: only text and None are kept once)
_ATTRIBUTE_TYPES = frozenset({str, int, type(None)})
_FIELD_TYPES = frozenset({str, type(None)})


class _Writer:
    def __init__(self, persons: PersonColumns) -> None:
        self.params = persons.compiled.params_on(persons.as_of)
        self.chunks: list[bytes] = []
        self.offset = 0
        #: id(RuleColumns) -> its number in the header's table
        self.numbers: dict[int, int] = {}
        #: the columns in the order of their numbers
        self.objects: list[RuleColumns] = []
        self.table: list[dict[str, Any]] = []
        #: id(Facts) -> (facts object, [cited row arrays])
        self.cited: dict[int, tuple[Any, list[np.ndarray]]] = {}
        #: id(Missing) -> its number in the header's "missing" (sources of worded unknowns, shared by rules)
        self.missing: dict[int, int] = {}
        self.missing_table: list[list[Any]] = []
        self.fact_base: dict[int, tuple[np.ndarray, int]] = {}

    def array(self, values: np.ndarray, dtype: str) -> list[Any]:
        return self.blob(np.ascontiguousarray(values, dtype=dtype).tobytes(), dtype, len(values))

    def counts(self, values: np.ndarray) -> list[Any]:
        """Non-negative integers in the narrowest of u1, u2 and i4 that holds them (the reader's dtype is the
        stored one): most rules' parameter-use lists number a handful, a batch's members some thousands."""
        top = int(values.max()) if len(values) else 0
        return self.array(values, "u1" if top < 1 << 8 else "<u2" if top < 1 << 16 else "<i4")

    def blob(self, data: bytes, dtype: str = "u1", count: int | None = None) -> list[Any]:
        """``data`` appended to the body (an array of ``count`` ``dtype`` items; bytes by default)."""
        found = [dtype, self.offset, len(data) if count is None else int(count)]
        self.chunks.append(data)
        self.offset += len(data)
        return found

    def collect(self, found: RuleColumns | None) -> None:
        """Number ``found`` and every test columns it holds, noting the records they cite."""
        if found is None or id(found) in self.numbers:
            return
        for _, _, test in found.member_refs:  # (numbered first: reading, an entry's tests are read before it)
            self.collect(test)
        self.numbers[id(found)] = len(self.objects)
        self.objects.append(found)
        for columns, (rows, _) in zip(found.own_facts, found.own_rows):
            self.cited.setdefault(id(columns), (columns, []))[1].append(rows)

    def facts(self) -> list[dict[str, Any]]:
        """The cited records, column by column in chunks of each fact type's columns (each Facts' cited rows
        in order, numbered on from the previous Facts'); notes where each Facts' rows start. A chunk is
        read only when a record in it is (one family's records are a few consecutive rows of each)."""
        chunks: list[dict[str, Any]] = []
        count = 0
        for key, (columns, row_arrays) in self.cited.items():
            records = columns.facts
            cited = np.zeros(len(records), dtype=bool)  # (a mask, not np.unique: a batch has hundreds of these)
            for rows in row_arrays:
                cited[rows] = True
            unique = np.flatnonzero(cited)
            self.fact_base[key] = (unique, count)
            count += len(unique)
            if isinstance(records, TableRecords):  # (read from the table's columns: no Fact is made)
                contents = records.table.contents(records.rows, records.positions[unique])
            else:
                contents = _contents([records[r] for r in unique.tolist()])
            chunks += _chunked(contents, len(unique))
        return chunks

    def entry(self, found: RuleColumns, family: bool) -> dict[str, Any]:
        lists = []
        for uses in found.lists:
            names = []
            for use in uses:
                if self.params.get(use.name) is not use:
                    raise NotStorable(f"parameter use {use.name} is not the value in force")
                names.append(use.name)
            lists.append(names)
        own = []
        for columns, (rows, owners) in zip(found.own_facts, found.own_rows):
            unique, base = self.fact_base[id(columns)]
            own.append([self.counts(np.searchsorted(unique, rows) + base), self.counts(owners)])
        reach = iter(found.reach_arrays)
        return {
            "family": family,  # (one row per family, else per member)
            "value": self.array(found.value, "<i1"),
            "list_id": self.counts(found.list_id),
            "lists": lists,
            "own": own,
            "refs": [[name, self.array(next(reach), "?")] for name, _ in found.refs],
            "members": [[role, self.array(next(reach), "?"), None if test is None else self.numbers[id(test)]]
                        for role, _, test in found.member_refs],
            "cites": self.array(found.cites, "?"),
            "undecided": None if found.undecided is None else self.array(found.undecided, "?"),
            "explained": None if found.explained is None else self.array(found.explained, "?"),
            "why": [[kind, self.array(rows, "?"), source if kind == "ref" else self.missing_of(source)]
                    for kind, rows, source in found.why] if found.explained is not None else [],
        }

    def missing_of(self, missing: Missing) -> int:
        """The number of ``missing`` (what each subject lacks, and each item's reason) in the header."""
        number = self.missing.get(id(missing))
        if number is None:
            number = self.missing[id(missing)] = len(self.missing_table)
            self.missing_table.append([self.array(missing.has.ravel(), "?"), int(missing.has.shape[1]),
                                       [list(words) for words in missing.words]])
        return number


def pack_batch(results: ColumnResults, evaluations: list[Any], clean: np.ndarray) -> bytes:
    """The stored form of a batch's columns (``evaluations``: the batch's, in the columns' order). Raises
    :class:`NotStorable` when they hold what this format does not store."""
    persons, families = results.persons, results.families
    writer = _Writer(persons)
    for found in list(persons.rules.values()) + list(families.rules.values()):
        writer.collect(found)
    # (records' dates are day numbers, dates in their fields ISO text; keys sorted, so a record's bytes
    # follow its contents, not the order its feed or a fact table listed its fields in)
    try:
        facts = [(chunk["count"], orjson.dumps(chunk, option=orjson.OPT_SORT_KEYS)) for chunk in writer.facts()]
    except TypeError as error:  # a value JSON cannot hold: the batch's families get format 4
        raise NotStorable(str(error)) from None
    family_level = {id(found) for found in families.rules.values() if found is not None}
    table = [writer.entry(found, id(found) in family_level) for found in writer.objects]

    def names(rules: dict[str, RuleColumns | None]) -> dict[str, int | None]:
        return {name: None if found is None else writer.numbers[id(found)] for name, found in rules.items()}

    header = {
        "format": FORMAT,
        "framework_hash": persons.compiled.hash,
        "as_of": persons.as_of.isoformat(),
        "families": [[ev.family.family_id, [m.person_id for m in ev.members]] for ev in evaluations],
        "clean": writer.array(clean, "?"),
        "identified_earlier": writer.array(families.identified_earlier, "?"),
        "columns": table,
        "missing": writer.missing_table,
        "person_rules": names(persons.rules),
        "family_rules": names(families.rules),
        "facts": [[count, writer.blob(data)] for count, data in facts],
    }
    head = orjson.dumps(header)
    parts = [MAGIC, struct.pack("<Q", len(head)), head, *writer.chunks]
    # (compressed part by part rather than joined first: the same bytes, without copying the body)
    compressor = zstandard.ZstdCompressor(level=1).compressobj(size=sum(map(len, parts)))
    return b"".join([*map(compressor.compress, parts), compressor.flush()])


# Reading ------------------------------------------------------------------------------------------------
class _StoredFacts:
    """The cited records of a stored batch, each chunk parsed and each record made a ``Fact`` when first
    read (a family's result reads a few of a batch's many)."""

    def __init__(self, batch: StoredBatch, chunks: list[list[Any]]) -> None:
        self.batch, self.chunks = batch, chunks
        self.ends = np.cumsum([count for count, _ in chunks]).tolist()
        self.parsed: dict[int, dict[str, Any]] = {}
        self.made: dict[int, Fact] = {}

    def __getitem__(self, index: int) -> Fact:
        found = self.made.get(index)
        if found is None:
            number = bisect.bisect_right(self.ends, index)
            group = self.parsed.get(number)
            if group is None:
                group = self.parsed[number] = orjson.loads(self.batch._array(self.chunks[number][1]).tobytes())
                group["absent"] = {name: set(rows) for name, rows in group.get("absent", {}).items()}
                count = group["count"]  # (lists kept once since session 16, in full again)
                group.update((name, [value] * count) for name, value in group.pop("same", {}).items())
                if "same_fields" in group:
                    group["fields"].update((name, [value] * count) for name, value in group.pop("same_fields").items())
            row = index - (self.ends[number - 1] if number else 0)
            if "day" in group:  # (day numbers, NO_END for none; ISO text before session 16)
                day, end = date.fromordinal(group["day"][row]), group["end_day"][row]
                end = None if end == NO_END else date.fromordinal(end)
            else:
                day, end = date.fromisoformat(group["date"][row]), group["end_date"][row]
                end = None if end is None else date.fromisoformat(end)
            fields = group["fields"]
            if isinstance(fields, dict):  # (a list per field; before session 15, a mapping per record)
                absent = group["absent"]
                fields = {name: column[row] for name, column in fields.items() if row not in absent.get(name, ())}
            else:
                fields = fields[row]
            found = self.made[index] = Fact(
                group["fact_id"][row], group["fact_type"][row], day, fields, group["person_id"][row],
                group["family_id"][row], group["source"][row], group["source_record_id"][row], group["batch_id"][row],
                end)
        return found


class _Records:
    """What assembly reads of a fact type's columns: its records."""

    def __init__(self, facts: _StoredFacts) -> None:
        self.facts = facts


class _StoredEvaluation(Evaluation):
    """The evaluation a stored family's result is assembled with: it holds no records, member's details
    or case dates, so a rule that read them would be evaluated wrongly. None does, for a family stored
    this way (the run's own evaluation read none); one that did is refused, never answered."""

    def reading_inputs(self) -> None:
        raise StoredBatchError(f"a stored family's result ({self.family.family_id}) asked to read its records, "
                               "a member's details or its case; its batch was stored with a result the columns "
                               "do not decide")


class StoredBatch:
    """A stored batch read back: :meth:`result` derives one of its families' results."""

    def __init__(self, stored: bytes, compiled: CompiledFramework, family_id: str | None = None) -> None:
        """The batch read back; with ``family_id``, only that family's rows of it (what reading one
        decision needs: a tenth of the time of the whole batch's)."""
        try:
            body = zstandard.ZstdDecompressor().decompress(stored)
        except zstandard.ZstdError as error:
            raise StoredBatchError(f"stored batch is damaged: {error}") from None
        if not body.startswith(MAGIC):
            raise StoredBatchError("stored batch does not start as format 5 does")
        (size,) = struct.unpack_from("<Q", body, len(MAGIC))
        start = len(MAGIC) + 8
        header = orjson.loads(body[start:start + size])
        self.body, self.base = body, start + size
        if header["framework_hash"] != compiled.hash:
            raise StoredBatchError(f"stored batch was evaluated with framework {header['framework_hash'][:12]}, "
                                   f"not the one given ({compiled.hash[:12]})")
        self.compiled, self.as_of = compiled, date.fromisoformat(header["as_of"])
        family_ids = [family_id for family_id, _ in header["families"]]
        members = [members for _, members in header["families"]]
        clean = self._array(header["clean"]).tolist()
        starts = np.cumsum([0] + [len(m) for m in members], dtype=np.int64).tolist()
        earlier = self._array(header["identified_earlier"])
        # the rows read: every family's, or one family's (its row, its members' rows)
        rows, people = slice(None), slice(None)
        if family_id is not None:
            row = family_ids.index(family_id) if family_id in family_ids else None
            if row is None or not clean[row]:
                raise StoredBatchError(f"family {family_id} is not stored in this batch")
            rows, people = slice(row, row + 1), slice(starts[row], starts[row + 1])
            family_ids, members, clean, earlier = [family_id], [members[row]], [True], earlier[rows]
        self.family_ids, self.members, self.clean = family_ids, members, clean
        self.row_of_family = {family_id: i for i, family_id in enumerate(family_ids)}
        records = _Records(_StoredFacts(self, header["facts"]))
        self.params = params = compiled.params_on(self.as_of)
        table: list[RuleColumns] = []
        missing = [(self._array(has).reshape(-1, width), [tuple(words) for words in worded])
                   for has, width, worded in header.get("missing", ())]
        for entry in header["columns"]:
            cut = rows if entry["family"] else people
            refs = [(name, self._array(reach)[cut].tolist()) for name, reach in entry["refs"]]
            member_refs = [(role, self._array(reach)[cut].tolist(), None if test is None else table[test])
                           for role, reach, test in entry["members"]]
            value = self._array(entry["value"])[cut]
            first = cut.start or 0
            own_rows = []
            for cited, owners in entry["own"]:
                # (stored in the narrowest unsigned type that holds them since session 16: widened to subtract)
                cited, owners = self._array(cited).astype(np.int64), self._array(owners).astype(np.int64)
                if cut.start is not None:
                    inside = (owners >= first) & (owners < cut.stop)
                    cited, owners = cited[inside], owners[inside] - first
                own_rows.append((cited, owners))
            uses = [[params[name] for name in names] for names in entry["lists"]]
            table.append(RuleColumns(
                value, self._array(entry["list_id"])[cut].astype(np.int64), uses, [records] * len(own_rows),
                refs, self._array(entry["cites"])[cut], member_refs=member_refs, own_rows=own_rows,
                undecided=self._optional(entry["undecided"], cut), explained=self._optional(entry["explained"], cut),
                why=[(kind, self._array(at)[cut], source if kind == "ref" else Missing(missing[source][0][cut],
                                                                                       missing[source][1]))
                     for kind, at, source in entry.get("why", ())]))
        starts_here = np.cumsum([0] + [len(m) for m in members[:-1]], dtype=np.int64)
        persons = PersonColumns.__new__(PersonColumns)
        persons.compiled, persons.as_of, persons.params = compiled, self.as_of, params
        persons.size = sum(len(m) for m in members)
        families = FamilyColumns.__new__(FamilyColumns)
        families.persons, families.compiled, families.as_of, families.params = persons, compiled, self.as_of, params
        families.size, families.starts = len(members), starts_here
        families.row_of_start = {int(s): f for f, s in enumerate(starts_here.tolist())}
        families.identified_earlier = earlier
        for columns, key in ((persons, "person_rules"), (families, "family_rules")):
            columns.rules = {name: None if n is None else table[n] for name, n in header[key].items()}
            columns.ready = {}
            columns.defs = dict.fromkeys(columns.rules)  # (every rule it may be asked for is stored)
        persons.families = families
        self.results = ColumnResults(persons)
        self.starts = starts_here.tolist()
        self._figures: dict[str, Any] | None = None

    def _array(self, spec: list[Any]) -> np.ndarray:
        dtype, offset, count = spec
        return np.frombuffer(self.body, dtype=dtype, count=count, offset=self.base + offset)

    def _optional(self, spec: list[Any] | None, cut: slice) -> np.ndarray | None:
        return None if spec is None else self._array(spec)[cut]

    def figures(self) -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...], bool, str | None] | None]:
        """What a report counts of each stored family, read from the columns without assembling its result:
        its eligibility, the needs and headlines it meets (each sorted by code, as its record lists them),
        whether the framework scores families, and the first score's RAG rating (scores sorted by name, as
        the record's are; None: not rated). None for a family whose eligibility the columns leave to the
        evaluator."""
        if self._figures is None:
            self._figures = self._count_figures()
        return self._figures

    def _count_figures(self) -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...], bool, str | None] | None]:
        families, compiled = self.results.families, self.compiled
        table = figure_table(compiled, families)
        if table is None:
            return dict.fromkeys(self.family_ids)
        needs, headlines = table["needs"], table["headlines"]
        need_codes, headline_codes = sorted(needs), sorted(headlines)
        scores = sorted(compiled.framework.scores, key=lambda score: score.name)
        rags: list[str | None] = [None] * families.size
        if scores:
            score, points = scores[0], np.zeros(families.size, dtype=np.float64)
            for weight in score.weights:
                values = (needs if weight.target_kind == "need" else headlines).get(weight.target)
                if values is not None:
                    points += np.where(values == YES, weight.weight, 0.0)
            bands: dict[float, str | None] = {}
            rags = [bands[p] if p in bands else bands.setdefault(p, rag_band(score, p)) for p in points.tolist()]
        found: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], bool, str | None] | None] = {}
        undecided = table["undecided"].tolist()
        for row, family_id in enumerate(self.family_ids):
            if not self.clean[row] or undecided[row]:
                found[family_id] = None
                continue
            found[family_id] = (NAMES[table["eligible"][row]],
                                tuple(code for code in need_codes if needs[code][row] == YES),
                                tuple(code for code in headline_codes if headlines[code][row] == YES), bool(scores),
                                rags[row])
        return found

    def result(self, family_id: str) -> Any:
        """The family's result (a ``ColumnResult``), assembled from the stored columns."""
        row = self.row_of_family.get(family_id)
        if row is None or not self.clean[row]:
            raise StoredBatchError(f"family {family_id} is not stored in this batch")
        members = self.members[row]
        family = FamilyInput(family_id, tuple(Member(pid) for pid in members), (), CaseDates(), {})
        ev = _StoredEvaluation(self.compiled, family, self.as_of, (), False, params=self.params)
        ev.shared = None
        first = self.starts[row]
        ev.seeds = (self.results.persons, {pid: first + i for i, pid in enumerate(members)})
        result = self.results.result(ev)
        if result is None:
            raise StoredBatchError(f"family {family_id}'s stored columns do not assemble")
        return result

