"""Outcomes: judged for the needs *identified* for a family, and the claim helpers built on them.

A need is identified when it was met (or unknown) on the case's identification date, if the case has one
before the evaluation date, else on the evaluation date. For a person-level need, the outcome is judged
for each member who had the need: the family's outcome is achieved when every such member achieves it
(Kleene "for all": a member who only *may* have had the need can only make the answer unknown).

``all_outcomes_achieved()`` / ``all_outcomes_sustained()`` (the claim rule's helpers) are met when every
identified need's outcome is, and never for a family with no need surely identified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.rules.results import MET, NOT_MET, UNKNOWN, OutcomeResult, TriResult, all_met

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation, RuleDef


def _at_identification(ev: Evaluation) -> Evaluation:
    """An evaluation of the same family on its identification date (same overrides and what-ifs)."""
    from engine.rules.evaluator import Evaluation

    if ev.identification is None:
        day = ev.family.case.identified
        what_if = {n: p.value for n, p in ev.params.items() if p is not None and p.override_label == "what-if"}
        ev.identification = Evaluation(ev.compiled, ev.family, day, tuple(ev.overrides.values()), trace=False,
                                       params=ev.compiled.what_if(day, what_if))
    return ev.identification


def identified_need(ev: Evaluation, code: str) -> tuple[str, dict[str, str]]:
    """The need's family value and per-member values on the identification date."""
    known = ev.identified_needs.get(code)
    if known is not None:
        return known
    ev.reading_inputs()
    day = ev.family.case.identified
    source = ev
    if day is not None and day < ev.as_of:
        ev.identified_on = day
        source = _at_identification(ev)
    need = source.rule_result(code, None)
    members = source.need_members(code) if ev.rules[code].subject == "person" else {}
    known = ev.identified_needs[code] = (need.value, {pid: r.value for pid, r in members.items()})
    return known


def family_outcome(ev: Evaluation, rule: RuleDef) -> TriResult:
    """A person-level outcome part (achieved or sustained) for the whole family."""
    code = rule.name.rsplit(".", 1)[0]
    _, member_values = identified_need(ev, code)
    parts, values = [], []
    for pid, had in sorted(member_values.items()):
        if pid not in ev.member_by_id or had == NOT_MET:
            continue
        part = ev.rule_result(rule.name, pid)
        parts.append(part)
        values.append(had_and_achieved(had, part.value))
    if not parts:
        return ev.combined(rule, NOT_MET, parts, f"no current member had need {code}")
    value = all_met(values)
    return ev.combined(rule, value, parts, None)


def _not_identified(ev: Evaluation, rule: RuleDef | None, code: str) -> TriResult | None:
    if rule is None:
        return None
    found = ev.compiled.not_identified.get(rule.name)
    if found is None:
        found = ev.compiled.not_identified[rule.name] = TriResult(
            NOT_MET, rule.name, rule.kind, rule.span, rule.citations, None, [], [], [], [],
            f"need {code} was not identified for this family")
    return found


def outcome_results(ev: Evaluation) -> dict[str, OutcomeResult]:
    from engine.rules.evaluator import and2

    results: dict[str, OutcomeResult] = {}
    rules = ev.rules
    for code in ev.compiled.outcome_codes:
        if code not in rules:  # an outcome for a need the framework does not define
            continue
        applicable, member_values = identified_need(ev, code)
        achieved_rule, sustained_rule = rules[f"{code}.achieved"], rules.get(f"{code}.sustained")
        if applicable == NOT_MET:
            results[code] = OutcomeResult(code, NOT_MET, _not_identified(ev, achieved_rule, code),
                                          _not_identified(ev, sustained_rule, code), NOT_MET)
            continue
        achieved = ev.rule_result(achieved_rule.name, None)
        sustained = ev.rule_result(sustained_rule.name, None) if sustained_rule else None
        value = achieved.value if sustained is None else and2(achieved.value, sustained.value)
        members: dict[str, dict[str, TriResult]] = {}
        if achieved_rule.subject == "person":
            for pid, had in member_values.items():
                if had == NOT_MET or (achieved_rule.name, pid) not in ev.memo:
                    continue
                members[pid] = {"achieved": ev.memo[(achieved_rule.name, pid)]}
                if sustained_rule is not None and (sustained_rule.name, pid) in ev.memo:
                    members[pid]["sustained"] = ev.memo[(sustained_rule.name, pid)]
        results[code] = OutcomeResult(code, applicable, achieved, sustained, value, members)
    return results


def had_and_achieved(had: str, value: str) -> str:
    """A member's share of "every member who had the need achieves the outcome": not (had) or outcome,
    where a member with the need unknown counts as possibly having it."""
    return MET if value == MET else (NOT_MET if had == MET and value == NOT_MET else UNKNOWN)


def all_outcomes(ev: Evaluation, part: str) -> str:
    """Every identified need has its outcome achieved (``part="achieved"``) or achieved and sustained."""
    outcomes = ev.outcome_results()
    surely_identified = False
    values = []
    for need in ev.compiled.needs:
        identified = identified_need(ev, need.name)[0]
        if identified == NOT_MET:
            continue
        surely_identified = surely_identified or identified == MET
        outcome = outcomes.get(need.name)
        if outcome is None:
            ev.unknown(f"need {need.name} has no outcome rule")
            values.append(NOT_MET if identified == MET else UNKNOWN)
            continue
        value = outcome.achieved.value if part == "achieved" else outcome.value
        if value == UNKNOWN or identified == UNKNOWN:
            ev.collector.reasons.extend(outcome.achieved.unknowns)
            if outcome.sustained is not None:
                ev.collector.reasons.extend(outcome.sustained.unknowns)
        values.append(NOT_MET if value == NOT_MET and identified == MET else (MET if value == MET else UNKNOWN))
    if not values:
        if ev.trace:
            ev.detail = "no needs identified"
        return NOT_MET
    if NOT_MET in values:
        return NOT_MET
    if UNKNOWN in values:
        return UNKNOWN
    if not surely_identified:
        ev.unknown("no need is surely identified, so there may be nothing to claim for")
        return UNKNOWN
    return MET
