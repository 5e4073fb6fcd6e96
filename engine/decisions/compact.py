"""Compact decision records (formats 2, 3 and 4): every fact, parameter use and rule source stored once per record.

The full form of a result (``FamilyResult.to_dict()``, format 1) repeats a fact under every criterion
that read it, a parameter's value, dates and guidance citation under every criterion that used it, and
a rule's file:line and citations under the family result and again under every member. A borough's
records ran to ~200 KB of JSON per family, and writing them cost more than evaluating.

Format 2 keeps exactly the same information, each piece once:

- ``facts``: the family's evidence table; each entry is the fact as format 1 wrote it (feed, source
  record id, load batch, values, dates);
- ``params``: the parameter uses, each with its value, unit, date in force and citation;
- ``citations``: the guidance citations of the rules and parameters used;
- ``sources``: a rule's span and citations, by rule name;
- every criterion keeps its value, rule, kind and - only when present - ``person_id``, ``facts`` and
  ``params`` (indexes into the tables, in the order format 1 lists them), ``unknowns``, ``children``,
  ``detail``, ``override`` and ``overridden_from``. A criterion whose span or citations differ from its
  rule's entry in ``sources`` carries its own ``span`` and ``citations``. A member's criterion leaves out
  the rule, kind, person id (its key) and parameters it shares with the family-level criterion.

Tables are in order of first reference, walking the criteria in the record's sorted order, so a result
always encodes to the same bytes.

:func:`expand` (:mod:`engine.decisions.compact_read`) turns a format 2 record back into the format 1
dict, exactly: ``expand(compact(r)) == r.to_dict()`` for every result (tested on the Phase 3 benchmark
families, traced and not), so explain, replay, claims, returns and reporting read one shape whatever
format a decision was stored in.

Format 3 (what a profile run writes) also leaves out what the record's framework already holds, since
every decision names its framework by content hash and the framework is stored under that hash
(:mod:`engine.decisions.framework_text`): a citation the framework has is referred to by its position in
the framework's citation table (positions past that table's end index the record's own ``citations``,
which hold only citations the framework lacks), and ``sources`` lists only the rules whose source differs
from the framework's (``{"span": null, "citations": []}`` where the framework has a source and the
result has none); a need whose code, name, headline, subject and local flag are the framework's keeps
only its results. Facts, parameter values and dates, unknowns, overrides and every result stay in the
record. Expanding it needs the framework's table: :func:`expand` takes it, and readers pass a connection
(``stored_result(row, conn)``) or the framework.

Format 4 (what a profile run writes now) also refers to parameter uses by position in the framework's
table of every dated parameter value (``FrameworkText.params``; positions past its end index the record's
own ``params``, which hold only uses the framework lacks, e.g. what-if values). A criterion that cites no
facts then encodes to the same JSON in every record, so the encoder builds it once per framework and
reuses it (``FrameworkText.memo``), which is most of a record: a member's need that is not met, an outcome
whose need was not identified. The memo also keeps what else a format 4 record holds the same as every
other: the positions of each list of parameter uses the framework holds, and each rule source whose
citations are all the framework's, with its entry (or none) in the record's ``sources``. Everything the
memo keeps is keyed by the identity of the evaluator's shared, immutable objects and holds them, so an id
is never reused while its entry is there. Format 3 is still written on request (``compact(...,
version=3)``) and read.

The stored text is canonical JSON (sorted keys, no spaces) written by orjson; the decision's
``result_sha256`` and the hash chain cover those bytes just as they covered format 1's.
"""

from __future__ import annotations

import json
from operator import attrgetter, is_
from typing import Any

# the reading side (re-exported: readers import it from here)
from engine.decisions.compact_read import (  # noqa: F401
    _NEED_HEADER, _NO_SOURCE, CITING_FORMATS, NOT_IDENTIFIED, _not_identified, expand,
)
from engine.decisions.framework_text import FrameworkText
from engine.rules.results import (
    BareValues, Evidence, FamilyResult, OutcomeResult, ParamUse, TriResult, citation_dict, citations_json, same_objects,
    span_text,
)

try:  # orjson writes the same canonical JSON about ten times faster (it spells 1e-07 as 1e-7)
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the stdlib spelling still reads back
    orjson = None

#: what a profile run writes: records leave out the framework's citations, rule sources and parameter uses
FORMAT = 4
#: a record holding everything itself, written when no framework is at hand (a result built by hand)
SELF_CONTAINED_FORMAT = 2

#: memoised criteria per framework before the memo restarts (Phase 3 fills a few thousand)
_MEMO_LIMIT = 50_000
#: criteria remembered by identity before that memory restarts (results made for one family come and go)
_IDENTITY_LIMIT = 5_000


def canonical_bytes(value: Any) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8) of plain JSON data."""
    if orjson is not None:
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: the stdlib spells it
            pass
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def loads(text: bytes | str) -> Any:
    return orjson.loads(text) if orjson is not None else json.loads(text)


class _ByIdentity:
    """Values computed from the evaluator's shared, immutable objects (parameter uses, spans, citation
    tuples: one per framework rule or per parameter and date, shared by every family), kept by the
    objects' identity from record to record. Each entry keeps its objects alive, so an id is never reused
    while it is cached; past ``limit`` entries (a long-lived process replaying many frameworks) it restarts."""

    def __init__(self, compute: Any, limit: int = 10_000) -> None:
        self.compute, self.limit = compute, limit
        self.cache: dict[tuple[int, ...], tuple[tuple[Any, ...], Any]] = {}

    def __call__(self, *objects: Any) -> Any:
        key = tuple(map(id, objects))
        found = self.cache.get(key)
        if found is None or found[0] != objects:  # same objects (or, were an id reused, equal ones)
            if len(self.cache) >= self.limit:
                self.cache.clear()
            found = self.cache[key] = (objects, self.compute(*objects))
        return found[1]


def _source_forms(span: Any, citations: tuple[Any, ...]) -> tuple[str | None, list[Any], tuple[Any, ...]]:
    """A rule's span text, its citations' JSON, and each citation's (identity key, JSON)."""
    cites = citations_json(citations)
    return span_text(span), cites, tuple(((c.text, c.url, c.confidence), d) for c, d in zip(citations, cites))


_param_content = _ByIdentity(lambda param: canonical_bytes(param.to_dict()))
_params_in_order = _ByIdentity(lambda *params: sorted(params, key=_param_key))
_sources = _ByIdentity(_source_forms)


class _Encoder:
    """Builds one record in a single walk: a fact, parameter use, citation or rule source gets its table
    entry the first time a criterion refers to it (the walk follows the record's sorted order, so the
    tables come out the same whatever order the evaluator built its dicts in)."""

    def __init__(self, shared: FrameworkText | None = None, version: int = FORMAT) -> None:
        self.shared = shared
        #: format 4: parameter uses by position in the framework's table, and criteria citing no facts memoised
        self.framework_params = shared is not None and version >= 4
        self.param_base = len(shared.params) if self.framework_params else 0
        self.memo = shared.memo if self.framework_params else None
        self.by_identity = shared.by_identity if self.framework_params else None
        self.facts: list[dict[str, Any]] = []
        self.params: list[dict[str, Any]] = []
        self.citations: list[dict[str, Any]] = []
        #: by object identity (facts, parameter uses and citations are shared objects), then by content
        self.fact_by_id: dict[int, int] = {}
        self.facts_by_key: dict[tuple[str, str], list[int]] = {}
        self.param_by_id: dict[int, int] = {}
        self.param_by_content: dict[bytes, int] = {}
        #: citation key -> position: the framework's (read, not copied per record), then the record's own
        self.framework_citations: dict[tuple[Any, ...], int] = shared.citation_index if shared else {}
        self.citation_by_key: dict[tuple[Any, ...], int] = {}
        self.citation_base = len(shared.citations) if shared else 0
        self.param_refs_by_ids: dict[tuple[int, ...], list[int]] = {}
        #: a family-level criterion's encoding (by id; alive while the record is built) -> the part of its
        #: members' memo keys it decides, or False when it cites a parameter use the framework lacks
        self.parent_keys: dict[int, Any] = {}
        #: rule -> (span, citations, span text, citations JSON, citation indexes, table entry) of its first
        #: criterion; a rule whose first criterion has neither is recorded empty (and left out of the table)
        self.sources: dict[str, tuple[Any, Any, str | None, list[Any], list[int], Any]] = {}
        #: the ``sources`` table as it is filled: the entries whose table entry is not None
        self.source_entries: dict[str, dict[str, Any]] = {}
        self.framework_sources = shared.sources if shared is not None else None
        #: objects indexed by id() are kept alive until the record is built, so ids are not reused
        self.keep: list[Any] = []

    def fact(self, evidence: Evidence) -> int:
        found = self.fact_by_id.get(id(evidence))
        if found is not None:
            return found
        data = evidence.to_dict()
        key = (evidence.fact_type, evidence.fact_id)
        same = self.facts_by_key.get(key)
        found = None if same is None else next((i for i in same if self.facts[i] == data), None)
        if found is None:  # a new fact, or one id with different content: both are kept
            found = len(self.facts)
            self.facts.append(data)
            if same is None:
                self.facts_by_key[key] = [found]
            else:
                same.append(found)
        self.fact_by_id[id(evidence)] = found
        self.keep.append(evidence)
        return found

    def param(self, param: ParamUse) -> int:
        found = self.param_by_id.get(id(param))
        if found is not None:
            return found
        key = _param_content(param)
        found = self.param_by_content.get(key)
        if found is None and self.framework_params:
            found = self.shared.param_index.get(key)
            if found is not None:
                self.param_by_content[key] = found
        if found is None:
            found = self.param_by_content[key] = self.param_base + len(self.params)
            data = param.to_dict()
            self.params.append(data if param.citation is None else {**data, "citation": self.citation(param.citation)})
        self.param_by_id[id(param)] = found
        self.keep.append(param)
        return found

    def citation(self, citation: Any) -> int:
        return self.citation_ref((citation.text, citation.url, citation.confidence), citation_dict(citation))

    def citation_ref(self, key: tuple[Any, ...], data: dict[str, Any]) -> int:
        found = self.framework_citations.get(key)
        if found is None:
            found = self.citation_by_key.get(key)
        if found is None:
            found = self.citation_by_key[key] = self.citation_base + len(self.citations)
            self.citations.append(data)
        return found

    def citation_refs(self, citations: tuple[Any, ...]) -> list[int]:
        return [self.citation_ref(key, data) for key, data in _sources(None, citations)[2]]

    def new_source(self, rule: str, span: Any, citations: Any) -> tuple[Any, ...]:
        """The ``sources`` entry of a rule's first criterion, with its entry in the record's table: each
        rule's source as its first criterion gave it, except that format 3 leaves out those equal to the
        framework's (and format 2 the empty ones). An entry whose citations are all the framework's is the
        same in every record, so memoised criteria carry theirs and it is not compared again."""
        memo = self.memo
        if memo is not None:
            memo_key = ("source", rule, id(span), id(citations))
            found = memo.get(memo_key)
            if found is not None:
                return found
        text, cites, keyed = _sources(span, citations)
        refs = [self.citation_ref(key, data) for key, data in keyed]
        if self.framework_sources is None:
            differs = text is not None or bool(cites)
        else:
            differs = (text, refs) != self.framework_sources.get(rule, _NO_SOURCE)
        source = span, citations, text, cites, refs, {"span": text, "citations": refs} if differs else None
        if memo is not None and all(ref < self.citation_base for ref in refs):
            memo[memo_key] = source  # (which holds the span and citations, so their ids are not reused)
        return source

    def record_source(self, rule: str, source: tuple[Any, ...]) -> None:
        self.sources[rule] = source
        if source[5] is not None:
            self.source_entries[rule] = source[5]

    def tri(self, tri: TriResult, parent: dict[str, Any] | None = None, person: str | None = None) -> dict[str, Any]:
        """``parent`` (a family-level criterion's encoding) and ``person`` (the member's id) are given for
        a member's criterion, which then leaves out the rule, kind, parameters and person id it shares
        with them."""
        if parent is None and self.memo is not None:
            found = self.by_identity.get(id(tri))
            if found is not None and found[0] is tri:  # a shared result met before: memoised's answer
                entry = found[1]
                recorded = self.sources.get(tri.rule)
                if recorded is None:
                    source = self.sources[tri.rule] = entry[4]
                    if source[5] is not None:
                        self.source_entries[tri.rule] = source[5]
                    return entry[3]
                if recorded[0] is tri.span and recorded[1] is tri.citations:
                    return entry[3]
        if (self.memo is not None and not tri.evidence and not tri.unknowns and not tri.children
                and tri.override is None and tri.overridden_from is None
                and tri.person_id == (None if parent is None else person)):
            return self.memoised(tri, parent, person)
        return self.encoded(tri, parent, person)

    def memoised(self, tri: TriResult, parent: dict[str, Any] | None, person: str | None) -> dict[str, Any]:
        """A criterion citing no facts, unknowns, sub-criteria or override (nor a person id other than its
        member's) encodes the same in every record of the framework, so it is built once and the same
        (read-only) dict reused. The memo entry holds the span, citations and parameter uses whose ids
        key it, so no id is reused while the entry is there."""
        params = tri.parameters
        ids = tuple(map(id, params)) if params else ()
        parent_key = None
        if parent is not None:
            parent_key = self.parent_keys.get(id(parent))
            if parent_key is None:
                refs = parent.get("params", ())
                parent_key = self.parent_keys[id(parent)] = (
                    False if any(i >= self.param_base for i in refs) else (parent["rule"], parent["kind"], *refs))
            if parent_key is False:
                return self.encoded(tri, parent, person)
        rule, span, citations = tri.rule, tri.span, tri.citations
        key = (rule, tri.kind, tri.value, tri.detail, id(span), id(citations), parent_key, ids)
        found = self.memo.get(key)
        recorded = self.sources.get(rule)
        if recorded is not None and not (recorded[0] is span and recorded[1] is citations):
            return self.encoded(tri, parent, person)  # the record already holds another source for the rule
        if found is None:
            # (an entry is only made for uses the framework holds, so a found one needs no such check)
            if ids and self.framework_refs(ids, params) is None:
                return self.encoded(tri, parent, person)  # a use the framework lacks: its position is the record's
            data = self.encoded(tri, parent, person)
            source = self.sources[tri.rule]
            if any(ref >= self.citation_base for ref in source[4]):
                return data  # cites what the framework lacks: positions depend on the record
            if len(self.memo) >= _MEMO_LIMIT:
                self.memo.clear()
            self.memo[key] = (tri.span, tri.citations, tuple(params), data, source)
            return data
        if recorded is None:  # (record_source, inline: this is most criteria of a record)
            source = self.sources[rule] = found[4]
            if source[5] is not None:
                self.source_entries[rule] = source[5]
        if parent is None:  # met twice: likely a shared result (the entry holds it, so its id is not reused)
            if len(self.by_identity) >= _IDENTITY_LIMIT:
                self.by_identity.clear()
            self.by_identity[id(tri)] = (tri, found)
        return found[3]

    def framework_refs(self, ids: tuple[int, ...], params: list[ParamUse]) -> list[int] | None:
        """The positions of these parameter uses (``ids`` are theirs) in the framework's table, in format 1's
        order, or None when the framework lacks one of them. A use the framework holds has the same position
        in every record, so the answer is kept per framework, by the uses' identities (the entry holds the
        uses so their ids are not reused)."""
        found = self.memo.get(ids)
        if found is None:
            index = self.shared.param_index
            contents = [_param_content(p) for p in (_params_in_order(*params) if len(params) > 1 else params)]
            refs = [index[c] for c in contents] if all(c in index for c in contents) else None
            found = self.memo[ids] = (tuple(params), refs)
        return found[1]

    def encoded(self, tri: TriResult, parent: dict[str, Any] | None = None, person: str | None = None) -> dict[str, Any]:
        rule = tri.rule
        if parent is None:
            data: dict[str, Any] = {"value": tri.value, "rule": rule, "kind": tri.kind}
            if tri.person_id is not None:
                data["person_id"] = tri.person_id
        else:
            data = {"value": tri.value}
            if rule != parent["rule"]:
                data["rule"] = rule
            if tri.kind != parent["kind"]:
                data["kind"] = tri.kind
            if tri.person_id != person:
                data["person_id"] = tri.person_id
        if tri.evidence:
            data["facts"] = self.fact_refs(tri.evidence)
        params = self.param_refs(tri.parameters) if tri.parameters else None
        if parent is None:
            if params:
                data["params"] = params
        elif params != parent.get("params"):
            data["params"] = params or []
        recorded = self.sources.get(rule)
        if recorded is None:
            self.record_source(rule, self.new_source(rule, tri.span, tri.citations))
            self.keep.append(tri)
        elif not (tri.span is recorded[0] and tri.citations is recorded[1]):  # shared objects: the usual case
            span, cites = span_text(tri.span), citations_json(tri.citations)
            if span != recorded[2] or cites != recorded[3]:
                data["span"], data["citations"] = span, self.citation_refs(tri.citations)
        unknowns = tri.unknowns
        if unknowns:
            data["unknowns"] = [unknowns[0]] if len(unknowns) == 1 else sorted(set(unknowns))
        if tri.children:
            data["children"] = [self.tri(child) for child in tri.children]
        if tri.detail is not None:
            data["detail"] = tri.detail
        if tri.override is not None:
            data["override"] = tri.override.to_dict()
        if tri.overridden_from is not None:
            data["overridden_from"] = tri.overridden_from
        return data

    def fact_refs(self, evidence: list[Evidence], ordered: bool = False) -> list[int]:
        """Indexes of a criterion's facts, in format 1's (date, fact type, fact id) order (``ordered``: the
        order they are given in, as ``unique_evidence`` gives them)."""
        fact_by_id = self.fact_by_id
        if len(evidence) == 1:
            found = fact_by_id.get(id(evidence[0]))
            return [found if found is not None else self.fact(evidence[0])]
        return [fact_by_id[id(e)] if id(e) in fact_by_id else self.fact(e)
                for e in (evidence if ordered else sorted(evidence, key=_EVIDENCE_ORDER))]

    def param_refs(self, parameters: list[ParamUse]) -> list[int]:
        """Indexes of a criterion's parameter uses, in format 1's (name, date in force) order; criteria
        mostly use the same few lists of shared uses, so the answer is kept by the uses' identities."""
        ids = tuple(map(id, parameters))
        if self.framework_params:  # the usual case: uses the framework holds, the same in every record
            found = self.memo.get(ids)
            found = self.framework_refs(ids, parameters) if found is None else found[1]
            if found is not None:
                return found
        found = self.param_refs_by_ids.get(ids)
        if found is None:
            ordered = _params_in_order(*parameters) if len(parameters) > 1 else parameters
            found = self.param_refs_by_ids[ids] = [self.param(p) for p in ordered]
        return found

    def member(self, tri: TriResult, parent_tri: TriResult | None, parent: dict[str, Any] | None, person: str,
               ) -> dict[str, Any]:
        """A member's criterion under the family-level one (``parent_tri``, encoded as ``parent``). The usual
        case - same rule, kind, source and parameter uses as the family's, nothing of its own - encodes as
        just its value, in every format, without a memo lookup (:func:`_need_results` tests it inline for a
        need's members). "Same" is by identity, in order: a member whose uses are the family's objects in
        another order (which the evaluator gives, e.g. when members use different parameters) or equal
        copies is encoded in full, as ``{"value": ...}``, and records already written spell it so."""
        if parent_tri is None:  # (a member's sustained part where the family's outcome has none)
            return self.tri(tri, None, person)
        if (tri.rule == parent_tri.rule and tri.kind == parent_tri.kind and tri.person_id == person
                and not tri.evidence and not tri.unknowns and not tri.children and tri.detail is None
                and tri.override is None and tri.overridden_from is None
                and same_objects(tri.parameters, parent_tri.parameters)):
            recorded = self.sources.get(tri.rule)
            if recorded is not None and recorded[0] is tri.span and recorded[1] is tri.citations:
                return tri.value if self.framework_params else _VALUE_ONLY[tri.value]
        return self.tri(tri, parent, person)

    def member_values(self, member: tuple[str, list[Evidence], list[ParamUse]], parent: dict[str, Any],
                      parent_uses: list[ParamUse]) -> dict[str, Any]:
        """What :meth:`tri` writes for a member's criterion with the family criterion's rule, kind and source
        and the member's person id, nothing unknown, no sub-criteria, detail or override, given its value,
        facts and parameter uses (a criterion citing no facts encodes the same in or out of the memo).
        ``parent`` is the family criterion's encoding and ``parent_uses`` its parameter uses."""
        value, evidence, parameters = member
        data: dict[str, Any] = {"value": value}
        if evidence:
            data["facts"] = self.fact_refs(evidence, ordered=True)  # (a Member's facts are unique_evidence's)
        if same_objects(parameters, parent_uses):
            return data  # (the usual case: the family's uses, so the same positions)
        params = self.param_refs(parameters) if parameters else None
        if params != parent.get("params"):
            data["params"] = params or []
        return data

    def outcome(self, outcome: OutcomeResult) -> dict[str, Any]:
        if outcome.applicable == "not_met" and not outcome.members and self.memo is not None:
            found = self.memo.get(("outcome", id(outcome.achieved), id(outcome.sustained)))
            if found is not None and found[0] is outcome.achieved and found[1] is outcome.sustained:
                # An outcome whose need was not identified (the evaluator's shared results; most outcomes of
                # a record): its rules' sources are recorded where the record has none yet (record_source,
                # inline), and its entry reused unless the record already holds another source for one.
                sources = self.sources
                for rule, source in found[3]:
                    recorded = sources.get(rule)
                    if recorded is None:
                        sources[rule] = source
                        if source[5] is not None:
                            self.source_entries[rule] = source[5]
                    elif recorded is not source and recorded[:2] != source[:2]:
                        break
                else:
                    return found[2]
        achieved = self.tri(outcome.achieved)
        parents = {"achieved": achieved, "sustained": self.tri(outcome.sustained) if outcome.sustained else None}
        data = {
            "need": outcome.need,
            "applicable": outcome.applicable,
            **parents,
            "value": outcome.value,
            "members": {pid: {k: self.member(r, getattr(outcome, k), parents.get(k), pid) for k, r in sorted(parts.items())}
                        for pid, parts in sorted(outcome.members.items())},
        }
        if outcome.applicable == "not_met" and not outcome.members and self.memo is not None:
            parts = [t for t in (outcome.achieved, outcome.sustained) if t is not None]
            sources = tuple((t.rule, self.sources[t.rule]) for t in parts)
            if not any(t.evidence or t.parameters or t.unknowns or t.children or t.override or t.person_id for t in parts) \
                    and all(source[0] is t.span and source[1] is t.citations and all(r < self.citation_base for r in source[4])
                            for t, (_, source) in zip(parts, sources)):
                # spelled as the one word a reader expands back, when that gives exactly this entry
                framework = self.shared.sources
                if data == _not_identified(outcome.need, f"{outcome.need}.sustained" in framework) and all(
                        framework.get(rule) == source[2:5:2] for rule, source in sources):
                    data = NOT_IDENTIFIED
                self.memo[("outcome", id(outcome.achieved), id(outcome.sustained))] = (
                    outcome.achieved, outcome.sustained, data, sources)
        return data


#: a member's criterion that differs from the family's only in its value (format 4 writes the bare value)
_VALUE_ONLY = {value: {"value": value} for value in ("met", "not_met", "unknown")}


def _need_results(encoder: _Encoder, need: Any) -> dict[str, Any]:
    """A need's family-level criterion and its members'. Most members' criteria are the evaluator's
    shared results, equal to the family's but for the value and person id: :meth:`_Encoder.member`'s
    usual case, tested here inline against the family criterion's fields read once (a borough family
    has about a hundred of them). A ``ColumnResult`` gives a member as a bare value (the columns
    established that usual case), written as such, or as its value, facts and parameter uses
    (:meth:`_Encoder.member_values`)."""
    family = need.result
    result = encoder.tri(family)
    members = need.members
    if not members:
        return {"result": result, "members": {}}
    if members.__class__ is BareValues and encoder.framework_params:  # written as given (keys sorted then)
        return {"result": result, "members": members}
    rule, kind, parameters = family.rule, family.kind, family.parameters
    count = len(parameters)
    span, citations = encoder.sources[rule][:2]  # set by encoding the family's criterion, never replaced
    bare = encoder.framework_params
    encoded: dict[str, Any] = {}
    for pid in sorted(members):
        r = members[pid]
        if r.__class__ is str:  # given as its bare value: nothing of its own (engine.columns.assemble)
            encoded[pid] = r if bare else _VALUE_ONLY[r]
        elif isinstance(r, tuple):  # value, facts and parameter uses, the rest the family's (the same module)
            encoded[pid] = encoder.member_values(r, result, parameters)
        elif (r.span is span and r.citations is citations and r.person_id == pid and r.rule == rule
                and r.kind == kind and not r.evidence and not r.unknowns and not r.children and r.detail is None
                and r.override is None and r.overridden_from is None
                and len(r.parameters) == count and all(map(is_, r.parameters, parameters))):
            encoded[pid] = r.value if bare else _VALUE_ONLY[r.value]
        else:
            encoded[pid] = encoder.tri(r, result, pid)
    return {"result": result, "members": encoded}


#: each need's description in the framework's table as a tuple of ``_NEED_HEADER``, to compare without a dict
_need_headers = _ByIdentity(lambda shared: {code: tuple(n[k] for k in _NEED_HEADER) for code, n in shared.needs.items()},
                            limit=8)  # (each entry holds its table and so its memo: keep few)


#: ``Evidence.sort_key`` read by one C call per fact rather than a Python method call
_EVIDENCE_ORDER = attrgetter("date", "fact_type", "fact_id")


def _param_key(param: ParamUse) -> tuple[str, Any]:
    return (param.name, param.effective_from)


def compact(result: FamilyResult, shared: FrameworkText | None = None, version: int = FORMAT) -> dict[str, Any]:
    """The record of ``result`` (plain JSON data; keys are sorted when it is encoded; treat it as
    read-only, since criteria are shared between records): format 4 (or ``version`` 3) given its
    framework's table ``shared``, format 2 without."""
    if shared is not None and version not in CITING_FORMATS:
        raise ValueError(f"record format {version} does not refer to a framework's table; write 3 or 4")
    if shared is not None and shared.framework_hash != result.framework_hash:
        raise ValueError(f"result of framework {result.framework_hash[:12]}... cannot be recorded against "
                         f"framework {shared.framework_hash[:12]}...'s citations and sources")
    encoder = _Encoder(shared, version)
    tri = encoder.tri
    # Criteria first, in sorted order: they fill the tables, which must not depend on dict insertion order.
    family_definition = tri(result.family_definition)
    rules = {name: tri(r) for name, r in sorted(result.rules.items())}
    framework_needs = _need_headers(shared) if shared is not None else {}
    needs: dict[str, Any] = {}
    for code, n in sorted(result.needs.items()):
        # format 3: a need described as its framework describes it keeps only its results
        if (n.code, n.name, n.headline, n.subject, n.local) == framework_needs.get(code):
            needs[code] = _need_results(encoder, n)
        else:
            header = {"code": n.code, "name": n.name, "headline": n.headline, "subject": n.subject, "local": n.local}
            needs[code] = {**header, **_need_results(encoder, n)}
    headlines = {code: tri(h) for code, h in sorted(result.headlines.items())}
    eligible = tri(result.eligible)
    outcomes = {code: encoder.outcome(o) for code, o in sorted(result.outcomes.items())}
    claimable = tri(result.claimable)
    return {
        "format": SELF_CONTAINED_FORMAT if shared is None else version,
        "family_id": result.family_id,
        "as_of": result.as_of.isoformat(),
        "identified_as_of": result.identified_as_of.isoformat() if result.identified_as_of else None,
        "framework": {"id": result.framework_id, "version": result.framework_version, "hash": result.framework_hash},
        "facts": encoder.facts,
        "params": encoder.params,
        "citations": encoder.citations,
        "sources": encoder.source_entries,
        "family_definition": family_definition,
        "roles": result.roles,
        "rules": rules,
        "person_rules": result.person_rules,
        "needs": needs,
        "headlines": headlines,
        "eligible": eligible,
        "outcomes": outcomes,
        "claimable": claimable,
        "scores": {name: s.to_dict() for name, s in result.scores.items()},
        "unknowns": result.unknowns,
        "overrides": [o.to_dict() for o in sorted(result.overrides, key=lambda o: (o.rule, o.person_id or "", o.at))],
    }


def encode(result: FamilyResult, shared: FrameworkText | None = None, version: int = FORMAT) -> bytes:
    """The bytes stored (before compression) and hashed for ``result``: canonical JSON of :func:`compact`
    (format 4 given the framework's table, which a profile run always has; format 2 without)."""
    return canonical_bytes(compact(result, shared, version))
