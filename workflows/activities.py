"""The case workflow's only I/O: guard evaluation by the rules engine, the audit trail, claims.

Activities are at-least-once (a worker may die after its commit and before reporting), so each write
is idempotent on a key the workflow makes deterministically: ``(case_id, seq)`` for audit entries,
``<case id>:claim`` for the claim, which is also unique per ``(family_id, phase)``.

Dependencies are injected so the same activities serve the worker (database snapshot, real
evaluator) and tests (families built in the test, the same real evaluator).
"""

from __future__ import annotations

import inspect
import json
import threading
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any, Callable, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from temporalio import activity
from temporalio.exceptions import ApplicationError

from engine.rules.inputs import CaseDates, FamilyInput
from engine.rules.ir import Framework
from engine.storage.tables_cases import case_audit, cases, claims
from workflows.models import AuditBatch, ClaimRecord, ClaimWritten, GuardRequest, GuardResult

#: month the council's claim year starts (the financial year: April)
CAP_YEAR_START_MONTH = 4


class FamilyLoader(Protocol):
    def __call__(self, engine: sa.Engine, family_id: str, as_of: date) -> FamilyInput | None: ...


GuardEvaluator = Callable[[Framework, FamilyInput, date, list[str]], GuardResult]


def naive_utc(moment: datetime) -> datetime:
    """Timestamps are stored as naive UTC (as the decisions tables do)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def cap_year(moment: datetime) -> int:
    """The claim year a moment falls in: the year in which that financial year starts."""
    return moment.year if moment.month >= CAP_YEAR_START_MONTH else moment.year - 1


def insert_for(engine: sa.Engine, table: sa.Table):
    """A dialect insert supporting ``ON CONFLICT`` (SQLite and PostgreSQL)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# --------------------------------------------------------------------------------------------------
# Guard evaluation with the rules engine


def _all_outcomes(result: Any, attribute: str) -> str:
    """Three-valued AND over the outcomes of the family's identified needs."""
    values = []
    for outcome in result.outcomes.values():
        if outcome.applicable == "not_met":
            continue
        part = outcome.achieved.value if attribute == "achieved" else outcome.value
        values.append("unknown" if outcome.applicable == "unknown" and part != "not_met" else part)
    if not values or "not_met" in values:
        return "not_met"
    return "unknown" if "unknown" in values else "met"


def guard_value(result: Any, guard: str) -> tuple[str, list[str]]:
    """A guard's value from a ``FamilyResult``: a top-level result, an outcome, a need, or a role."""
    named = {"eligible": result.eligible, "claimable": result.claimable,
             "family_definition": result.family_definition}
    if guard in named:
        return named[guard].value, list(named[guard].unknowns)
    if guard in ("all_outcomes_achieved", "all_outcomes_sustained"):
        return _all_outcomes(result, "achieved" if guard.endswith("achieved") else "sustained"), []
    need, _, part = guard.partition(".")
    if need in result.outcomes and part in ("achieved", "sustained"):
        tri = getattr(result.outcomes[need], part)
        return (tri.value, list(tri.unknowns)) if tri is not None else ("unknown", [f"{guard} is not defined"])
    if guard in result.needs:
        return result.needs[guard].value, list(result.needs[guard].result.unknowns)
    raise ApplicationError(
        f"guard {guard!r} is not a result of this framework: use eligible, claimable, all_outcomes_achieved, "
        f"all_outcomes_sustained, a need code or NEED.achieved / NEED.sustained",
        type="UnknownGuard", non_retryable=True,
    )


class RulesEngineGuards:
    """Evaluates guards with the real evaluator, compiling each framework once per content hash."""

    def __init__(self) -> None:
        self._compiled: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, framework: Framework, family: FamilyInput, as_of: date, guards: list[str]) -> GuardResult:
        from engine.rules.evaluator import compile_framework

        key = framework.content_hash()
        with self._lock:
            if key not in self._compiled:
                self._compiled[key] = compile_framework(framework)
            compiled = self._compiled[key]
        result = compiled.evaluate(family, as_of)
        values, reasons = {}, {}
        for guard in guards:
            values[guard], why = guard_value(result, guard)
            if why:
                reasons[guard] = sorted(set(why))
        return GuardResult(values=values, reasons=reasons)


def snapshot_family_loader(engine: sa.Engine, family_id: str, as_of: date) -> FamilyInput | None:
    """One family from the integrated database (:func:`engine.integrate.snapshot.load_families`)."""
    from engine.integrate.snapshot import load_families

    params = inspect.signature(load_families).parameters
    families = (load_families(engine, as_of, None, family_ids=[family_id]) if "family_ids" in params
                else load_families(engine, as_of, None))
    return next((f for f in families if f.family_id == family_id), None)


# --------------------------------------------------------------------------------------------------
# The activities


class CaseActivities:
    """The activities a case worker registers (``CaseActivities(...).all()``)."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        family_loader: FamilyLoader = snapshot_family_loader,
        guard_evaluator: GuardEvaluator | None = None,
        claim_cap: int | None = None,
    ) -> None:
        self.engine = engine
        self.family_loader = family_loader
        self.guard_evaluator = guard_evaluator or RulesEngineGuards()
        self.claim_cap = claim_cap
        self._frameworks: dict[str, Framework] = {}
        # SQLite (pysqlite) reads outside a transaction, so the cap count and the insert are serialised
        # here for this process; PostgreSQL also takes an advisory lock across processes.
        self._claim_lock = threading.Lock()

    def all(self) -> list[Callable[..., Any]]:
        return [self.evaluate_guards, self.write_audit, self.write_claim]

    def framework(self, framework_hash: str) -> Framework:
        if framework_hash not in self._frameworks:
            from engine.decisions.store import load_stored_framework

            try:
                with self.engine.connect() as conn:
                    self._frameworks[framework_hash] = load_stored_framework(conn, framework_hash)
            except LookupError as exc:
                raise ApplicationError(str(exc), type="FrameworkNotStored", non_retryable=True) from exc
        return self._frameworks[framework_hash]

    @activity.defn(name="evaluate_guards")
    def evaluate_guards(self, req: GuardRequest) -> GuardResult:
        framework = self.framework(req.framework_hash)
        family = self.family_loader(self.engine, req.family_id, req.as_of)
        if family is None:
            raise ApplicationError(
                f"family {req.family_id} is not in the integrated data as of {req.as_of}",
                type="FamilyNotFound", non_retryable=True,
            )
        family = replace(family, case=CaseDates(identified=req.identified_on, attached=req.attached_on,
                                                closed=req.closed_on))
        return self.guard_evaluator(framework, family, req.as_of, list(req.guards))

    @activity.defn(name="write_audit")
    def write_audit(self, batch: AuditBatch) -> int:
        """Append the entries (ignoring ones already written) and refresh the case row."""
        rows = [
            {"case_id": batch.case_id, "seq": e.seq, "kind": e.kind, "name": e.name, "from_state": e.from_state,
             "to_state": e.to_state, "actor": e.actor, "role": e.role, "reason": e.reason,
             "decision_id": e.decision_id, "at": naive_utc(e.at), "details": json.dumps(e.details, sort_keys=True)}
            for e in batch.entries
        ]
        summary = {"state": batch.state, "flags": json.dumps(batch.flags), "lead_practitioner": batch.lead_practitioner,
                   "closure_reason": batch.closure_reason, "updated_at": naive_utc(max(e.at for e in batch.entries))}
        with self.engine.begin() as conn:
            written = conn.execute(
                insert_for(self.engine, case_audit).on_conflict_do_nothing(index_elements=["case_id", "seq"]), rows
            ).rowcount if rows else 0
            new_case = {"case_id": batch.case_id, "family_id": batch.family_id, "framework_id": batch.framework_id,
                        "phase": batch.phase, "framework_hash": batch.framework_hash,
                        "opened_at": naive_utc(batch.opened_at), **summary}
            conn.execute(insert_for(self.engine, cases).values(new_case)
                         .on_conflict_do_update(index_elements=["case_id"], set_=summary))
        return max(written, 0)

    @activity.defn(name="write_claim")
    def write_claim(self, rec: ClaimRecord) -> ClaimWritten:
        """Insert the claim once; a retry of a committed attempt returns the same claim."""
        year = cap_year(rec.claimed_at)
        row = {**rec.model_dump(), "claimed_at": naive_utc(rec.claimed_at), "cap_year": year}
        with self._claim_lock, self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # one claim writer at a time, so the cap count and the insert cannot interleave
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('hearth-claims'))"))
            mine = conn.execute(sa.select(claims.c.attempts).where(claims.c.claim_id == rec.claim_id)).first()
            if mine is not None:
                conn.execute(claims.update().where(claims.c.claim_id == rec.claim_id)
                             .values(attempts=claims.c.attempts + 1))
                return ClaimWritten(claim_id=rec.claim_id, cap_year=year, attempts=mine.attempts + 1)
            other = conn.execute(sa.select(claims.c.claim_id).where(
                claims.c.family_id == rec.family_id, claims.c.phase == rec.phase)).first()
            if other is not None:
                raise ApplicationError(
                    f"family {rec.family_id} already has a phase {rec.phase} claim ({other.claim_id})",
                    type="ClaimConflict", non_retryable=True,
                )
            if self.claim_cap is not None:
                used = conn.execute(sa.select(sa.func.count()).select_from(claims)
                                    .where(claims.c.cap_year == year)).scalar_one()
                if used >= self.claim_cap:
                    raise ApplicationError(
                        f"the council's annual claim cap of {self.claim_cap} for {year}/{year + 1 - 2000:02d} "
                        f"is reached ({used} claims); raise it in the worker's --claim-cap if the grant allows",
                        type="ClaimCapReached", non_retryable=True,
                    )
            conn.execute(claims.insert().values(row))
        return ClaimWritten(claim_id=rec.claim_id, cap_year=year, attempts=1)
