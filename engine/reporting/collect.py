"""Gather :class:`ReportData` from the database: feeds, matching, the latest profiling run, cases, claims.

Each part reads only the tables its area owns (through the shared metadata), so a database where some
stage has not run yet still gives a report, with those charts empty.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timezone

import sqlalchemy as sa

from engine.reporting.model import (
    Count, FeedReconciliation, MatchingQuality, OverrideLine, ReportData, TrendPoint,
)
from engine.storage.db import import_all_tables, metadata


def _table(name: str) -> sa.Table | None:
    import_all_tables()
    return metadata.tables.get(name)


_ROW_PREFIX = re.compile(r"^row \d+:\s*")


def reason_kind(reason: str) -> str:
    """The kind of a quarantine reason, for the summary: reasons name the row and the values
    ("row 12: schema: required column 'dob' is missing"), the kind is what they share ("schema")."""
    return _ROW_PREFIX.sub("", reason).split(":")[0].strip()[:80]


def collect_feeds(conn: sa.Connection) -> list[FeedReconciliation]:
    batches, quarantine = _table("batches"), _table("quarantine")
    if batches is None:
        return []
    rows = conn.execute(
        sa.select(
            batches.c.feed, sa.func.count(), sa.func.sum(batches.c.rows_in), sa.func.sum(batches.c.accepted),
            sa.func.sum(batches.c.quarantined),
        ).group_by(batches.c.feed).order_by(batches.c.feed)
    ).all()
    reasons: dict[str, list[tuple[str, int]]] = defaultdict(list)
    if quarantine is not None:
        for feed, reason, n in conn.execute(
            sa.select(quarantine.c.feed, quarantine.c.reason, sa.func.count())
            .where(quarantine.c.severity == "rejected")
            .group_by(quarantine.c.feed, quarantine.c.reason)
            .order_by(sa.func.count().desc())
        ):
            reasons[feed].append((reason_kind(str(reason)), int(n)))
    out = []
    for feed, nbatches, rows_in, accepted, quarantined in rows:
        merged: Counter[str] = Counter()
        for reason, n in reasons.get(feed, []):
            merged[reason] += n
        out.append(FeedReconciliation(
            feed=feed, batches=nbatches, rows_in=int(rows_in or 0), accepted=int(accepted or 0),
            quarantined=int(quarantined or 0), top_reasons=merged.most_common(3),
        ))
    return out


def collect_matching(conn: sa.Connection) -> MatchingQuality:
    quality = MatchingQuality()
    records = _table("source_records")
    if records is not None:
        quality.source_records = conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one()
    persons = _table("persons")
    if persons is not None:
        query = sa.select(sa.func.count()).select_from(persons)
        if "retired_run" in persons.c:
            query = query.where(persons.c.retired_run.is_(None))
        quality.persons = conn.execute(query).scalar_one()
    review = _table("review_queue")
    if review is not None:
        # the queue is per match run: the latest run's pairs are the ones still waiting for a reviewer
        latest = sa.select(sa.func.max(review.c.run_id)).scalar_subquery()
        query = sa.select(sa.func.count()).select_from(review).where(review.c.run_id == latest)
        quality.review_queue = conn.execute(query).scalar_one()
    return quality


def _latest_run(conn: sa.Connection) -> sa.Row | None:
    runs = _table("decision_runs")
    if runs is None:
        return None
    return conn.execute(sa.select(runs).order_by(runs.c.as_of.desc(), runs.c.finished_at.desc()).limit(1)).first()


def collect_decisions(conn: sa.Connection, data: ReportData, headline_names: dict[str, str]) -> None:
    run = _latest_run(conn)
    decisions = _table("decisions")
    if run is None or decisions is None:
        return
    data.as_of = run.as_of
    need_counts: Counter[int] = Counter()
    by_headline: Counter[str] = Counter()
    eligibility: Counter[str] = Counter()
    rag: Counter[str] = Counter()
    from engine.decisions.records import decision_summary

    query = sa.select(decisions.c.decision_id, decisions.c.family_id, decisions.c.framework_hash,
                      decisions.c.result_zlib, decisions.c.override_ids).where(decisions.c.run_id == run.run_id)
    applied: set[int] = set()
    for row in conn.execute(query.order_by(decisions.c.seq)).fetchall():
        if row.override_ids not in (None, "", "[]"):
            applied.update(json.loads(row.override_ids))
        summary = decision_summary(row, conn)
        need_counts[len(summary.needs_met)] += 1
        for code in summary.headlines_met:
            by_headline[headline_names.get(code, code)] += 1
        eligibility[summary.eligible.replace("_", " ")] += 1
        if summary.scored:  # the first (primary) score drives the RAG chart
            rag[summary.rag or "unknown"] += 1
    data.families_total = sum(need_counts.values())
    top = max(need_counts, default=0)
    data.families_by_need_count = [Count(label=str(n) if n < 6 else "6+", value=need_counts[n]) for n in range(min(top, 5) + 1)]
    if top >= 6:
        data.families_by_need_count.append(Count(label="6+", value=sum(v for k, v in need_counts.items() if k >= 6)))
    data.families_by_headline = [Count(label=k, value=v) for k, v in by_headline.most_common()]
    data.eligibility = [Count(label=k, value=eligibility[k]) for k in ("met", "not met", "unknown")]
    data.rag = [Count(label=k, value=rag[k]) for k in ("red", "amber", "green", "unknown") if rag[k] or k != "unknown"]
    data.overrides = _overrides(conn, applied)


def _overrides(conn: sa.Connection, applied: set[int]) -> list[OverrideLine]:
    """The overrides with these ids, oldest first, as the report lists them."""
    from engine.decisions.overrides import overrides_by_id

    return [OverrideLine(override_id=o.override_id, family_id=o.family_id, person_id=o.person_id, rule=o.rule,
                         value=o.value, actor=o.actor, role=o.role, created_at=o.created_at, reason=o.reason,
                         revoked=o.describe_revocation())
            for o in overrides_by_id(conn, applied)]


def collect_cases(conn: sa.Connection, data: ReportData, *, claim_value: float, claims_cap: int | None) -> None:
    cases, claims, audit = _table("cases"), _table("claims"), _table("case_audit")
    if cases is None:
        return
    states = Counter(dict(conn.execute(sa.select(cases.c.state, sa.func.count()).group_by(cases.c.state)).all()))
    data.cases_by_state = [Count(label=k, value=v) for k, v in sorted(states.items())]
    total = sum(states.values())
    attached = 0
    if audit is not None:
        attached = conn.execute(
            sa.select(sa.func.count(sa.distinct(audit.c.case_id))).where(audit.c.to_state == "attached")
        ).scalar_one()
    data.claims_made = conn.execute(sa.select(sa.func.count()).select_from(claims)).scalar_one() if claims is not None else 0
    data.claims_value = data.claims_made * claim_value
    data.claims_cap = claims_cap
    data.funnel = [
        Count(label="eligible (identified)", value=total),
        Count(label="attached", value=attached),
        Count(label="claimed", value=data.claims_made),
    ]


def collect_trend(conn: sa.Connection) -> list[TrendPoint]:
    """Eligible families per profiling month; attachments and claims by the month they happened."""
    points: dict[str, TrendPoint] = {}
    runs = _table("decision_runs")
    if runs is not None:
        for as_of, met in conn.execute(sa.select(runs.c.as_of, runs.c.eligible_met).order_by(runs.c.as_of, runs.c.finished_at)):
            points.setdefault(as_of.strftime("%Y-%m"), TrendPoint(month=as_of.strftime("%Y-%m"))).eligible = int(met)
    audit, claims = _table("case_audit"), _table("claims")
    if audit is not None:
        for (at,) in conn.execute(sa.select(audit.c.at).where(audit.c.to_state == "attached")):
            points.setdefault(at.strftime("%Y-%m"), TrendPoint(month=at.strftime("%Y-%m"))).attached += 1
    if claims is not None:
        for (at,) in conn.execute(sa.select(claims.c.claimed_at)):
            points.setdefault(at.strftime("%Y-%m"), TrendPoint(month=at.strftime("%Y-%m"))).claimed += 1
    return [points[k] for k in sorted(points)]


def collect_report(
    engine: sa.Engine,
    *,
    framework_label: str = "",
    headline_names: dict[str, str] | None = None,
    claim_value: float = 800.0,
    claims_cap: int | None = None,
) -> ReportData:
    data = ReportData(framework=framework_label, generated_at=datetime.now(timezone.utc).replace(tzinfo=None))
    with engine.connect() as conn:
        data.feeds = collect_feeds(conn)
        data.matching = collect_matching(conn)
        collect_decisions(conn, data, headline_names or {})
        collect_cases(conn, data, claim_value=claim_value, claims_cap=claims_cap)
        data.trend = collect_trend(conn)
    return data
