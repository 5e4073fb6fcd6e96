"""Produce returns from the database and log every extract that leaves Hearth (who, when, rows, hash)."""

from __future__ import annotations

import os
import secrets
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from engine.returns import collect
from engine.returns.extracts import (
    NIS_LAWFUL_BASIS, ExtractResult, nis_extract, progress_return, pseudonymised_extract, write_progress_return,
)
from engine.storage.tables_returns import consent_records, extract_log

KEY_ENV = "HEARTH_PSEUDONYM_KEY"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def log_extract(engine: sa.Engine, kind: str, result: ExtractResult, actor: str, *, lawful_basis: str = "",
                parameters: dict | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(extract_log.insert().values(
            kind=kind, produced_by=actor, produced_at=_now(), rows=result.rows, excluded_rows=result.excluded,
            path=str(result.path), sha256=result.sha256, lawful_basis=lawful_basis, parameters=parameters or {},
        ))


def pseudonym_key(home: Path) -> bytes:
    """The council's pseudonymisation key: ``$HEARTH_PSEUDONYM_KEY``, else a random key kept in the data dir.

    Keeping the key stable keeps pseudonyms stable between extracts; losing it makes old extracts unlinkable.
    """
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    path = home / "pseudonym.key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def write_progress(engine: sa.Engine, out: Path, *, la_code: str, period_start: date, period_end: date,
                   headlines: list[str], actor: str) -> ExtractResult:
    with engine.connect() as conn:
        families = collect.family_progress(conn)
    rows = progress_return(families, la_code=la_code, period_start=period_start, period_end=period_end,
                           headlines=headlines)
    result = write_progress_return(rows, out)
    log_extract(engine, "progress_return", result, actor,
                parameters={"la_code": la_code, "period": [period_start.isoformat(), period_end.isoformat()]})
    return result


def _cohort(engine: sa.Engine, as_of: date):
    with engine.connect() as conn:
        families = collect.family_progress(conn)
        people = collect.cohort_people(conn, {f.family_id for f in families}, as_of)
        excluded = collect.opted_out(conn, "nis")
    return families, people, excluded


def write_nis(engine: sa.Engine, out: Path, *, as_of: date, actor: str) -> ExtractResult:
    families, people, opted_out = _cohort(engine, as_of)
    result = nis_extract(people, families, opted_out, out)
    log_extract(engine, "nis", result, actor, lawful_basis=NIS_LAWFUL_BASIS, parameters={"as_of": as_of.isoformat()})
    return result


def write_pseudonymised(engine: sa.Engine, out: Path, *, as_of: date, headlines: list[str], key: bytes,
                        actor: str) -> ExtractResult:
    families, people, _ = _cohort(engine, as_of)
    result = pseudonymised_extract(people, families, headlines, key, out)
    log_extract(engine, "pseudonymised", result, actor, parameters={"as_of": as_of.isoformat()})
    return result


def record_consent(engine: sa.Engine, person_id: str, *, flow: str, choice: str, by: str, reason: str = "") -> None:
    with engine.begin() as conn:
        conn.execute(consent_records.insert().values(
            person_id=person_id, flow=flow, choice=choice, recorded_by=by, recorded_at=_now(), reason=reason,
        ))
