"""The framework-wide text a decision record need not repeat: guidance citations and rule sources.

Every result of a Phase 3 run cites the same few hundred guidance paragraphs and names the same rule
spans (file:line:col); written into each record they were over half of its bytes. They belong to the
framework, which is stored once by content hash (``frameworks_store``) and named by every decision's
``framework_hash``. A format 3 record (:mod:`engine.decisions.compact`) therefore refers to them by
position in this table and keeps only what differs from it.

The table is a pure function of the framework: the same framework always gives the same table, so a
record written today expands identically years later from the stored framework. Its layout is part of
record format 3: changing how it is built means a new record format (keep this builder for format 3).

- ``citations``: every distinct citation (text, url, confidence) in the framework, in the order first
  met walking headlines, roles, named rules, claim alternatives, needs, outcomes, eligibility, the claim
  rule, then each parameter's dated values and citations;
- ``sources``: for each rule name the evaluator gives results under (the same walk), its span text and
  citation positions. As in the evaluator's compiled rules, the last rule holding a name keeps it (a
  named rule ``family_definition`` gives way to the eligibility block's), and any rule outranks a
  headline code;
- ``needs``: each need's code, name (its description, or its code), headline, subject and local flag,
  as the evaluator describes the need in a result.

Format 4 adds one table, built after the others so theirs are unchanged:

- ``params``: every dated value of every parameter, in the framework's order, as a criterion records its
  use (``ParamUse.to_dict()``, its citation a position in ``citations``). A format 4 record refers to
  a parameter use by position here, so a criterion that read no facts encodes the same in every record.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import sqlalchemy as sa

from engine.errors import IntegrityError
from engine.rules import ir
from engine.rules.results import citation_dict, param_use

#: rule name -> (span text or None, citation positions)
SourceRefs = tuple[Union[str, None], list[int]]


@dataclass(frozen=True)
class FrameworkText:
    """A framework's citations and rule sources, as format 3 records refer to them."""

    framework_hash: str
    #: each citation's JSON (``citation_dict``), by position
    citations: list[dict[str, Any]]
    #: (text, url, confidence) -> position in ``citations``
    citation_index: dict[tuple[Any, ...], int]
    #: rule name -> (span text, citation positions)
    sources: dict[str, SourceRefs]
    #: rule name -> (span text, citations' JSON): ``sources`` resolved, for expanding records
    source_json: dict[str, tuple[str | None, list[dict[str, Any]]]]
    #: need code -> the need's description as a result gives it (code, name, headline, subject, local)
    needs: dict[str, dict[str, Any]]
    #: format 4: each parameter use's JSON, its citation by position in ``citations``
    params: list[dict[str, Any]] = field(default_factory=list)
    #: a parameter use's canonical JSON (citation spelled out) -> position in ``params``
    param_index: dict[bytes, int] = field(default_factory=dict)
    #: ``params`` with each citation spelled out, for expanding records
    params_json: list[dict[str, Any]] = field(default_factory=list)
    #: the encoder's per-framework memory (encoded criteria that cite no facts); not part of the table
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    #: id of a family-level criterion found in ``memo`` -> (the criterion, its memo entry): shared results
    #: (the same object in many records) then skip building their memo key; restarts past a few thousand
    by_identity: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)


def _rule_sources(framework: ir.Framework) -> list[tuple[str, ir.Span | None, tuple[ir.Citation, ...]]]:
    """(name, span, citations) of every headline and rule the evaluator reports on, rules in the order
    the evaluator compiles them."""
    found: list[tuple[str, ir.Span | None, tuple[ir.Citation, ...]]] = [(h.code, h.span, ()) for h in framework.headlines]
    found += [(r.name, r.span, r.citations) for r in framework.roles]
    found += [(r.name, r.span, r.citations) for r in framework.rules]
    if framework.claim is not None:
        found += [(r.name, r.span, r.citations) for r in framework.claim.alternatives]
    found += [(n.name, n.span, n.citations) for n in framework.needs]
    for outcome in framework.outcomes:
        found.append((f"{outcome.need}.achieved", outcome.span, outcome.citations))
        if outcome.sustained is not None:
            found.append((f"{outcome.need}.sustained", outcome.span, outcome.citations))
    if framework.eligibility is not None:
        e = framework.eligibility
        found += [(name, e.span, e.citations) for name in ("family_definition", "eligibility_condition", "eligible")]
    if framework.claim is not None:
        found.append(("claimable", framework.claim.span, framework.claim.citations))
    return found


def build_framework_text(framework: ir.Framework, framework_hash: str | None = None) -> FrameworkText:
    """The table for ``framework`` (``framework_hash``, when given, must be its content hash)."""
    citations: list[dict[str, Any]] = []
    index: dict[tuple[Any, ...], int] = {}

    def position(citation: ir.Citation) -> int:
        key = (citation.text, citation.url, citation.confidence)
        found = index.get(key)
        if found is None:
            found = index[key] = len(citations)
            citations.append(citation_dict(citation))
        return found

    sources: dict[str, SourceRefs] = {}
    for name, span, cites in _rule_sources(framework):
        sources[name] = (str(span) if span is not None else None, [position(c) for c in cites])
    for parameter in framework.parameters:
        for dated in parameter.values:
            if dated.citation is not None:
                position(dated.citation)
        for citation in parameter.citations:
            position(citation)
    source_json = {name: (span, [citations[i] for i in refs]) for name, (span, refs) in sources.items()}
    needs = {n.name: {"code": n.name, "name": n.description or n.name, "headline": n.headline, "subject": n.subject,
                      "local": n.local} for n in framework.needs}
    params, param_index, params_json = [], {}, []
    for parameter in framework.parameters:
        for dated in parameter.values:
            use = param_use(parameter, dated)
            data = use.to_dict()
            param_index.setdefault(canonical_param(data), len(params))
            params.append(data if use.citation is None else {**data, "citation": position(use.citation)})
            params_json.append(data)
    return FrameworkText(framework_hash or framework.content_hash(), citations, index, sources, source_json, needs,
                         params, param_index, params_json)


def canonical_param(data: dict[str, Any]) -> bytes:
    """The key of a parameter use's JSON (citation spelled out) in ``FrameworkText.param_index``."""
    from engine.decisions.compact import canonical_bytes

    return canonical_bytes(data)


#: tables by framework object (frozen models; the evaluator and the store share one object per framework)
_BY_FRAMEWORK: dict[int, tuple[ir.Framework, FrameworkText]] = {}
_KEEP = 8


def framework_text(framework: ir.Framework) -> FrameworkText:
    """The table for ``framework``, built once per framework object (hashing Phase 3 takes ~5 ms)."""
    found = _BY_FRAMEWORK.get(id(framework))
    if found is None or found[0] is not framework:
        if len(_BY_FRAMEWORK) >= _KEEP:
            _BY_FRAMEWORK.pop(next(iter(_BY_FRAMEWORK)))
        found = _BY_FRAMEWORK[id(framework)] = (framework, build_framework_text(framework))
    return found[1]


#: what a reader passes to turn a framework hash into its table
TextResolver = Callable[[str], FrameworkText]


class StoredFrameworkTexts:
    """Tables of the frameworks stored in ``frameworks_store``, by hash, each loaded (and its stored text
    re-hashed against its key, so an altered row is refused) once per resolver."""

    def __init__(self, conn: sa.Connection, loaded: dict[str, FrameworkText] | None = None) -> None:
        self.conn = conn
        self.loaded: dict[str, FrameworkText] = {} if loaded is None else loaded

    def __call__(self, framework_hash: str) -> FrameworkText:
        found = self.loaded.get(framework_hash)
        if found is None:
            from engine.decisions.store import load_stored_framework

            framework = load_stored_framework(self.conn, framework_hash)
            found = self.loaded[framework_hash] = framework_text(framework)
            if found.framework_hash != framework_hash:  # a prefix was given: keep the full hash's entry too
                self.loaded[found.framework_hash] = found
        return found


class _OneFramework:
    def __init__(self, framework: ir.Framework) -> None:
        self.text = framework_text(framework)

    def __call__(self, framework_hash: str) -> FrameworkText:
        if framework_hash != self.text.framework_hash:
            raise IntegrityError(
                f"decision record names framework {framework_hash[:12]}..., but framework "
                f"{self.text.framework_hash[:12]}... was given to read it; read it with its stored framework"
            )
        return self.text


#: the tables loaded through each open connection, so a reader expanding many rows loads each framework
#: once (the entries hold no reference to their connection, so closed connections drop out)
_PER_CONNECTION: "weakref.WeakKeyDictionary[sa.Connection, dict[str, FrameworkText]]" = weakref.WeakKeyDictionary()

#: what ``stored_result`` and ``full_form`` accept to read format 3 records
Frameworks = Union[sa.Connection, ir.Framework, TextResolver, None]


def resolver(frameworks: Frameworks) -> TextResolver | None:
    """A hash -> table resolver from a connection (tables loaded from ``frameworks_store``), a framework
    (the one the records were written with), a resolver, or None (formats 1 and 2 only)."""
    if frameworks is None:
        return None
    if isinstance(frameworks, sa.Connection):
        loaded = _PER_CONNECTION.get(frameworks)
        if loaded is None:
            loaded = _PER_CONNECTION[frameworks] = {}
        return StoredFrameworkTexts(frameworks, loaded)
    if isinstance(frameworks, ir.Framework):
        return _OneFramework(frameworks)
    return frameworks
