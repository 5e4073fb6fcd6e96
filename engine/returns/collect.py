"""Gather the rows returns need: each case's family progress, and the cohort's people with identifiers.

The cohort is every family with a case (identified by profiling, whether or not attached): the NIS
comparison group includes families not yet receiving a service.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import sqlalchemy as sa

from engine.returns.rows import CohortPerson, FamilyProgress
from engine.storage.db import import_all_tables, metadata


def _tables(*names: str) -> list[sa.Table]:
    import_all_tables()
    return [metadata.tables[n] for n in names]


def _day(moment: datetime | date | None) -> date | None:
    return moment.date() if isinstance(moment, datetime) else moment


def latest_results(conn: sa.Connection) -> dict[str, dict]:
    """family id -> the result dict of its most recent decision (latest profiling run that included it),
    for the families with a case: returns are about the cohort, and expanding every family's record of
    a borough would hold gigabytes for nothing (6.7 GB at 100,000 residents)."""
    from engine.decisions.records import stored_result

    decisions, cases = _tables("decisions", "cases")
    latest = (
        sa.select(decisions.c.family_id, sa.func.max(decisions.c.seq).label("seq"))
        .where(decisions.c.family_id.in_(sa.select(cases.c.family_id)))
        .group_by(decisions.c.family_id)
    ).subquery()
    rows = conn.execute(
        sa.select(decisions.c.decision_id, decisions.c.family_id, decisions.c.framework_hash,
                  decisions.c.result_zlib).join(
            latest, sa.and_(latest.c.family_id == decisions.c.family_id, latest.c.seq == decisions.c.seq)
        )
    ).fetchall()
    return {r.family_id: stored_result(r, conn) for r in rows}


def family_progress(conn: sa.Connection, *, support_closed_state: str = "sustaining") -> list[FamilyProgress]:
    """One row per case: dates from the append-only audit trail, needs and RAG from the latest decision."""
    cases, audit, claims = _tables("cases", "case_audit", "claims")
    entered: dict[tuple[str, str], date] = {}
    for case_id, state, at in conn.execute(
        sa.select(audit.c.case_id, audit.c.to_state, audit.c.at).where(audit.c.to_state.is_not(None)).order_by(audit.c.at)
    ):
        entered.setdefault((case_id, state), at.date())
    claimed = {r.case_id: r.claimed_at.date() for r in conn.execute(sa.select(claims.c.case_id, claims.c.claimed_at))}
    results = latest_results(conn)
    out = []
    for case in conn.execute(sa.select(cases).order_by(cases.c.family_id)):
        result = results.get(case.family_id, {})
        needs = tuple(sorted(
            (code, need.get("headline", "")) for code, need in result.get("needs", {}).items()
            if need["result"]["value"] == "met"
        ))
        first_score = next(iter(result.get("scores", {}).values()), None)
        out.append(FamilyProgress(
            family_id=case.family_id,
            identified_on=_day(case.opened_at),
            attached_on=entered.get((case.case_id, "attached")),
            closed_on=entered.get((case.case_id, "closed")),
            closure_reason=case.closure_reason,
            outcomes_achieved_on=entered.get((case.case_id, support_closed_state)),
            claimed_on=claimed.get(case.case_id),
            state=case.state,
            needs=needs,
            eligible=result.get("eligible", {}).get("value", "unknown"),
            rag=first_score.get("rag") if first_score else None,
        ))
    return out


def cohort_people(conn: sa.Connection, family_ids: set[str], as_of: date) -> list[CohortPerson]:
    """Members (on ``as_of``) of the cohort's families, with their best-known identifiers."""
    from engine.integrate.persons import assign_persons

    memberships, records = _tables("family_memberships", "source_records")
    members = [
        (person, family) for person, family in conn.execute(
            sa.select(memberships.c.person_id, memberships.c.family_id).where(
                memberships.c.layer == "household", memberships.c.ended_build.is_(None),
                memberships.c.from_date <= as_of, sa.or_(memberships.c.to_date.is_(None), memberships.c.to_date > as_of),
            )
        ) if family in family_ids
    ]
    wanted = {person for person, _ in members}
    rows = conn.execute(sa.select(records)).all()
    person_of = assign_persons(conn, [r.record_key for r in rows]).person_of
    by_person: dict[str, list[sa.Row]] = defaultdict(list)
    for row in rows:
        person = person_of[row.record_key]
        if person in wanted:
            by_person[person].append(row)

    def best(person: str, column: str):
        # The most common non-empty value across the person's records (ties: alphabetical) is the best guess.
        values = [getattr(r, column) for r in by_person.get(person, []) if getattr(r, column)]
        return max(sorted(set(values), key=str), key=values.count) if values else None

    return [
        CohortPerson(
            person_id=person, family_id=family, given_name=best(person, "given_name_as_written") or best(person, "given_name"),
            family_name=best(person, "family_name"), date_of_birth=best(person, "date_of_birth"), sex=best(person, "sex"),
            address=best(person, "address"), postcode=best(person, "postcode"), ni_number=best(person, "ni_number"),
        )
        for person, family in sorted(members)
    ]


def opted_out(conn: sa.Connection, flow: str = "nis") -> set[str]:
    """People whose latest recorded choice for ``flow`` is an opt-out or a withdrawal."""
    (consent,) = _tables("consent_records")
    latest: dict[str, str] = {}
    for person, choice in conn.execute(
        sa.select(consent.c.person_id, consent.c.choice).where(consent.c.flow == flow).order_by(consent.c.recorded_at, consent.c.id)
    ):
        latest[person] = choice
    return {p for p, choice in latest.items() if choice in {"opt_out", "withdrawn"}}
