"""Quarterly progress return, National Impact Study extract and pseudonymised analysis extract.

The NIS extract carries direct identifiers to the evaluation partner, so it is restricted to the cohort,
honours recorded opt-outs and withdrawals, and is logged. The pseudonymised extract carries no direct
identifier: ids are keyed hashes (HMAC-SHA256) that cannot be reversed without the council's key.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Sequence

from engine.returns.rows import CohortPerson, FamilyProgress

NIS_COLUMNS = (
    "la_person_id", "la_family_id", "given_name", "family_name", "date_of_birth", "gender",
    "address", "postcode", "ni_number", "identified_on", "attached_on", "closed_on", "claimed",
)
NIS_LAWFUL_BASIS = "UK GDPR Art. 6(1)(e); Art. 9(2)(g); Art. 10 (National Impact Study, research only)"


@dataclass(frozen=True)
class ExtractResult:
    path: Path
    rows: int
    excluded: int
    sha256: str


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date) else v for v in row])
            count += 1
    return count, hashlib.sha256(path.read_bytes()).hexdigest()


def _in_period(day: date | None, start: date, end: date) -> bool:
    return day is not None and start <= day <= end


def progress_return(
    families: Sequence[FamilyProgress], *, la_code: str, period_start: date, period_end: date, headlines: Sequence[str],
) -> list[dict[str, object]]:
    """One row per measure for the quarter: families worked with, new attachments, needs by headline,
    outcomes achieved and claims made in the period."""
    worked = [
        f for f in families
        if f.attached_on is not None and f.attached_on <= period_end and (f.closed_on is None or f.closed_on >= period_start)
    ]
    by_headline = Counter(h for f in worked for h in {h for _, h in f.needs})
    rows: list[dict[str, object]] = [
        {"measure": "families_identified", "headline": "", "value": sum(_in_period(f.identified_on, period_start, period_end) for f in families)},
        {"measure": "families_worked_with", "headline": "", "value": len(worked)},
        {"measure": "families_newly_attached", "headline": "", "value": sum(_in_period(f.attached_on, period_start, period_end) for f in families)},
        {"measure": "outcomes_achieved", "headline": "", "value": sum(_in_period(f.outcomes_achieved_on, period_start, period_end) for f in families)},
        {"measure": "successful_outcomes_claimed", "headline": "", "value": sum(_in_period(f.claimed_on, period_start, period_end) for f in families)},
    ]
    rows += [{"measure": "families_worked_with_need", "headline": h, "value": by_headline.get(h, 0)} for h in headlines]
    for row in rows:
        row.update(la_code=la_code, period_start=period_start.isoformat(), period_end=period_end.isoformat())
    return rows


def write_progress_return(rows: Sequence[dict[str, object]], path: Path) -> ExtractResult:
    columns = ("la_code", "period_start", "period_end", "measure", "headline", "value")
    count, digest = _write_csv(path, columns, ([r[c] for c in columns] for r in rows))
    return ExtractResult(path, count, 0, digest)


def nis_extract(
    people: Sequence[CohortPerson], families: Sequence[FamilyProgress], opted_out: set[str], path: Path,
) -> ExtractResult:
    """Identifiers for the evaluation partner, for the cohort only, without anyone who opted out."""
    progress = {f.family_id: f for f in families}
    kept = [p for p in people if p.family_id in progress and p.person_id not in opted_out]
    excluded = sum(1 for p in people if p.family_id in progress and p.person_id in opted_out)

    def row(p: CohortPerson) -> tuple:
        f = progress[p.family_id]
        return (
            p.person_id, p.family_id, p.given_name, p.family_name, p.date_of_birth, p.sex, p.address, p.postcode,
            p.ni_number, f.identified_on, f.attached_on, f.closed_on, "yes" if f.claimed_on else "no",
        )

    count, digest = _write_csv(path, NIS_COLUMNS, (row(p) for p in sorted(kept, key=lambda p: (p.family_id, p.person_id))))
    return ExtractResult(path, count, excluded, digest)


def keyed_hash(key: bytes, value: str) -> str:
    """A pseudonym: HMAC-SHA256 of ``value`` under the council's secret key (hex, 32 chars)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def pseudonymised_extract(
    people: Sequence[CohortPerson], families: Sequence[FamilyProgress], headlines: Sequence[str], key: bytes, path: Path,
) -> ExtractResult:
    """Analysis data with keyed-hash ids, year of birth instead of date, and no names, addresses or NINOs."""
    progress = {f.family_id: f for f in families}
    columns = ("person_pseudonym", "family_pseudonym", "year_of_birth", "sex", "eligible", "state", "rag", "need_count",
               *(f"need_{h.lower()}" for h in headlines), "attached", "claimed")

    def row(p: CohortPerson) -> tuple:
        f = progress[p.family_id]
        family_headlines = {h for _, h in f.needs}
        return (
            keyed_hash(key, "person:" + p.person_id), keyed_hash(key, "family:" + p.family_id),
            p.date_of_birth.year if p.date_of_birth else None, p.sex, f.eligible, f.state, f.rag, len(f.needs),
            *(int(h in family_headlines) for h in headlines), int(f.attached_on is not None), int(f.claimed_on is not None),
        )

    cohort = sorted((p for p in people if p.family_id in progress), key=lambda p: keyed_hash(key, "person:" + p.person_id))
    count, digest = _write_csv(path, columns, (row(p) for p in cohort))
    return ExtractResult(path, count, 0, digest)
