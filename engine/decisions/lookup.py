"""Find and explain a family's decision: the latest recorded one, or a fresh evaluation.

A recorded decision is explained from its stored result JSON and stored framework, so an auditor sees
the decision exactly as it was made, with the evidence it recorded, whatever has been loaded since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from engine.decisions.evaluate import compile_for, evaluate_one
from engine.decisions.overrides import OverrideRecord, overrides_by_id, overrides_in_force
from engine.decisions.profile import FamilyLoader, default_loader
from engine.decisions.records import (
    canonical_json, decision_row, known_family_ids, latest_decision_row, stored_result, utc_naive, utc_now,
)
from engine.decisions.rehydrate import result_from_dict
from engine.decisions.replay import load_family, unknown_decision_message
from engine.decisions.store import load_stored_framework
from engine.errors import ConfigError, NotAuthorisedError, NotFoundError
from engine.rules.inputs import FamilyInput
from engine.rules.ir import Framework
from engine.rules.results import FamilyResult


def did_you_mean(value: str, candidates: list[str]) -> str:
    """`` did you mean 'F0012'?`` when a candidate is close to ``value`` (empty otherwise)."""
    from rapidfuzz import process

    match = process.extractOne(value, candidates, score_cutoff=70) if candidates else None
    return f"; did you mean {match[0]!r}?" if match else ""


@dataclass
class Explained:
    """A family's result with its plain-English explanation and where it came from."""

    family_id: str
    result: FamilyResult
    result_dict: dict[str, Any]
    text: str
    framework: Framework
    decision: dict[str, Any] | None = None
    overrides: list[OverrideRecord] = field(default_factory=list)

    def heading(self) -> str:
        fw = self.framework.header
        if self.decision:
            d = self.decision
            return (f"Decision {d['decision_id']} (run {d['run_id']}) for family {self.family_id}: as of {d['as_of']}, "
                    f"knowledge at {d['known_at']} UTC, framework {fw.id} {fw.version} "
                    f"[{d['framework_hash'][:12]}], engine {d['engine_version']}"
                    + (f"\nSub-criteria: {d['tree']}" if d.get("tree") else ""))
        return (f"Fresh evaluation (not recorded) for family {self.family_id} as of {self.result.as_of}, "
                f"framework {fw.id} {fw.version}")

    def override_lines(self) -> list[str]:
        """Each override the decision applied; one revoked since says so (it was in force for the decision)."""
        return [f"Human {o.describe()}." + (f" Since {o.describe_revocation()}." if o.revoked_at else "")
                for o in self.overrides]

    def to_dict(self) -> dict[str, Any]:
        return {
            "family_id": self.family_id,
            "decision": self.decision,
            "recorded": self.decision is not None,
            "result": self.result_dict,
            "overrides": [o.to_dict() for o in self.overrides],
            "explanation": self.text,
            "explanation_tree": explain_json(self.result, self.framework),
        }


def _explain_text(result: FamilyResult, framework: Framework) -> str:
    from engine.rules.explain import explain

    return explain(result, framework)


def explain_json(result: FamilyResult, framework: Framework) -> dict[str, Any]:
    from engine.rules.explain import explain_json as tree

    return tree(result, framework)


def _decision_info(row: sa.Row) -> dict[str, Any]:
    return {
        "decision_id": row.decision_id, "run_id": row.run_id, "framework_hash": row.framework_hash,
        "engine_version": row.engine_version, "as_of": row.as_of.isoformat(),
        "known_at": utc_naive(row.known_at).isoformat(), "record_hash": row.record_hash,
        "person_ids": json.loads(row.person_ids),
    }


def explain_recorded(engine: sa.Engine, family_id: str, loader: FamilyLoader | None = None,
                     as_of: date | None = None, decision_id: str | None = None) -> Explained:
    """The latest recorded decision for ``family_id`` (as of ``as_of`` when given), or the family's decision
    ``decision_id`` (the one a claim cites, say), explained as made.

    A decision recorded without its sub-criteria tree (the default for bulk runs) is re-evaluated with
    the tree from its stored framework and knowledge state; the tree is shown only when the re-evaluation
    reproduces the record byte for byte, otherwise the record itself is explained with a warning.
    """
    with engine.connect() as conn:
        row = _chosen_row(conn, family_id, decision_id) if decision_id else latest_decision_row(conn, family_id, as_of)
        if row is None:
            raise NotFoundError(_no_family_message(conn, family_id))
        framework = load_stored_framework(conn, row.framework_hash)
        records = overrides_by_id(conn, json.loads(row.override_ids))
        data = stored_result(row, framework, conn)
    result = None
    info = _decision_info(row)
    if not row.traced:
        from engine.decisions.replay import record_differences, reevaluate

        traced, plain = reevaluate(engine, row, loader, (True, False), framework)
        with engine.connect() as conn:
            differs = record_differences(row, plain, framework, conn)
        if not differs:
            result = traced
            info["tree"] = "re-derived from the stored framework and knowledge state; matches the record exactly"
        else:
            info["tree"] = (f"WARNING: re-evaluation no longer reproduces {row.decision_id} (see `hearth replay "
                            f"{row.decision_id}`); showing the recorded rule results without sub-criteria")
    if result is None:  # the record itself (traced, or not reproduced): rebuilt from what was stored
        result = result_from_dict(data)
    return Explained(family_id, result, data, _explain_text(result, framework), framework, info, records)


def _chosen_row(conn: sa.Connection, family_id: str, decision_id: str) -> sa.Row:
    row = decision_row(conn, decision_id)
    if row is None:
        raise NotFoundError(unknown_decision_message(conn, decision_id))
    if row.family_id != family_id:
        raise NotFoundError(f"decision {decision_id} is about family {row.family_id}, not {family_id}: "
                            f"run `hearth explain {row.family_id} --decision {decision_id}`")
    return row


def explain_fresh(
    engine: sa.Engine,
    family_id: str,
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
    framework: Framework | None = None,
    loader: FamilyLoader | None = None,
) -> Explained:
    """Evaluate ``family_id`` now (not recorded), with the given framework or its latest decision's."""
    with engine.connect() as conn:
        row = latest_decision_row(conn, family_id)
        if framework is None:
            if row is None:
                raise ConfigError(
                    f"family {family_id!r} has no recorded decision to take a framework from; "
                    "pass --framework PATH to evaluate it fresh"
                )
            framework = load_stored_framework(conn, row.framework_hash)
        moment = utc_naive(known_at) if known_at else utc_now()
        applied = overrides_in_force(conn, moment, [family_id]).get(family_id, ())
    day = as_of or (row.as_of if row is not None else date.today())
    family = family_as_known(engine, family_id, day, moment, loader)
    result = evaluate_one(compile_for(framework), family, day, applied)
    data = json.loads(canonical_json(result.to_dict()))
    return Explained(family_id, result, data, _explain_text(result, framework), framework, None, list(applied))


def family_as_known(engine: sa.Engine, family_id: str, as_of: date, known_at: datetime,
                    loader: FamilyLoader | None = None) -> FamilyInput:
    """The family with its members on ``as_of`` as known at ``known_at`` (as a profile run's snapshot
    holds it), or a NotFoundError naming the closest family id that has members then."""
    family = load_family(loader or default_loader(), engine, as_of, known_at, family_id)
    if family is None:
        from engine.integrate.snapshot import families_on_date

        known = families_on_date(engine, as_of, known_at)
        raise NotFoundError(
            f"family {family_id!r} has no members on {as_of} in what was known at {known_at:%Y-%m-%d %H:%M} UTC"
            f"{did_you_mean(family_id, known)}"
        )
    return family


def explain_family(
    engine: sa.Engine,
    family_id: str,
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
    framework: Framework | None = None,
    loader: FamilyLoader | None = None,
    decision_id: str | None = None,
) -> Explained:
    """The latest recorded decision (for ``as_of`` when given) unless a knowledge time or framework is
    given or nothing is recorded for that date; otherwise a fresh evaluation, not recorded. With
    ``decision_id``, that recorded decision of the family (nothing else may be given then)."""
    if decision_id is not None:
        given = [name for name, value in (("--as-of", as_of), ("--known-at", known_at), ("--framework", framework))
                 if value is not None]
        if given:
            raise ConfigError(f"--decision explains a recorded decision as it was made (its own date, knowledge "
                              f"time and framework); drop {', '.join(given)}, or drop --decision for a fresh "
                              "evaluation")
        return explain_recorded(engine, family_id, loader, decision_id=decision_id)
    if known_at is None and framework is None:
        if as_of is None:
            return explain_recorded(engine, family_id, loader)
        with engine.connect() as conn:
            recorded = latest_decision_row(conn, family_id, as_of) is not None
        if recorded:
            return explain_recorded(engine, family_id, loader, as_of)
    return explain_fresh(engine, family_id, as_of=as_of, known_at=known_at, framework=framework, loader=loader)


def rule_names(framework: Framework) -> list[str]:
    """Every name an override can replace in ``framework``."""
    names = {r.name for r in framework.roles} | {r.name for r in framework.rules} | {n.name for n in framework.needs}
    names |= {f"{o.need}.achieved" for o in framework.outcomes}
    names |= {f"{o.need}.sustained" for o in framework.outcomes if o.sustained is not None}
    if framework.claim is not None:
        names |= {r.name for r in framework.claim.alternatives} | {"claimable"}
    if framework.eligibility is not None:
        names |= {"eligible", "family_definition", "eligibility_condition"}
    return sorted(names)


def override_scope(framework: Framework, rule: str) -> str:
    """Whom an override of ``rule`` (one of :func:`rule_names`) replaces a result for: "person" (a role or a
    person-level rule: a member's), "family", or "either" (a person-level need or outcome part: a member's
    result, or the family's that combines them)."""
    part = rule.rsplit(".", 1)[0] if rule.endswith((".achieved", ".sustained")) else None
    if part is not None:
        outcome = next((o for o in framework.outcomes if o.need == part), None)
        return "either" if outcome is not None and outcome.subject == "person" else "family"
    if framework.role(rule) is not None:
        return "person"
    need = framework.need(rule)
    if need is not None:
        return "either" if need.subject == "person" else "family"
    derived = next((r for r in framework.rules if r.name == rule), None)
    return derived.subject if derived is not None else "family"


def _check_member(row: sa.Row, framework: Framework, family_id: str, rule: str, person_id: str | None) -> None:
    """Refuse ``--person`` for a rule decided for the whole family or for somebody not in the family, and
    its absence for a rule decided member by member (the override would replace nothing)."""
    members = json.loads(row.person_ids)
    scope = override_scope(framework, rule)
    listed = ", ".join(members[:12]) + (" ..." if len(members) > 12 else "")
    if person_id is None:
        if scope == "person":
            raise ConfigError(f"{rule!r} is decided for each member, not for the family: pass --person PERSON_ID "
                              f"(family {family_id}'s members in {row.decision_id}: {listed})")
        return
    if scope == "family":
        raise ConfigError(f"{rule!r} is decided for the whole family, not for one member: drop --person {person_id}")
    if person_id not in members:
        raise NotFoundError(f"person {person_id!r} is not a member of family {family_id} in its latest decision "
                            f"{row.decision_id}{did_you_mean(person_id, members)}; its members: {listed}")


def check_override_target(engine: sa.Engine, family_id: str, rule: str | None, role: str,
                          person_id: str | None = None) -> None:
    """Refuse an override (``rule`` None: the revocation of one) for a family never profiled, for a rule
    its framework does not have, for a member the rule is not decided for (``person_id``), or by a role
    that framework's lifecycle does not authorise (``overrides by ROLE, ...``): the framework of the
    family's latest decision is the one in force."""
    with engine.connect() as conn:
        row = latest_decision_row(conn, family_id)
        if row is None:
            raise NotFoundError(_no_family_message(conn, family_id) + "; overrides are checked against the "
                                "framework of the family's latest decision")
        framework = load_stored_framework(conn, row.framework_hash)
    used = f"framework {framework.header.id} {framework.header.version} (used by {row.decision_id})"
    names = rule_names(framework)
    if rule is not None and rule not in names:
        raise ConfigError(
            f"rule {rule!r} is not in {used}{did_you_mean(rule, names)}; overridable rules are needs, roles, named "
            "rules, NEED.achieved / NEED.sustained, eligible, family_definition and claimable"
        )
    if rule is not None:
        _check_member(row, framework, family_id, rule, person_id)
    allowed = framework.lifecycle.override_roles if framework.lifecycle is not None else ()
    if not allowed:
        raise NotAuthorisedError(
            f"{used} names no role that may override a criterion's result; a policy lead adds "
            "`overrides by ROLE, ...` to its lifecycle (see docs/language.md), then the families are profiled again")
    role = role.strip()
    if role not in allowed:
        raise NotAuthorisedError(
            f"role {role!r} may not override or revoke overrides under {used}; its lifecycle authorises: "
            f"{', '.join(allowed)}{did_you_mean(role, allowed)}")


def _no_family_message(conn: sa.Connection, family_id: str) -> str:
    known = known_family_ids(conn)
    if not known:
        return (f"no decision recorded for family {family_id!r}: nothing has been profiled yet; run "
                "`hearth profile --framework PATH --as-of DATE` (or pass --as-of/--framework to evaluate fresh)")
    return (f"no decision recorded for family {family_id!r}{did_you_mean(family_id, known)} "
            f"({len(known)} families have decisions)")
