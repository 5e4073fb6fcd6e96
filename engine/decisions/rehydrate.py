"""Rebuild a :class:`FamilyResult` from its stored JSON (format 1 full ``to_dict()``, formats 2 and 3 compact).

Explaining a recorded decision must show the decision as it was made, not a fresh evaluation, so the
stored JSON is turned back into the evaluator's result objects and handed to ``explain``. The round trip
is exact: ``result_from_dict(d).to_dict() == d`` (tested), so nothing the explanation reads is lost.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine.decisions import compact
from engine.decisions.framework_text import Frameworks, resolver
from engine.errors import IntegrityError
from engine.rules import ir
from engine.rules.results import (
    Evidence, FamilyResult, NeedResult, OutcomeResult, Override, ParamUse, ScoreResult, TriResult,
)


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _span(text: str | None) -> ir.Span | None:
    if not text:
        return None
    # "path/with:colons.hearth:42:7" - the last two parts are line and column.
    file, line, column = text.rsplit(":", 2)
    return ir.Span(file=file, line=int(line), column=int(column))


def _citation(data: dict[str, Any]) -> ir.Citation:
    return ir.Citation(text=data["text"], url=data.get("url"), confidence=data.get("confidence"))


def _override(data: dict[str, Any]) -> Override:
    return Override(rule=data["rule"], family_id=data["family_id"], person_id=data.get("person_id"),
                    value=data["value"], reason=data["reason"], actor=data["actor"],
                    at=datetime.fromisoformat(data["at"]), role=data.get("role"))


def _evidence(data: dict[str, Any]) -> Evidence:
    return Evidence(fact_id=data["fact_id"], fact_type=data["fact_type"], person_id=data.get("person_id"),
                    date=date.fromisoformat(data["date"]), source=data["source"],
                    source_record_id=data["source_record_id"], batch_id=data["batch_id"],
                    values=data["values"], end_date=_date(data.get("end_date")))


def _param(data: dict[str, Any]) -> ParamUse:
    return ParamUse(name=data["name"], value=data["value"], effective_from=date.fromisoformat(data["effective_from"]),
                    citation=_citation(data["citation"]) if data.get("citation") else None,
                    unit=data.get("unit"), override_label=data.get("override_label"))


def tri_from_dict(data: dict[str, Any]) -> TriResult:
    return TriResult(
        value=data["value"], rule=data["rule"], kind=data["kind"], span=_span(data.get("span")),
        citations=tuple(_citation(c) for c in data.get("citations", ())), person_id=data.get("person_id"),
        evidence=[_evidence(e) for e in data.get("evidence", ())],
        parameters=[_param(p) for p in data.get("parameters", ())],
        unknowns=list(data.get("unknowns", ())),
        children=[tri_from_dict(c) for c in data.get("children", ())],
        detail=data.get("detail"),
        override=_override(data["override"]) if data.get("override") else None,
        overridden_from=data.get("overridden_from"),
    )


def _need(data: dict[str, Any]) -> NeedResult:
    return NeedResult(code=data["code"], name=data["name"], headline=data["headline"], subject=data["subject"],
                      result=tri_from_dict(data["result"]),
                      members={pid: tri_from_dict(r) for pid, r in data.get("members", {}).items()},
                      local=data.get("local", False))


def _outcome(data: dict[str, Any]) -> OutcomeResult:
    return OutcomeResult(
        need=data["need"], applicable=data["applicable"], achieved=tri_from_dict(data["achieved"]),
        sustained=tri_from_dict(data["sustained"]) if data.get("sustained") else None, value=data["value"],
        members={pid: {k: tri_from_dict(r) for k, r in parts.items()} for pid, parts in data.get("members", {}).items()},
    )


def _score(data: dict[str, Any]) -> ScoreResult:
    return ScoreResult(name=data["name"], score=data["score"], score_max=data["score_max"],
                       score_complete=data["score_complete"], rag=data.get("rag"), rag_certain=data["rag_certain"])


def full_form(stored: dict[str, Any], frameworks: Frameworks = None) -> dict[str, Any]:
    """The ``FamilyResult.to_dict()`` form of a stored result of any format: format 1 (the full form,
    written before compact records; it has no ``format`` key) as is, format 2 expanded, format 3 expanded
    with its framework's citations and sources, found through ``frameworks``: a connection (the stored
    framework under the record's hash), the framework itself, or a hash -> table resolver."""
    version = stored.get("format", 1)
    if version == 1:
        return stored
    if version == compact.SELF_CONTAINED_FORMAT:
        return compact.expand(stored)
    if version in compact.CITING_FORMATS:
        resolve = resolver(frameworks)
        if resolve is None:
            raise IntegrityError(
                f"decision record for family {stored.get('family_id')!r} is in record format {version}, which refers to "
                "its stored framework's citations, rule sources and parameters: read it with a connection "
                "(stored_result(row, conn)) or its framework"
            )
        return compact.expand(stored, resolve(stored["framework"]["hash"]))
    raise IntegrityError(
        f"decision record for family {stored.get('family_id')!r} is in record format {version!r}; this engine "
        f"reads formats 1 to {compact.FORMAT}. Read it with the Hearth version that wrote it (its engine_version "
        "column) or a later one"
    )


def result_from_dict(data: dict[str, Any]) -> FamilyResult:
    """The :class:`FamilyResult` whose ``to_dict()`` is ``data``."""
    framework = data["framework"]
    return FamilyResult(
        family_id=data["family_id"], as_of=date.fromisoformat(data["as_of"]),
        framework_id=framework["id"], framework_version=framework["version"], framework_hash=framework["hash"],
        family_definition=tri_from_dict(data["family_definition"]),
        needs={code: _need(n) for code, n in data["needs"].items()},
        headlines={code: tri_from_dict(h) for code, h in data["headlines"].items()},
        eligible=tri_from_dict(data["eligible"]),
        outcomes={code: _outcome(o) for code, o in data["outcomes"].items()},
        claimable=tri_from_dict(data["claimable"]),
        scores={name: _score(s) for name, s in data["scores"].items()},
        roles={pid: dict(r) for pid, r in data.get("roles", {}).items()},
        rules={name: tri_from_dict(r) for name, r in data.get("rules", {}).items()},
        person_rules={pid: dict(r) for pid, r in data.get("person_rules", {}).items()},
        overrides=[_override(o) for o in data.get("overrides", ())],
        identified_as_of=_date(data.get("identified_as_of")),
    )
