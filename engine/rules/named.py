"""Every named rule a framework defines, with the condition it is decided by: the one listing the
evaluator compiles (:mod:`engine.rules.evaluator`) and the column-wise code reads (:mod:`engine.columns`).

Roles, helper rules and claim alternatives, needs, outcome parts (``NEED.achieved``/``NEED.sustained``),
and the top-level family definition, eligibility condition, eligibility (both of them) and claim."""

from __future__ import annotations

from dataclasses import dataclass

from engine.rules import ir


@dataclass(frozen=True)
class NamedRule:
    """``kind``: role, rule, need, outcome_achieved, outcome_sustained, family_definition,
    eligibility_condition, eligible, claimable. ``role``: a need's (or outcome's) role, if any."""

    name: str
    kind: str
    subject: str
    condition: ir.Expr
    span: ir.Span | None = None
    citations: tuple[ir.Citation, ...] = ()
    role: str | None = None


def named_rules(fw: ir.Framework) -> list[NamedRule]:
    """The framework's rules, in the order the evaluator compiles them."""
    found = [NamedRule(r.name, "role", "person", r.condition, r.span, r.citations) for r in fw.roles]
    for rule in list(fw.rules) + (list(fw.claim.alternatives) if fw.claim else []):
        found.append(NamedRule(rule.name, "rule", rule.subject, rule.condition, rule.span, rule.citations))
    for need in fw.needs:
        found.append(NamedRule(need.name, "need", need.subject, need.condition, need.span, need.citations,
                               need.role))
    for outcome in fw.outcomes:
        need = fw.need(outcome.need)
        role = outcome.role or (need.role if need else None)
        parts = [("achieved", outcome.achieved)] + ([("sustained", outcome.sustained)] if outcome.sustained else [])
        found += [NamedRule(f"{outcome.need}.{part}", f"outcome_{part}", outcome.subject, condition, outcome.span,
                            outcome.citations, role) for part, condition in parts]
    if fw.eligibility is not None:
        e = fw.eligibility
        both = ir.And(args=(ir.RuleRef(name="family_definition"), ir.RuleRef(name="eligibility_condition")))
        found += [NamedRule("family_definition", "family_definition", "family", e.family_definition, e.span,
                            e.citations),
                  NamedRule("eligibility_condition", "eligibility_condition", "family", e.condition, e.span,
                            e.citations),
                  NamedRule("eligible", "eligible", "family", both, e.span, e.citations)]
    if fw.claim is not None:
        found.append(NamedRule("claimable", "claimable", "family", fw.claim.condition, fw.claim.span,
                               fw.claim.citations))
    return found


__all__ = ["NamedRule", "named_rules"]
