"""Reading compact decision records (formats 2, 3 and 4) back into the full form (format 1).

The formats are described in :mod:`engine.decisions.compact`, which writes them (and re-exports
:func:`expand`); this module holds what a reader needs of them: the formats that refer to their framework's
table, format 4's one-word spelling of an outcome whose need was not identified, and the expander.
"""

from __future__ import annotations

from typing import Any

from engine.decisions.framework_text import FrameworkText
from engine.errors import IntegrityError

#: the formats that refer to their framework's table (format 3: citations and sources only)
CITING_FORMATS = (3, 4)

_NO_SOURCE: tuple[str | None, list[Any]] = (None, [])  # no span, no citations
#: a need's description, as a record spells it when it differs from its framework's
_NEED_HEADER = ("code", "name", "headline", "subject", "local")

#: format 4's spelling of an outcome whose need was not identified for the family: the entry
#: :func:`_not_identified` gives, every rule's source the framework's
NOT_IDENTIFIED = "not identified"


def _not_identified(code: str, sustained: bool) -> dict[str, Any]:
    """The compact entry of an outcome whose need was not identified (the evaluator's wording; format 4
    readers rebuild it from this function, so its text is part of the format)."""
    detail = f"need {code} was not identified for this family"
    return {
        "need": code, "applicable": "not_met",
        "achieved": {"value": "not_met", "rule": f"{code}.achieved", "kind": "outcome_achieved", "detail": detail},
        "sustained": ({"value": "not_met", "rule": f"{code}.sustained", "kind": "outcome_sustained", "detail": detail}
                      if sustained else None),
        "value": "not_met", "members": {},
    }


class _Expander:
    def __init__(self, data: dict[str, Any], shared: FrameworkText | None) -> None:
        self.facts = data["facts"]
        self.citations = citations = data["citations"] if shared is None else shared.citations + data["citations"]
        own = [p if p["citation"] is None else {**p, "citation": citations[p["citation"]]} for p in data["params"]]
        self.params = shared.params_json + own if data["format"] == 4 else own
        self.needs = {} if shared is None else shared.needs
        self.framework_sources = {} if shared is None else shared.sources
        self.sources = {} if shared is None else dict(shared.source_json)
        self.sources.update(
            (rule, (s["span"], [citations[i] for i in s["citations"]])) for rule, s in data["sources"].items())

    def tri(self, data: dict[str, Any] | str, parent: dict[str, Any] | None = None, person: str | None = None,
            ) -> dict[str, Any]:
        """``parent`` (the expanded family-level criterion) and ``person`` fill in what a member's
        criterion left out (format 4 spells one that only has a value as that value)."""
        if isinstance(data, str):
            data = {"value": data}
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

    def outcome(self, code: str, data: dict[str, Any] | str) -> dict[str, Any]:
        if data == NOT_IDENTIFIED:
            data = _not_identified(code, f"{code}.sustained" in self.framework_sources)
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


def expand(data: dict[str, Any], shared: FrameworkText | None = None) -> dict[str, Any]:
    """The format 1 (``FamilyResult.to_dict()``) form of a format 2 record, or of a format 3 record given
    its framework's table ``shared``. Facts, parameter uses and citations shared by several criteria are
    the same dict objects: treat the result as read-only."""
    if data["format"] in CITING_FORMATS:
        if shared is None:
            raise ValueError(f"a format {data['format']} decision record needs its framework's table to expand")
        if shared.framework_hash != data["framework"]["hash"]:
            raise IntegrityError(
                f"decision record for family {data['family_id']!r} was written under framework "
                f"{data['framework']['hash'][:12]}..., not {shared.framework_hash[:12]}...")
    else:
        shared = None  # format 2 holds everything itself
    expander = _Expander(data, shared)
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
            code: {**({k: n[k] for k in _NEED_HEADER} if "code" in n else expander.needs[code]),
                   **_expanded_need_results(tri, n)}
            for code, n in data["needs"].items()
        },
        "headlines": {code: tri(h) for code, h in data["headlines"].items()},
        "eligible": tri(data["eligible"]),
        "outcomes": {code: expander.outcome(code, o) for code, o in data["outcomes"].items()},
        "claimable": tri(data["claimable"]),
        "scores": data["scores"],
        "unknowns": data["unknowns"],
        "overrides": data["overrides"],
    }
