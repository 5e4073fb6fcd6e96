"""Compact decision records (format 2): every fact, parameter use and rule source stored once per record.

The full form of a result (``FamilyResult.to_dict()``, format 1) repeats a fact under every criterion
that read it, a parameter's value, dates and guidance citation under every criterion that used it, and
a rule's file:line and citations under the family result and again under every member. A borough's
records ran to ~200 KB of JSON per family, and writing them cost more than evaluating.

Format 2 keeps exactly the same information, each piece once:

- ``facts``: the family's evidence table, in (date, fact type, fact id) order; each entry is the fact
  as format 1 wrote it (feed, source record id, load batch, values, dates);
- ``params``: the parameter uses, in (name, effective date) order, each with its value, unit, date in
  force and citation;
- ``sources``: a rule's span and citations, by rule name;
- every criterion keeps its value, rule, kind and - only when present - ``person_id``, ``facts`` and
  ``params`` (indexes into the tables, in the order format 1 lists them), ``unknowns``, ``children``,
  ``detail``, ``override`` and ``overridden_from``. A criterion whose span or citations differ from its
  rule's entry in ``sources`` carries its own ``span`` and ``citations``.

:func:`expand` turns a format 2 record back into the format 1 dict, exactly: ``expand(compact(r)) ==
r.to_dict()`` for every result (tested on the Phase 3 benchmark families, traced and not), so explain,
replay, claims, returns and reporting read one shape whatever format a decision was stored in.

The stored text is canonical JSON (sorted keys, no spaces) written by orjson; the decision's
``result_sha256`` and the hash chain cover those bytes just as they covered format 1's.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from engine.rules.results import (
    Evidence, FamilyResult, OutcomeResult, ParamUse, TriResult, citation_dict, citations_json, span_text,
)

try:  # orjson writes the same canonical JSON about ten times faster (it spells 1e-07 as 1e-7)
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the stdlib spelling still reads back
    orjson = None

FORMAT = 2

_NO_SOURCE: tuple[str | None, list[Any]] = (None, [])


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


def top_results(result: FamilyResult) -> Iterator[TriResult]:
    """Every top-level criterion, in the record's sorted order (so tables come out the same whatever
    order the evaluator built its dicts in)."""
    yield result.family_definition
    for _, tri in sorted(result.rules.items()):
        yield tri
    for _, need in sorted(result.needs.items()):
        yield need.result
        for _, tri in sorted(need.members.items()):
            yield tri
    for _, tri in sorted(result.headlines.items()):
        yield tri
    yield result.eligible
    for _, outcome in sorted(result.outcomes.items()):
        yield outcome.achieved
        if outcome.sustained is not None:
            yield outcome.sustained
        for _, parts in sorted(outcome.members.items()):
            for _, tri in sorted(parts.items()):
                yield tri
    yield result.claimable


class _Encoder:
    """The tables of one record, then each criterion in terms of them."""

    def __init__(self, result: FamilyResult) -> None:
        facts: dict[tuple[str, str], list[Evidence]] = {}
        params: dict[int, ParamUse] = {}
        #: rule -> (span, citations, their JSON forms) of the first criterion of the rule that has any
        self.sources: dict[str, tuple[Any, Any, str | None, list[Any]]] = {}
        cited: list[Any] = []
        stack = list(top_results(result))
        stack.reverse()
        while stack:  # depth first, in record order
            tri = stack.pop()
            for evidence in tri.evidence:
                same = facts.setdefault((evidence.fact_type, evidence.fact_id), [evidence])
                if all(evidence is not e for e in same):
                    same.append(evidence)
            for param in tri.parameters:
                params[id(param)] = param
            recorded = self.sources.get(tri.rule)
            if recorded is None:
                if tri.span is not None or tri.citations:
                    self.sources[tri.rule] = (tri.span, tri.citations, span_text(tri.span),
                                              citations_json(tri.citations))
                    cited.extend(tri.citations)
            elif tri.citations and tri.citations is not recorded[1]:
                cited.extend(tri.citations)
            if tri.children:
                stack.extend(reversed(tri.children))
        self.facts, self.fact_index = self._fact_table(facts)
        cited.extend(p.citation for p in params.values() if p.citation is not None)
        self.citations, self.citation_index = self._citation_table(cited)
        self.params, self.param_index = self._param_table(params, self.citation_index)

    @staticmethod
    def _fact_table(found: dict[tuple[str, str], list[Evidence]]) -> tuple[list[dict[str, Any]], dict[int, int]]:
        """One entry per distinct fact; two objects with the same id and content share it."""
        entries: list[tuple[tuple[Any, ...], dict[str, Any], list[Evidence]]] = []
        for same in found.values():
            distinct: list[tuple[dict[str, Any], list[Evidence]]] = []
            for evidence in same:
                data = evidence.to_dict()
                match = next((d for d in distinct if d[0] == data), None)
                if match is None:
                    distinct.append((data, [evidence]))
                else:
                    match[1].append(evidence)
            for rank, (data, objects) in enumerate(distinct):
                entries.append(((*objects[0].sort_key(), rank), data, objects))
        entries.sort(key=lambda entry: entry[0])
        index = {id(e): position for position, (_, _, objects) in enumerate(entries) for e in objects}
        return [data for _, data, _ in entries], index

    @staticmethod
    def _citation_table(cited: list[Any]) -> tuple[list[dict[str, Any]], dict[tuple[Any, ...], int]]:
        """Each distinct citation once, in the order of its canonical JSON."""
        unique = {_citation_key(c): citation_dict(c) for c in cited}
        ordered = sorted(unique.items(), key=lambda item: canonical_bytes(item[1]))
        return [data for _, data in ordered], {key: position for position, (key, _) in enumerate(ordered)}

    def citation_refs(self, citations: tuple[Any, ...]) -> list[int]:
        return [self.citation_index[_citation_key(c)] for c in citations]

    @staticmethod
    def _param_table(found: dict[int, ParamUse], citation_index: dict[tuple[Any, ...], int],
                     ) -> tuple[list[dict[str, Any]], dict[int, int]]:
        """One entry per distinct parameter use (by content: equal uses from different objects merge),
        its citation by index into the citation table."""
        by_content: dict[bytes, tuple[tuple[str, Any], dict[str, Any], list[ParamUse]]] = {}
        for param in found.values():
            data = param.to_dict()
            key = canonical_bytes(data)
            entry = by_content.get(key)
            if entry is None:
                if param.citation is not None:
                    data = {**data, "citation": citation_index[_citation_key(param.citation)]}
                by_content[key] = ((param.name, param.effective_from, key), data, [param])
            else:
                entry[2].append(param)
        entries = sorted(by_content.values(), key=lambda entry: entry[0])
        index = {id(p): position for position, (_, _, objects) in enumerate(entries) for p in objects}
        return [data for _, data, _ in entries], index

    def tri(self, tri: TriResult, parent: dict[str, Any] | None = None, person: str | None = None) -> dict[str, Any]:
        """``parent`` (a family-level criterion's encoding) and ``person`` (the member's id) are given for
        a member's criterion, which then leaves out the rule, kind, parameters and person id it shares
        with them."""
        data: dict[str, Any] = {"value": tri.value}
        if parent is None:
            data["rule"], data["kind"] = tri.rule, tri.kind
            if tri.person_id is not None:
                data["person_id"] = tri.person_id
        else:
            if tri.rule != parent["rule"]:
                data["rule"] = tri.rule
            if tri.kind != parent["kind"]:
                data["kind"] = tri.kind
            if tri.person_id != person:
                data["person_id"] = tri.person_id
        evidence = tri.evidence
        if evidence:
            if len(evidence) > 1:
                evidence = sorted(evidence, key=Evidence.sort_key)
            fact_index = self.fact_index
            data["facts"] = [fact_index[id(e)] for e in evidence]
        parameters = tri.parameters
        if parameters:
            if len(parameters) > 1:
                parameters = sorted(parameters, key=_param_key)
            param_index = self.param_index
            data["params"] = [param_index[id(p)] for p in parameters]
        if parent is not None and data.get("params", []) == parent.get("params", []):
            data.pop("params", None)
        elif parent is not None and "params" not in data:
            data["params"] = []
        recorded = self.sources.get(tri.rule)
        if recorded is None:
            if tri.span is not None or tri.citations:
                data["span"], data["citations"] = span_text(tri.span), self.citation_refs(tri.citations)
        elif not (tri.span is recorded[0] and tri.citations is recorded[1]):  # shared objects: the usual case
            span, cites = span_text(tri.span), citations_json(tri.citations)
            if span != recorded[2] or cites != recorded[3]:
                data["span"], data["citations"] = span, self.citation_refs(tri.citations)
        if tri.unknowns:
            data["unknowns"] = sorted(set(tri.unknowns))
        if tri.children:
            data["children"] = [self.tri(child) for child in tri.children]
        if tri.detail is not None:
            data["detail"] = tri.detail
        if tri.override is not None:
            data["override"] = tri.override.to_dict()
        if tri.overridden_from is not None:
            data["overridden_from"] = tri.overridden_from
        return data

    def outcome(self, outcome: OutcomeResult) -> dict[str, Any]:
        achieved = self.tri(outcome.achieved)
        parents = {"achieved": achieved, "sustained": self.tri(outcome.sustained) if outcome.sustained else None}
        return {
            "need": outcome.need,
            "applicable": outcome.applicable,
            **parents,
            "value": outcome.value,
            "members": {pid: {k: self.tri(r, parents.get(k), pid) for k, r in parts.items()}
                        for pid, parts in outcome.members.items()},
        }


def _need_results(tri: Any, need: Any) -> dict[str, Any]:
    result = tri(need.result)
    return {"result": result, "members": {pid: tri(r, result, pid) for pid, r in need.members.items()}}


def _citation_key(citation: Any) -> tuple[Any, ...]:
    return (citation.text, citation.url, citation.confidence)


def _param_key(param: ParamUse) -> tuple[str, Any]:
    return (param.name, param.effective_from)


def compact(result: FamilyResult) -> dict[str, Any]:
    """The format 2 record of ``result`` (plain JSON data; keys are sorted when it is encoded)."""
    encode = _Encoder(result)
    tri = encode.tri
    return {
        "format": FORMAT,
        "family_id": result.family_id,
        "as_of": result.as_of.isoformat(),
        "identified_as_of": result.identified_as_of.isoformat() if result.identified_as_of else None,
        "framework": {"id": result.framework_id, "version": result.framework_version, "hash": result.framework_hash},
        "facts": encode.facts,
        "params": encode.params,
        "citations": encode.citations,
        "sources": {rule: {"span": span, "citations": encode.citation_refs(cites)}
                    for rule, (_, cites, span, _) in encode.sources.items()},
        "family_definition": tri(result.family_definition),
        "roles": result.roles,
        "rules": {name: tri(r) for name, r in result.rules.items()},
        "person_rules": result.person_rules,
        "needs": {
            code: {"code": n.code, "name": n.name, "headline": n.headline, "subject": n.subject, "local": n.local,
                   **_need_results(tri, n)}
            for code, n in result.needs.items()
        },
        "headlines": {code: tri(h) for code, h in result.headlines.items()},
        "eligible": tri(result.eligible),
        "outcomes": {code: encode.outcome(o) for code, o in result.outcomes.items()},
        "claimable": tri(result.claimable),
        "scores": {name: s.to_dict() for name, s in result.scores.items()},
        "unknowns": result.unknowns,
        "overrides": [o.to_dict() for o in sorted(result.overrides, key=lambda o: (o.rule, o.person_id or "", o.at))],
    }


def encode(result: FamilyResult) -> bytes:
    """The bytes stored (before compression) and hashed for ``result``: canonical JSON of :func:`compact`."""
    return canonical_bytes(compact(result))


# Reading ---------------------------------------------------------------------------------------------


class _Expander:
    def __init__(self, data: dict[str, Any]) -> None:
        self.facts = data["facts"]
        self.citations = citations = data["citations"]
        self.params = [p if p["citation"] is None else {**p, "citation": citations[p["citation"]]}
                       for p in data["params"]]
        self.sources = {rule: (s["span"], [citations[i] for i in s["citations"]]) for rule, s in data["sources"].items()}

    def tri(self, data: dict[str, Any], parent: dict[str, Any] | None = None, person: str | None = None,
            ) -> dict[str, Any]:
        """``parent`` (the expanded family-level criterion) and ``person`` fill in what a member's
        criterion left out."""
        if parent is None:
            rule, kind, person_id = data["rule"], data["kind"], data.get("person_id")
            parameters = [self.params[i] for i in data.get("params", ())]
        else:
            rule, kind = data.get("rule", parent["rule"]), data.get("kind", parent["kind"])
            person_id = data["person_id"] if "person_id" in data else person
            parameters = ([self.params[i] for i in data["params"]] if "params" in data
                          else list(parent["parameters"]))
        if "span" in data:
            span, citations = data["span"], [self.citations[i] for i in data["citations"]]
        else:
            span, citations = self.sources.get(rule, _NO_SOURCE)
        facts = self.facts
        return {
            "value": data["value"],
            "rule": rule,
            "kind": kind,
            "span": span,
            "citations": list(citations),
            "person_id": person_id,
            "evidence": [facts[i] for i in data.get("facts", ())],
            "parameters": parameters,
            "unknowns": data.get("unknowns", []),
            "children": [self.tri(c) for c in data.get("children", ())],
            "detail": data.get("detail"),
            "override": data.get("override"),
            "overridden_from": data.get("overridden_from"),
        }

    def outcome(self, data: dict[str, Any]) -> dict[str, Any]:
        parents = {"achieved": self.tri(data["achieved"]),
                   "sustained": self.tri(data["sustained"]) if data["sustained"] is not None else None}
        return {
            "need": data["need"],
            "applicable": data["applicable"],
            **parents,
            "value": data["value"],
            "members": {pid: {k: self.tri(r, parents.get(k), pid) for k, r in parts.items()}
                        for pid, parts in data["members"].items()},
        }


def _expanded_need_results(tri: Any, need: dict[str, Any]) -> dict[str, Any]:
    result = tri(need["result"])
    return {"result": result, "members": {pid: tri(r, result, pid) for pid, r in need["members"].items()}}


def expand(data: dict[str, Any]) -> dict[str, Any]:
    """The format 1 (``FamilyResult.to_dict()``) form of a format 2 record. Facts and parameter uses
    shared by several criteria are the same dict objects: treat the result as read-only."""
    expander = _Expander(data)
    tri = expander.tri
    return {
        "family_id": data["family_id"],
        "as_of": data["as_of"],
        "identified_as_of": data["identified_as_of"],
        "framework": data["framework"],
        "family_definition": tri(data["family_definition"]),
        "roles": data["roles"],
        "rules": {name: tri(r) for name, r in data["rules"].items()},
        "person_rules": data["person_rules"],
        "needs": {
            code: {**{k: n[k] for k in ("code", "name", "headline", "subject", "local")},
                   **_expanded_need_results(tri, n)}
            for code, n in data["needs"].items()
        },
        "headlines": {code: tri(h) for code, h in data["headlines"].items()},
        "eligible": tri(data["eligible"]),
        "outcomes": {code: expander.outcome(o) for code, o in data["outcomes"].items()},
        "claimable": tri(data["claimable"]),
        "scores": data["scores"],
        "unknowns": data["unknowns"],
        "overrides": data["overrides"],
    }
