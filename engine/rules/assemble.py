"""The whole family's result: every need, headline, outcome, score, role and helper rule, gathered from one
:class:`~engine.rules.evaluator.Evaluation` (whose memo makes each rule run once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.rules.results import UNKNOWN, FamilyResult, NeedResult, TriResult
from engine.rules.scoring import headline_results, score_results

if TYPE_CHECKING:
    from engine.rules.evaluator import Evaluation


def _top(ev: Evaluation, name: str, missing: str) -> TriResult:
    if name in ev.rules:
        return ev.rule_result(name, None)
    return TriResult(UNKNOWN, name, name, unknowns=[missing])


def family_result(ev: Evaluation) -> FamilyResult:
    compiled = ev.compiled
    header = compiled.framework.header
    family_definition = _top(ev, "family_definition", "the framework has no family definition")
    needs = {}
    for need in compiled.needs:
        result = ev.rule_result(need.name, None)
        members = ev.need_members(need.name) if need.subject == "person" else {}
        needs[need.name] = NeedResult(need.name, need.description or need.name, need.headline, need.subject,
                                      result, members, need.local)
    headlines = headline_results(compiled.framework, needs)
    eligible = _top(ev, "eligible", "the framework has no eligibility rule")
    outcomes = ev.outcome_results()
    claimable = _top(ev, "claimable", "the framework has no claim rule")
    rule_result = ev.rule_result
    roles = {m.person_id: {name: rule_result(name, m.person_id).value for name in compiled.role_names}
             for m in ev.members}
    rules = {name: rule_result(name, None) for name in compiled.family_helpers}
    person_rules = {m.person_id: {name: rule_result(name, m.person_id).value for name in compiled.person_helpers}
                    for m in ev.members}
    return FamilyResult(
        family_id=ev.family.family_id, as_of=ev.as_of, framework_id=header.id,
        framework_version=header.version, framework_hash=compiled.hash,
        family_definition=family_definition, needs=needs, headlines=headlines, eligible=eligible,
        outcomes=outcomes, claimable=claimable,
        scores=score_results(compiled.framework, needs, headlines), roles=roles, rules=rules,
        person_rules={pid: r for pid, r in person_rules.items() if r},
        overrides=sorted(ev.applied.values(), key=lambda o: (o.rule, o.person_id or "")),
        identified_as_of=ev.identified_on,
    )


__all__ = ["family_result"]
