"""The Payment by Results claim file for a period, and an audit pack per claim.

``export_claims`` reads only the database (claims, cases, the append-only ``case_audit`` and, when the
rules engine recorded them, ``decisions``), so a claim can be evidenced long after its workflow history
has passed the namespace's retention.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.errors import ConfigError
from engine.storage.tables_cases import case_audit, cases, claims

CSV_COLUMNS = (
    "claim_reference", "family_id", "framework_id", "phase", "framework_hash", "claimed_on", "attached_on",
    "lead_practitioner", "requested_by", "signed_off_by", "decision_id", "audit_pack",
)


@dataclass
class ExportReport:
    csv_path: Path
    claims: int
    audit_packs: list[Path] = field(default_factory=list)


def _jsonable(row: sa.Row) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row._mapping.items():
        if isinstance(value, (date, datetime)):
            value = value.isoformat()
        elif key in ("details", "flags", "person_ids", "override_ids") and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out


def _latest_decision_id(conn: sa.Connection, case: sa.Row, claim: sa.Row) -> str | None:
    """The family's profiling decision the claim rests on: under the case's framework, known when it was
    claimed, as of the latest date no later than the claim's (a run as of a later date decides a later
    state of the family), the last recorded for that date."""
    from engine.storage.tables_decisions import decisions

    if not sa.inspect(conn).has_table("decisions"):
        return None
    return conn.execute(
        sa.select(decisions.c.decision_id).where(
            decisions.c.family_id == case.family_id, decisions.c.framework_hash == case.framework_hash,
            decisions.c.known_at <= claim.claimed_at, decisions.c.as_of <= claim.claimed_at.date())
        .order_by(decisions.c.as_of.desc(), decisions.c.seq.desc()).limit(1)).scalar()


def _decision_records(conn: sa.Connection, case: sa.Row, claim: sa.Row) -> list[dict[str, Any]]:
    """The profiling decisions behind the case: the one that opened it and the latest for its
    framework up to the claim; empty when the rules engine has recorded none."""
    from engine.decisions.records import stored_result
    from engine.storage.tables_decisions import decisions

    if not sa.inspect(conn).has_table("decisions"):
        return []
    ids = {case.opening_decision_id, claim.decision_id, _latest_decision_id(conn, case, claim)} - {None}
    rows = conn.execute(sa.select(decisions).where(decisions.c.decision_id.in_(sorted(ids)))
                        .order_by(decisions.c.seq)).all()
    records = []
    for row in rows:
        record = {k: v for k, v in _jsonable(row).items() if not isinstance(v, bytes)}
        record["result"] = stored_result(row, conn)
        records.append(record)
    return records


def overrides_applied(conn: sa.Connection, decision_records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The human overrides the decisions applied, as recorded now: who set each, in which role, when and
    why, and who revoked it since (an auditor sees at once whether a claim rests on one)."""
    from engine.decisions.overrides import overrides_by_id

    applied = (i for record in decision_records for i in record.get("override_ids") or ())
    return [o.to_dict() for o in overrides_by_id(conn, applied)]


def audit_pack(conn: sa.Connection, claim: sa.Row) -> dict[str, Any]:
    case = conn.execute(sa.select(cases).where(cases.c.case_id == claim.case_id)).one()
    trail = conn.execute(sa.select(case_audit).where(case_audit.c.case_id == claim.case_id)
                         .order_by(case_audit.c.seq)).all()
    steps = [_jsonable(r) for r in trail]
    decisions = _decision_records(conn, case, claim)
    return {
        "claim": _jsonable(claim),
        "case": _jsonable(case),
        "transitions": [s for s in steps if s["kind"] in ("opened", "transition")],
        "evidence": [s for s in steps if s["kind"] == "evidence"],
        "timeline": steps,
        "decisions": decisions,
        "overrides": overrides_applied(conn, decisions),
    }


def export_claims(engine: sa.Engine, period_start: date, period_end: date, out: Path) -> ExportReport:
    """Write ``pbr-claims-<start>-<end>.csv`` and ``audit/<claim>.json`` for claims made in the period
    (both dates inclusive)."""
    if period_end < period_start:
        raise ConfigError(f"--period-end {period_end} is before --period-start {period_start}; swap them")
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit").mkdir(exist_ok=True)
    start = datetime.combine(period_start, time.min)
    end = datetime.combine(period_end + timedelta(days=1), time.min)
    csv_path = out / f"pbr-claims-{period_start.isoformat()}-{period_end.isoformat()}.csv"
    report = ExportReport(csv_path, 0)
    with engine.connect() as conn, open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        rows = conn.execute(sa.select(claims).where(claims.c.claimed_at >= start, claims.c.claimed_at < end)
                            .order_by(claims.c.claimed_at, claims.c.claim_id)).all()
        for claim in rows:
            pack_path = out / "audit" / (re.sub(r"[^A-Za-z0-9_.-]", "_", claim.claim_id) + ".json")
            pack = audit_pack(conn, claim)
            pack_path.write_text(json.dumps(pack, indent=2, sort_keys=True))
            report.audit_packs.append(pack_path)
            writer.writerow({
                "claim_reference": claim.claim_id, "family_id": claim.family_id,
                "framework_id": claim.framework_id, "phase": claim.phase, "framework_hash": claim.framework_hash,
                "claimed_on": claim.claimed_at.date().isoformat(),
                "attached_on": claim.attached_on.isoformat() if claim.attached_on else "",
                "lead_practitioner": claim.lead_practitioner or "", "requested_by": claim.requested_by or "",
                "signed_off_by": claim.signed_off_by,
                # the decision an auditor replays: the one the claim named, else the latest it rests on
                # (the pack's decisions are in order, the latest under the case's framework last)
                "decision_id": claim.decision_id or (pack["decisions"][-1]["decision_id"] if pack["decisions"] else ""),
                "audit_pack": str(pack_path.relative_to(out)),
            })
            report.claims += 1
    return report
