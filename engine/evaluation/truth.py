"""Compare what the pipeline built with a synthetic borough's ground truth (``truth/`` beside its feeds).

- Person matching: pairwise precision/recall/F1 of record -> person against record -> true person.
- Family grouping: pairwise F1 and exact-household rate of record -> family against the true household
  each record's person lived in on the evaluation date.
- Eligibility and needs: the framework evaluated on the *true* people, households and facts (those a feed
  had reported by the evaluation date) against the latest profiling decisions, family by family; a true
  household is compared with the pipeline family holding most of its members.

The truth files are documented in ``examples/borough/README.md``; the pipeline never reads them.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

from engine.errors import DataError
from engine.evaluation.attribution import Attribution, Compared, PipelineSide, attribute
from engine.evaluation.metrics import PairwiseScores, agreement, exact_cluster_rate, pairwise_scores
from engine.integrate.catalogue import FACT_TYPES
from engine.integrate.persons import assign_persons
from engine.integrate.snapshot import facts_by_record, family_of_person
from engine.rules.inputs import Coverage, FamilyInput, Fact, Member
from engine.storage.db import import_all_tables, metadata

TRUTH_FILES = ("records.csv", "persons.csv", "memberships.csv", "facts.csv")


def _iso(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _typed(fact_type: str, fields: dict) -> dict:
    """Date fields as dates, as the snapshot loader gives them (truth files write them as ISO text)."""
    spec = FACT_TYPES.get(fact_type)
    if spec is None:
        return fields
    return {k: _iso(v) if isinstance(v, str) and k in spec.fields and spec.fields[k].kind == "date" else v
            for k, v in fields.items()}


def _rows(folder: Path, name: str):
    path = folder / name
    if not path.exists():
        raise DataError(f"{path}: ground-truth file missing; --truth must be the borough's truth/ folder "
                        f"holding {', '.join(TRUTH_FILES)}")
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


@dataclass(frozen=True)
class RecordTruth:
    """What one source record is, and what it told the council: from which extract, with a date of birth
    and a sex or not (older truth folders lack these columns: the record then counts as telling all)."""

    person_id: str
    first_extract: date | None = None
    gives_date_of_birth: bool = True
    gives_sex: bool = True


@dataclass
class Truth:
    record_person: dict[str, str]
    persons: dict[str, dict[str, str]]
    memberships: list[tuple[str, str, date | None, date | None]]
    facts: list[dict[str, str]]

    #: the first day the feeds cover (the simulated history's start, from ``manifest.json``)
    window_start: date | None = None
    records: dict[str, RecordTruth] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | Path) -> Truth:
        folder = Path(folder)
        if (folder / "truth").is_dir() and not (folder / "records.csv").exists():
            folder = folder / "truth"
        manifest = folder / "manifest.json"
        window = json.loads(manifest.read_text(encoding="utf-8")).get("window") if manifest.exists() else None
        records = {r["record_key"]: RecordTruth(r["person_id"], _iso(r.get("first_extract") or ""),
                                                r.get("gives_date_of_birth", "1") == "1",
                                                r.get("gives_sex", "1") == "1")
                   for r in _rows(folder, "records.csv")}
        return cls(
            record_person={key: r.person_id for key, r in records.items()},
            records=records,
            persons={r["person_id"]: r for r in _rows(folder, "persons.csv")},
            memberships=[(r["person_id"], r["household_id"], _iso(r["from_date"]), _iso(r["to_date"]))
                         for r in _rows(folder, "memberships.csv")],
            facts=list(_rows(folder, "facts.csv")),
            window_start=_iso(window[0]) if window else None,
        )

    def household_on(self, as_of: date) -> dict[str, str]:
        """person -> the household they lived in on ``as_of``."""
        out: dict[str, str] = {}
        for person, household, start, end in self.memberships:
            if (start is None or start <= as_of) and (end is None or as_of < end):
                out[person] = household
        return out

    def known_identities(self, as_of: date) -> dict[str, tuple[bool, bool]]:
        """person -> (date of birth known, sex known) for everyone some extract up to ``as_of`` mentioned.

        The true values are used, but only where a delivered record gave one: a pensioner who is only on
        the electoral roll and council tax has no known date of birth in any system.
        """
        known: dict[str, tuple[bool, bool]] = {}
        for record in self.records.values():
            if record.first_extract is not None and record.first_extract > as_of:
                continue
            dob, sex = known.get(record.person_id, (False, False))
            known[record.person_id] = (dob or record.gives_date_of_birth, sex or record.gives_sex)
        return known

    def families(self, as_of: date, coverage_from: date | None = None, *, readable_only: bool = False,
                 ) -> list[FamilyInput]:
        """True households on ``as_of`` with the true facts as the feeds had reported them by then.

        A fact counts once an extract up to ``as_of`` delivered it; a state whose end no extract up to
        ``as_of`` delivered is still open, as it was in every system's export (the framework on the true
        data *as known*, the same knowledge time the pipeline's decisions have). Coverage starts where the
        feeds' does (the simulated history's start) unless ``coverage_from`` says otherwise.

        A fact delivered only in rows the source system broke (a date that does not exist) still counts:
        it is true and was sent. ``readable_only`` leaves such facts out, which is how the evaluation tells
        the disagreements those broken rows cause (unavoidable for any pipeline) from the rest.
        """
        column = "readable_from" if readable_only and self.facts and "readable_from" in self.facts[0] else "known_from"
        coverage_from = coverage_from or self.window_start or date(2019, 9, 1)
        household = self.household_on(as_of)
        known = self.known_identities(as_of)
        members: dict[str, list[Member]] = defaultdict(list)
        for person, hh in sorted(household.items()):
            if person not in known:
                continue  # no feed had mentioned them yet: the council could not know they lived there
            p, (gives_dob, gives_sex) = self.persons.get(person, {}), known[person]
            members[hh].append(Member(
                person_id=person, date_of_birth=_iso(p.get("date_of_birth", "")) if gives_dob else None,
                sex=(p.get("sex") or None) if gives_sex else None))
        facts: dict[str, list[Fact]] = defaultdict(list)
        types: set[str] = set()
        for i, row in enumerate(self.facts):
            types.add(row["fact_type"])
            known = _iso(row[column])
            hh = household.get(row["person_id"])
            if known is None or known > as_of or hh is None:
                continue
            fields = _typed(row["fact_type"], json.loads(row["fields"]))
            end = _iso(row["end_date"])
            end_known = _iso(row.get("end_known_from", ""))
            if end is not None and "end_known_from" in row and (end_known is None or end_known > as_of):
                end = fields["end_date"] = None  # the feeds still showed it open
            facts[hh].append(Fact(
                fact_id=f"truth:{i}", fact_type=row["fact_type"], date=date.fromisoformat(row["date"]),
                end_date=end, fields=fields,
                person_id=row["person_id"],
                source="truth",
            ))
        coverage = {t: Coverage(fact_type=t, start=coverage_from, end=as_of, sources=("truth",)) for t in types}
        return [
            FamilyInput(family_id=hh, members=tuple(ms), coverage=coverage,
                        facts=tuple(sorted(facts[hh], key=lambda f: (f.date, f.fact_id))))
            for hh, ms in sorted(members.items())
        ]


@dataclass
class EvaluationReport:
    as_of: date
    matching: PairwiseScores
    families: PairwiseScores
    exact_households: float
    eligibility_agreement: float | None = None
    need_agreement: float | None = None
    compared_households: int = 0
    compared_needs: int = 0
    eligibility_confusion: Counter = field(default_factory=Counter)
    #: why the two sides disagree (engine.evaluation.attribution): cause -> households / household needs
    attribution: Attribution | None = None
    notes: list[str] = field(default_factory=list)


def _latest_results(conn: sa.Connection, as_of: date) -> tuple[datetime | None, dict[str, dict]]:
    """The knowledge time and decisions of the latest profiling run as of ``as_of``."""
    import_all_tables()
    runs, decisions = metadata.tables["decision_runs"], metadata.tables["decisions"]
    run = conn.execute(sa.select(runs.c.run_id, runs.c.known_at).where(runs.c.as_of == as_of)
                       .order_by(runs.c.finished_at.desc()).limit(1)).first()
    if run is None:
        return None, {}
    from engine.decisions.records import stored_result

    query = sa.select(decisions.c.decision_id, decisions.c.family_id, decisions.c.framework_hash,
                      decisions.c.result_zlib).where(decisions.c.run_id == run.run_id)
    return run.known_at, {row.family_id: stored_result(row, conn) for row in conn.execute(query).fetchall()}


def evaluate_against_truth(
    engine: sa.Engine, truth: Truth, as_of: date, *, compiled=None, coverage_from: date | None = None,
) -> EvaluationReport:
    """Score matching and grouping and, given a compiled framework, eligibility and needs against the truth
    (the profiling run as of ``as_of``), attributing each disagreement to a cause."""
    delivered = [k for k, r in truth.records.items() if r.first_extract is None or r.first_extract <= as_of]
    true_person = {k: truth.record_person[k] for k in delivered}
    with engine.connect() as conn:
        # the people and families the profiling run saw (its knowledge time), or the current ones
        known_at, results = _latest_results(conn, as_of) if compiled is not None else (None, {})
        predicted_person = assign_persons(conn, delivered, known_at=known_at).person_of
        person_family = family_of_person(conn, as_of, known_at)
    true_household = truth.household_on(as_of)
    rec_true_hh = {k: true_household[p] for k, p in true_person.items() if p in true_household}
    rec_pred_family = {k: person_family[p] for k, p in predicted_person.items() if p in person_family}
    report = EvaluationReport(
        as_of=as_of,
        matching=pairwise_scores(predicted_person, true_person),
        families=pairwise_scores(rec_pred_family, rec_true_hh),
        exact_households=exact_cluster_rate(rec_pred_family, rec_true_hh),
    )
    if compiled is None:
        return report
    if not results:
        report.notes.append(f"no profiling run as of {as_of.isoformat()} found: run `hearth profile --as-of "
                            f"{as_of.isoformat()}` first, or evaluate as of a date that was profiled")
        return report
    # Map each true household to the pipeline family holding most of its records' people.
    votes: dict[str, Counter] = defaultdict(Counter)
    for key, hh in rec_true_hh.items():
        if key in rec_pred_family:
            votes[hh][rec_pred_family[key]] += 1
    predicted_elig: dict[str, str] = {}
    true_elig: dict[str, str] = {}
    predicted_needs: dict[tuple[str, str], str] = {}
    true_needs: dict[tuple[str, str], str] = {}
    compared: list[Compared] = []
    readable = {f.family_id: f for f in truth.families(as_of, coverage_from, readable_only=True)}
    for family in truth.families(as_of, coverage_from):
        if family.family_id not in votes:
            continue
        pipeline_family = votes[family.family_id].most_common(1)[0][0]
        decided = results.get(pipeline_family)
        if decided is None:
            continue
        true_result = compiled.evaluate(family, as_of, trace=False)
        compared.append(Compared(family, readable[family.family_id], pipeline_family, decided, true_result))
        hh = family.family_id
        true_elig[hh] = true_result.eligible.value
        predicted_elig[hh] = decided["eligible"]["value"]
        report.eligibility_confusion[(true_elig[hh], predicted_elig[hh])] += 1
        for code, need in true_result.needs.items():
            true_needs[(hh, code)] = need.value
            predicted_needs[(hh, code)] = decided["needs"].get(code, {}).get("result", {}).get("value", "unknown")
    report.compared_households = len(true_elig)
    report.compared_needs = len(true_needs)
    report.eligibility_agreement = agreement(predicted_elig, true_elig)
    report.need_agreement = agreement(predicted_needs, true_needs)
    facts, coverage = facts_by_record(engine, known_at)
    side = PipelineSide(facts, coverage, predicted_person, person_family, true_person)
    report.attribution = attribute(compiled, as_of, compared, side)
    return report
