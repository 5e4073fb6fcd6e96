"""Plain-English why / why-not explanations of a :class:`FamilyResult`, for keyworkers and auditors.

``explain_json`` builds the explanation as data (what other tools consume); ``explain`` renders the
same structure as indented text. Each criterion names its rule's file:line and guidance citation, the
facts it read with their source trail ("offence on 2023-02-11 (police feed, record POL-123, batch
b7)"), the parameters with the date they came into force, and why anything is unknown.

For the sub-criteria tree evaluate with ``trace=True`` (the default of ``CompiledFramework.evaluate``).
"""

from __future__ import annotations

from typing import Any

from engine.rules import ir
from engine.rules.describe import describe_value
from engine.rules.results import UNKNOWN, Evidence, FamilyResult, ParamUse, TriResult, acted_by

WORDS = {"met": "met", "not_met": "not met", "unknown": "unknown"}
_RULE_KINDS = {"role", "rule", "need", "family_definition", "eligibility_condition", "eligible", "claimable",
               "outcome_achieved", "outcome_sustained"}
#: how deep nested rule references are expanded (the full tree of a role inside a need inside
#: eligibility is rarely what a keyworker wants)
MAX_DEPTH = 6


def fact_phrase(evidence: Evidence) -> str:
    """ "offence on 2023-02-11 (police feed, record POL-123, batch b7): outcome proven" """
    trail = ", ".join(p for p in (evidence.source or "unknown source",
                                  f"record {evidence.source_record_id}" if evidence.source_record_id else "",
                                  f"batch {evidence.batch_id}" if evidence.batch_id else "") if p)
    values = ", ".join(f"{k} {describe_value(v)}" for k, v in sorted(evidence.values.items())
                       if describe_value(v) != evidence.date.isoformat())
    until = f" to {evidence.end_date}" if evidence.end_date else ""
    who = f" for {evidence.person_id}" if evidence.person_id else ""
    return f"{evidence.fact_type} on {evidence.date}{until}{who} ({trail})" + (f": {values}" if values else "")


def parameter_phrase(param: ParamUse) -> str:
    """ "attendance threshold 90% (in force from 2015-09-01; DfE persistent absence definition)" """
    source = f"; {param.citation.text}" if param.citation else ""
    label = f"; local override: {param.override_label}" if param.override_label else ""
    value = describe_value(param.value, param.unit)
    return f"{param.name.replace('_', ' ')} {value} (in force from {param.effective_from}{source}{label})"


def _citations(citations: tuple[ir.Citation, ...]) -> list[str]:
    return [c.text + (f" <{c.url}>" if c.url else "") + (f" [{c.confidence}]" if c.confidence else "")
            for c in citations]


def criterion(tri: TriResult, depth: int = 0) -> dict[str, Any]:
    """One criterion as explanation data, its sub-criteria nested under ``why``."""
    node: dict[str, Any] = {
        "criterion": tri.rule,
        "kind": tri.kind,
        "value": tri.value,
        "where": str(tri.span) if tri.span else None,
        "guidance": _citations(tri.citations),
        "person_id": tri.person_id,
        "detail": tri.detail,
        "facts": [fact_phrase(e) for e in tri.evidence],
        "parameters": [parameter_phrase(p) for p in tri.parameters],
        "unknown_because": sorted(set(tri.unknowns)) if tri.value == UNKNOWN else [],
        "override": None,
        "why": [],
    }
    if tri.override is not None:
        o = tri.override
        node["override"] = (f"set to {WORDS[o.value]} by {o.by()} on {o.at:%Y-%m-%d %H:%M} "
                            f"(rules said {WORDS[tri.overridden_from or 'unknown']}): {o.reason}")
    if depth < MAX_DEPTH:
        node["why"] = [criterion(c, depth + 1) for c in tri.children]
    return node


def explain_json(result: FamilyResult, framework: ir.Framework | None = None) -> dict[str, Any]:
    """The explanation as JSON-ready data."""
    headline_names = {h.code: h.name for h in framework.headlines} if framework else {}
    needs = []
    for code, need in sorted(result.needs.items()):
        entry = criterion(need.result)
        entry.update(code=code, name=need.name, headline=need.headline,
                     headline_name=headline_names.get(need.headline, need.headline),
                     members=[criterion(r) for _, r in sorted(need.members.items())])
        entry["facts"], entry["parameters"] = [], []  # shown per member, where they belong
        if need.subject == "family":
            entry["facts"] = [fact_phrase(e) for e in need.result.evidence]
            entry["parameters"] = [parameter_phrase(p) for p in need.result.parameters]
        needs.append(entry)
    outcomes = []
    for code, outcome in sorted(result.outcomes.items()):
        outcomes.append({
            "need": code, "value": outcome.value, "identified": outcome.applicable,
            "achieved": criterion(outcome.achieved),
            "sustained": criterion(outcome.sustained) if outcome.sustained else None,
            "members": {pid: {part: criterion(r) for part, r in sorted(parts.items())}
                        for pid, parts in sorted(outcome.members.items())},
        })
    return {
        "family_id": result.family_id,
        "as_of": result.as_of.isoformat(),
        "needs_identified_as_of": (result.identified_as_of or result.as_of).isoformat(),
        "framework": {"id": result.framework_id, "version": result.framework_version, "hash": result.framework_hash},
        "family_definition": criterion(result.family_definition),
        "eligible": criterion(result.eligible),
        "needs": needs,
        "headlines": [{"code": code, "name": headline_names.get(code, code), "value": h.value, "detail": h.detail}
                      for code, h in sorted(result.headlines.items())],
        "outcomes": outcomes,
        "claimable": criterion(result.claimable),
        "scores": [s.to_dict() for _, s in sorted(result.scores.items())],
        "overrides": [o.to_dict() for o in result.overrides],
        "unknowns": result.unknowns,
    }


# Text rendering ------------------------------------------------------------------------------------


def _reference_line(node: dict[str, Any], pad: str, lines: list[str]) -> list[str]:
    """A rule referenced from inside another: one line (its own tree is shown where it is defined).
    Returns the unknown reasons it printed."""
    who = node.get("person_id")
    label = f"{who} is {node['criterion']}" if node["kind"] == "role" and who else node["criterion"]
    where = f"  [{node['where']}]" if node.get("where") else ""
    detail = f" ({node['detail']})" if node.get("detail") else ""
    lines.append(f"{pad}{label}: {WORDS[node['value']]}{detail}{where}")
    reasons = node.get("unknown_because", [])
    lines.extend(f"{pad}  unknown because: {reason}" for reason in reasons)
    return reasons


def _render_criterion(node: dict[str, Any], indent: int, lines: list[str], title: str | None = None) -> None:
    pad = "  " * indent
    inner = "  " * (indent + 1)
    is_rule = node["kind"] in _RULE_KINDS
    children = node.get("why", [])
    detail = node.get("detail")
    # a rule whose condition is one sub-criterion: show the rule line with the condition's figures
    if is_rule and len(children) == 1 and children[0]["kind"] not in _RULE_KINDS:
        only = children[0]
        condition = f" - {only['criterion']}" if not only.get("why") else ""
        detail = "; ".join(d for d in (condition[3:] if condition else "", only.get("detail")) if d) or detail
        children = only.get("why", [])
    where = f"  [{node['where']}]" if node.get("where") and is_rule else ""
    label = title or (node["person_id"] if node["kind"] == "need" and node.get("person_id") else node["criterion"])
    lines.append(f"{pad}{label}: {WORDS[node['value']]}" + (f" ({detail})" if detail else "") + where)
    if node.get("override"):
        lines.append(f"{inner}OVERRIDDEN: {node['override']}")
    for text in node.get("guidance", []) if is_rule else []:
        lines.append(f"{inner}guidance: {text}")
    already: set[str] = set()
    for child in children:
        if child["kind"] in _RULE_KINDS:
            already.update(_reference_line(child, inner, lines))
        else:
            _render_criterion(child, indent + 1, lines)
    if is_rule:
        lines.extend(f"{inner}fact: {fact}" for fact in node.get("facts", []))
        lines.extend(f"{inner}parameter: {param}" for param in node.get("parameters", []))
        lines.extend(f"{inner}unknown because: {reason}" for reason in node.get("unknown_because", [])
                     if reason not in already)


def explain(result: FamilyResult, framework: ir.Framework | None = None) -> str:
    """The why / why-not tree as plain text."""
    data = explain_json(result, framework)
    fw = data["framework"]
    lines = [f"Family {data['family_id']} as of {data['as_of']} - framework {fw['id']} {fw['version']} "
             f"(hash {fw['hash'][:12]})", ""]
    _render_criterion(data["family_definition"], 0, lines, "Family definition")
    _render_criterion(data["eligible"], 0, lines, "Eligible")
    lines += ["", f"Needs (as of {data['as_of']}):"]
    for need in data["needs"]:
        title = f"{need['code']} \"{need['name']}\" under {need['headline_name']}"
        summary = dict(need, why=[], guidance=need["guidance"], unknown_because=[])
        _render_criterion(summary, 1, lines, title)
        if not need["members"] and need["detail"]:
            continue
        for member in need["members"]:
            _render_criterion(dict(member, guidance=[], where=None), 2, lines)
        if need["kind"] == "need" and not need["members"]:
            for child in need["why"]:
                _render_criterion(child, 2, lines)
        for reason in need["unknown_because"] if not need["members"] else []:
            lines.append(f"      unknown because: {reason}")
    lines += ["", "Headlines:"]
    for headline in data["headlines"]:
        lines.append(f"  {headline['code']} \"{headline['name']}\": {WORDS[headline['value']]} ({headline['detail']})")
    if data["outcomes"]:
        lines += ["", f"Outcomes (for needs identified as of {data['needs_identified_as_of']}):"]
        for outcome in data["outcomes"]:
            lines.append(f"  {outcome['need']}: {WORDS[outcome['value']]} (need identified: {WORDS[outcome['identified']]})")
            for part in ("achieved", "sustained"):
                if outcome[part] is None:
                    continue
                if outcome["members"]:
                    family_line = dict(outcome[part], facts=[], parameters=[], unknown_because=[])
                    _render_criterion(family_line, 2, lines, part)
                    for pid, parts in outcome["members"].items():
                        if part in parts:
                            _render_criterion(dict(parts[part], guidance=[], where=None), 3, lines, pid)
                else:
                    _render_criterion(outcome[part], 2, lines, part)
    lines.append("")
    _render_criterion(data["claimable"], 0, lines, "Claimable")
    if data["scores"]:
        lines += ["", "Scores:"]
        for score in data["scores"]:
            span = "" if score["score_complete"] else f" (up to {score['score_max']:g} if unknown needs are met)"
            rag = score["rag"] or "no band"
            lines.append(f"  {score['name']}: {score['score']:g}{span}, RAG {rag}"
                         + ("" if score["rag_certain"] else " (could change once unknowns are resolved)"))
    if data["overrides"]:
        lines += ["", "Overrides applied:"]
        for o in data["overrides"]:
            who = f" for {o['person_id']}" if o["person_id"] else ""
            lines.append(f"  {o['rule']}{who} set to {WORDS[o['value']]} by {acted_by(o['actor'], o.get('role'))} "
                         f"at {o['at']}: {o['reason']}")
    if data["unknowns"]:
        lines += ["", "Unknown because of missing data:"]
        lines += [f"  - {reason}" for reason in data["unknowns"]]
    return "\n".join(lines) + "\n"
