"""What the evaluator returns: three-valued results with the evidence and reasons behind them.

Plain dataclasses (not pydantic): a borough run builds millions of these, and they only need to be
turned into JSON once, by :meth:`FamilyResult.to_dict`. ``to_dict`` is deterministic - sorted keys,
ISO dates, evidence in (date, fact type, fact id) order - so the same framework, facts and evaluation
date give byte-identical JSON whatever order the facts or members arrived in.

Vocabulary:
- ``TriResult``: one criterion (a need for one person, a role, an eligibility rule, a sub-condition)
  with its value ``met`` / ``not_met`` / ``unknown``, the facts and parameters it read, why it is
  unknown, and the trace of its sub-criteria (``children``).
- ``NeedResult``: a need for the family and for each member it applies to.
- ``OutcomeResult``: whether the outcome for a need is achieved and sustained.
- ``ScoreResult``: a weighted score with the certainty of its RAG rating.
- ``FamilyResult``: everything about one family as of one date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import is_
from typing import Any, Iterable, Literal, Mapping

from engine.rules import ir

TriValue = Literal["met", "not_met", "unknown"]
MET: TriValue = "met"
NOT_MET: TriValue = "not_met"
UNKNOWN: TriValue = "unknown"
TRI_VALUES: tuple[str, ...] = (MET, NOT_MET, UNKNOWN)


def any_met(values: Iterable[str] | list[str]) -> TriValue:
    """Kleene "or" of three values: met if one is, else unknown if one is, else not met (none: not met)."""
    return MET if MET in values else (UNKNOWN if UNKNOWN in values else NOT_MET)


def all_met(values: Iterable[str] | list[str]) -> TriValue:
    """Kleene "and" of three values: not met if one is, else unknown if one is, else met (none: met)."""
    return NOT_MET if NOT_MET in values else (UNKNOWN if UNKNOWN in values else MET)


_PLAIN = frozenset((str, int, float, bool, type(None)))


def jsonable(value: Any) -> Any:
    """Turn a field or parameter value into deterministic JSON data (dates -> ISO text)."""
    if type(value) in _PLAIN:  # the common case, before the isinstance chain
        return value
    if type(value) is dict:  # a fact's values (text, numbers and dates): plain ones and dates without a call
        return {k if type(k) is str else str(k): v if type(v) in _PLAIN else v.isoformat() if type(v) is date
                else jsonable(v) for k, v in value.items()}
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, ir.Duration):
        return str(value)
    if isinstance(value, Decimal):  # money read from a database
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    return value


def citation_dict(citation: ir.Citation) -> dict[str, Any]:
    return {"text": citation.text, "url": citation.url, "confidence": citation.confidence}


#: JSON forms of a rule's citations and span, by object identity (they belong to the compiled framework
#: and are shared by every result of the rule); each entry keeps its object alive so ids stay unique
_CITATIONS_JSON: dict[int, tuple[tuple[ir.Citation, ...], list[dict[str, Any]]]] = {}
_SPAN_TEXT: dict[int, tuple[ir.Span, str]] = {}
#: results rebuilt from stored JSON bring their own spans and citations; past this many the caches restart
_CACHE_LIMIT = 20_000


def _citations_json(citations: tuple[ir.Citation, ...]) -> list[dict[str, Any]]:
    if not citations:
        return []
    found = _CITATIONS_JSON.get(id(citations))
    if found is None or found[0] is not citations:
        if len(_CITATIONS_JSON) > _CACHE_LIMIT:
            _CITATIONS_JSON.clear()
        found = _CITATIONS_JSON[id(citations)] = (citations, [citation_dict(c) for c in citations])
    return found[1]


def _span_text(span: ir.Span | None) -> str | None:
    if span is None:
        return None
    found = _SPAN_TEXT.get(id(span))
    if found is None or found[0] is not span:
        if len(_SPAN_TEXT) > _CACHE_LIMIT:
            _SPAN_TEXT.clear()
        found = _SPAN_TEXT[id(span)] = (span, str(span))
    return found[1]


#: the JSON forms of a rule's span and citations, for encoders of other record layouts (the returned
#: lists are shared: treat them as read-only)
span_text = _span_text
citations_json = _citations_json


class _BuiltOnce:
    """``to_dict`` built once and kept in the ``_json`` field: evidence and parameter uses are shared by
    many rules and families, so their JSON form is made once (treat it as read-only)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        if self._json is None:  # type: ignore[attr-defined]
            object.__setattr__(self, "_json", self._build_dict())  # type: ignore[attr-defined]
        return self._json  # type: ignore[attr-defined,return-value]


@dataclass(frozen=True, slots=True)
class Evidence(_BuiltOnce):
    """One fact a criterion read, with the trail back to the feed row it came from."""

    fact_id: str
    fact_type: str
    person_id: str | None
    date: date
    source: str
    source_record_id: str
    batch_id: str
    values: Mapping[str, Any]
    end_date: date | None = None
    #: the JSON form, built once: one fact is usually evidence for several criteria
    _json: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def sort_key(self) -> tuple[date, str, str]:
        return (self.date, self.fact_type, self.fact_id)


    def _build_dict(self) -> dict[str, Any]:
        return {
            "fact_id": self.fact_id,
            "fact_type": self.fact_type,
            "person_id": self.person_id,
            "date": self.date.isoformat(),
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "source": self.source,
            "source_record_id": self.source_record_id,
            "batch_id": self.batch_id,
            "values": jsonable(self.values),
        }


class BareValues(dict):
    """A need's members given as their bare values (person id -> value), each with the family result's
    rule, kind, source and parameter uses and nothing of its own: what a record writes for each of them.
    Only whole results assembled from the columns (``engine.columns.assemble``) give members so."""

    __slots__ = ()


def same_objects(a: list[Any], b: list[Any]) -> bool:
    """The same objects in the same order (results share their parameter uses and facts)."""
    return len(a) == len(b) and all(map(is_, a, b))


def unique_evidence(evidence: list[Evidence]) -> list[Evidence]:
    """Each fact once, in (date, fact type, fact id) order."""
    if not evidence:
        return []
    unique = {(e.fact_type, e.fact_id): e for e in evidence}
    return sorted(unique.values(), key=Evidence.sort_key) if len(unique) > 1 else list(unique.values())


@dataclass(frozen=True, slots=True)
class ParamUse(_BuiltOnce):
    """A parameter value a criterion used, with the date it came into force and its guidance source."""

    name: str
    value: Any
    effective_from: date
    citation: ir.Citation | None = None
    unit: str | None = None
    override_label: str | None = None
    #: the JSON form, built once: parameter uses are shared by every rule and family evaluated on a date
    _json: dict[str, Any] | None = field(default=None, compare=False, repr=False)


    def _build_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": jsonable(self.value),
            "unit": self.unit,
            "effective_from": self.effective_from.isoformat(),
            "citation": citation_dict(self.citation) if self.citation else None,
            "override_label": self.override_label,
        }


def param_use(parameter: ir.Parameter, dated: ir.DatedValue) -> ParamUse:
    """The use of one dated value of a parameter, as a criterion that read it records it (a duration
    parameter's number becomes a Duration in the parameter's unit; the value's own citation, else the
    parameter's first)."""
    value = dated.value
    if parameter.unit in ir.DURATION_UNITS and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = ir.Duration(amount=int(value), unit=parameter.unit)
    citation = dated.citation or (parameter.citations[0] if parameter.citations else None)
    return ParamUse(parameter.name, value, dated.effective_from, citation, parameter.unit, parameter.override_label)


@dataclass(frozen=True, slots=True)
class Override:
    """A human decision replacing a criterion's result for one family (and optionally one person).

    ``rule`` names what is replaced: a need code, role, derived rule, ``OUTCOME_NEED.achieved`` /
    ``.sustained``, or ``eligible`` / ``family_definition`` / ``claimable``.
    """

    rule: str
    family_id: str
    person_id: str | None
    value: TriValue
    reason: str
    actor: str
    at: datetime
    #: the role the actor acted in, which the framework authorises (None: not recorded then)
    role: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "rule": self.rule,
            "family_id": self.family_id,
            "person_id": self.person_id,
            "value": self.value,
            "reason": self.reason,
            "actor": self.actor,
            "at": self.at.isoformat(),
        }
        if self.role is not None:  # (a record made before roles were recorded keeps its bytes)
            data["role"] = self.role
        return data

    def by(self) -> str:
        """Who made it: the actor, and the role they acted in when recorded."""
        return acted_by(self.actor, self.role)


def acted_by(actor: str, role: str | None) -> str:
    """``actor``, with the role they acted in when it was recorded: "a.khan (as manager)"."""
    return f"{actor} (as {role})" if role else actor


@dataclass(slots=True)
class TriResult:
    """One criterion's three-valued result and why.

    ``detail`` holds a short computed figure for explanations ("rate 71.4%", "count 2").
    ``overridden_from`` is the value the rules gave before a human override replaced it.
    """

    value: TriValue
    rule: str
    kind: str
    span: ir.Span | None = None
    citations: tuple[ir.Citation, ...] = ()
    person_id: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    parameters: list[ParamUse] = field(default_factory=list)
    unknowns: list[str] = field(default_factory=list)
    children: list[TriResult] = field(default_factory=list)
    detail: str | None = None
    override: Override | None = None
    overridden_from: TriValue | None = None

    @property
    def met(self) -> bool:
        return self.value == MET

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "rule": self.rule,
            "kind": self.kind,
            "span": _span_text(self.span),
            "citations": _citations_json(self.citations),
            "person_id": self.person_id,
            "evidence": [e.to_dict() for e in (sorted(self.evidence, key=Evidence.sort_key)
                                                if len(self.evidence) > 1 else self.evidence)],
            "parameters": [p.to_dict() for p in (sorted(self.parameters, key=_param_key)
                                                  if len(self.parameters) > 1 else self.parameters)],
            "unknowns": sorted(set(self.unknowns)) if self.unknowns else [],
            "children": [c.to_dict() for c in self.children],
            "detail": self.detail,
            "override": self.override.to_dict() if self.override else None,
            "overridden_from": self.overridden_from,
        }


def _param_key(p: ParamUse) -> tuple[str, date]:
    return (p.name, p.effective_from)


@dataclass(slots=True)
class NeedResult:
    """A need for the family (met if any member it applies to meets it) and per member."""

    code: str
    name: str
    headline: str
    subject: str
    result: TriResult
    members: dict[str, TriResult] = field(default_factory=dict)
    local: bool = False

    @property
    def value(self) -> TriValue:
        return self.result.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "headline": self.headline,
            "subject": self.subject,
            "local": self.local,
            "result": self.result.to_dict(),
            "members": {pid: r.to_dict() for pid, r in sorted(self.members.items())},
        }


@dataclass(slots=True)
class OutcomeResult:
    """The outcome for one need. ``value`` is achieved AND sustained (just achieved when the outcome has
    no sustainment rule); ``applicable`` is the three-valued "this need was identified"."""

    need: str
    applicable: TriValue
    achieved: TriResult
    sustained: TriResult | None
    value: TriValue
    members: dict[str, dict[str, TriResult]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "need": self.need,
            "applicable": self.applicable,
            "achieved": self.achieved.to_dict(),
            "sustained": self.sustained.to_dict() if self.sustained else None,
            "value": self.value,
            "members": {
                pid: {k: r.to_dict() for k, r in sorted(parts.items())}
                for pid, parts in sorted(self.members.items())
            },
        }


@dataclass(slots=True)
class ScoreResult:
    """A weighted score. ``score`` counts certain (met) targets; ``score_max`` adds targets that are
    unknown, so the true score lies between them. ``rag`` is the band of ``score``; ``rag_certain``
    says whether the unknowns could move the family into another band."""

    name: str
    score: float
    score_max: float
    score_complete: bool
    rag: str | None
    rag_certain: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "score": self.score,
            "score_max": self.score_max,
            "score_complete": self.score_complete,
            "rag": self.rag,
            "rag_certain": self.rag_certain,
        }


@dataclass(slots=True)
class FamilyResult:
    """Everything the framework decides about one family as of one date."""

    family_id: str
    as_of: date
    framework_id: str
    framework_version: str
    framework_hash: str
    family_definition: TriResult
    needs: dict[str, NeedResult]
    headlines: dict[str, TriResult]
    eligible: TriResult
    outcomes: dict[str, OutcomeResult]
    claimable: TriResult
    scores: dict[str, ScoreResult]
    roles: dict[str, dict[str, TriValue]] = field(default_factory=dict)
    #: named helper rules: family-level ones by name, person-level ones under ``person_rules``
    rules: dict[str, TriResult] = field(default_factory=dict)
    person_rules: dict[str, dict[str, TriValue]] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    identified_as_of: date | None = None

    # Convenience views ---------------------------------------------------------------------------
    @property
    def rag(self) -> dict[str, str | None]:
        return {name: s.rag for name, s in self.scores.items()}

    @property
    def unknowns(self) -> list[str]:
        """Every reason anything in this result is unknown, deduplicated and sorted."""
        reasons: set[str] = set()
        for tri in self.iter_results():
            if tri.value == UNKNOWN:
                reasons.update(tri.unknowns)
        return sorted(reasons)

    def iter_results(self) -> Iterable[TriResult]:
        """The top-level criteria: family definition, needs (family and members), eligibility,
        outcomes, claim."""
        yield self.family_definition
        for need in self.needs.values():
            yield need.result
            yield from need.members.values()
        yield self.eligible
        for outcome in self.outcomes.values():
            yield outcome.achieved
            if outcome.sustained is not None:
                yield outcome.sustained
        yield self.claimable

    def need_values(self) -> dict[str, TriValue]:
        return {code: n.value for code, n in self.needs.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "family_id": self.family_id,
            "as_of": self.as_of.isoformat(),
            "identified_as_of": self.identified_as_of.isoformat() if self.identified_as_of else None,
            "framework": {
                "id": self.framework_id,
                "version": self.framework_version,
                "hash": self.framework_hash,
            },
            "family_definition": self.family_definition.to_dict(),
            "roles": {pid: dict(sorted(r.items())) for pid, r in sorted(self.roles.items())},
            "rules": {name: r.to_dict() for name, r in sorted(self.rules.items())},
            "person_rules": {pid: dict(sorted(r.items())) for pid, r in sorted(self.person_rules.items())},
            "needs": {code: n.to_dict() for code, n in sorted(self.needs.items())},
            "headlines": {code: h.to_dict() for code, h in sorted(self.headlines.items())},
            "eligible": self.eligible.to_dict(),
            "outcomes": {code: o.to_dict() for code, o in sorted(self.outcomes.items())},
            "claimable": self.claimable.to_dict(),
            "scores": {name: s.to_dict() for name, s in sorted(self.scores.items())},
            "unknowns": self.unknowns,
            "overrides": [
                o.to_dict()
                for o in sorted(self.overrides, key=lambda o: (o.rule, o.person_id or "", o.at))
            ],
        }

    def to_json(self) -> str:
        """Canonical JSON text: identical inputs give byte-identical output."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def summary(self) -> dict[str, Any]:
        """The headline values only (what reports and diffs compare)."""
        return {
            "family_definition": self.family_definition.value,
            "needs": dict(sorted(self.need_values().items())),
            "headlines": {code: h.value for code, h in sorted(self.headlines.items())},
            "eligible": self.eligible.value,
            "outcomes": {code: o.value for code, o in sorted(self.outcomes.items())},
            "claimable": self.claimable.value,
            "scores": {name: s.score for name, s in sorted(self.scores.items())},
            "rag": dict(sorted(self.rag.items())),
        }
