"""Why the pipeline's decision for a household differs from the framework on the true data.

The truth side of a household (T) and the pipeline's decision for the family holding most of its
records (P) are joined by a chain of mixed inputs, each swapping one part of T for the pipeline's:

1. ``source defects``: T without the facts the source systems only ever sent in broken rows (a date that
   does not exist), which ingest rightly quarantines: no pipeline could have used them.
2. ``coverage``: that, with the coverage the pipeline's feeds declared (what "no record" means, and since
   when).
3. ``facts``: the true members with the facts the pipeline holds for their records (by the true owner of
   each record): fields read differently, versions or end dates not loaded, facts lost in ingest.
4. people: P itself, so what is left is who the pipeline thinks the family is. It is split by what is
   wrong with the pipeline family: ``matching: merged`` (a member, or the person a true member's records
   went to, is several true people: a precision error), ``matching: split`` (a true member is several people: a recall error), ``grouping`` (right
   people, wrong family: someone missing or extra) and otherwise
   ``member details`` (right people, but their known dates of birth, sex or membership dates differ).

A disagreement is put down to the first step whose answer differs from T's, so the causes add up to the
disagreements. Needs are attributed the same way, need by need.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from engine.rules.inputs import Coverage, Fact, FamilyInput

SOURCE_DEFECTS, COVERAGE, FACTS = "source defects", "coverage", "facts"
MERGED, SPLIT, GROUPING, MEMBER_DETAILS = "matching: merged", "matching: split", "grouping", "member details"
CAUSES = (MERGED, SPLIT, GROUPING, MEMBER_DETAILS, FACTS, COVERAGE, SOURCE_DEFECTS)
CAUSE_HELP = {
    SOURCE_DEFECTS: "facts the sources only sent in broken rows, rightly quarantined (no pipeline could use them)",
    MERGED: "a member (here, or a true member's person elsewhere) is several true people",
    SPLIT: "a true member is several people in the pipeline",
    GROUPING: "right people, wrong family: a true member missing or someone else's member added",
    MEMBER_DETAILS: "same people, but the known dates of birth, sex or membership dates differ",
    FACTS: "the pipeline holds different facts for the true members (fields, versions, end dates)",
    COVERAGE: "the feeds' declared coverage differs from the truth's",
}


@dataclass(frozen=True)
class Disagreement:
    household: str
    family: str
    subject: str           # "eligibility" or a need code
    truth: str
    pipeline: str
    cause: str


@dataclass(frozen=True)
class Compared:
    """One true household and the pipeline family it is compared with."""

    truth: FamilyInput        # the true household as the feeds delivered it
    readable: FamilyInput     # the same without the facts only delivered in broken rows
    pipeline_family: str
    decided: dict             # the pipeline's stored result for that family
    true_result: object       # the framework's result on ``truth``


@dataclass
class Attribution:
    eligibility: Counter = field(default_factory=Counter)  # cause -> households
    needs: Counter = field(default_factory=Counter)        # cause -> (household, need) pairs
    disagreements: list[Disagreement] = field(default_factory=list)


@dataclass
class PipelineSide:
    """What the pipeline knew: facts per record key (its own fact ids), coverage, and who is who."""

    facts_by_record: Mapping[str, list[Fact]]
    coverage: Mapping[str, Coverage]
    person_of_record: Mapping[str, str]     # record key -> pipeline person
    family_of_person: Mapping[str, str]     # pipeline person -> pipeline family (household layer)
    true_person_of_record: Mapping[str, str]

    def __post_init__(self) -> None:
        self._true_of_person: dict[str, set[str]] = defaultdict(set)
        self._persons_of_true: dict[str, set[str]] = defaultdict(set)
        self._persons_of_family: dict[str, set[str]] = defaultdict(set)
        for key, person in self.person_of_record.items():
            true = self.true_person_of_record.get(key)
            if true is not None:
                self._true_of_person[person].add(true)
                self._persons_of_true[true].add(person)
        for person, family in self.family_of_person.items():
            self._persons_of_family[family].add(person)

    def people_cause(self, family: FamilyInput, pipeline_family: str) -> str:
        persons = self._persons_of_family.get(pipeline_family, set())
        true_members = {m.person_id for m in family.members}
        # a member's records matched to someone else (who may live elsewhere) is a merge too
        involved = persons.union(*(self._persons_of_true[t] for t in true_members))
        if any(len(self._true_of_person[p]) > 1 for p in involved):
            return MERGED
        if any(len(self._persons_of_true[t]) > 1 for t in true_members):
            return SPLIT
        held = set().union(*(self._true_of_person[p] for p in persons)) if persons else set()
        return GROUPING if held != true_members else MEMBER_DETAILS


def _needs(result) -> dict[str, str]:
    return {code: need.value for code, need in result.needs.items()}


def attribute(compiled, as_of: date, compared: list[Compared], side: PipelineSide) -> Attribution:
    """Every disagreement between the pipeline's and the truth's answers, with its cause."""
    out = Attribution()
    records_of = _records_by_person(side)
    for pair in compared:
        family, decided, true_result = pair.truth, pair.decided, pair.true_result
        decided_needs = {code: n.get("result", {}).get("value", "unknown") for code, n in decided["needs"].items()}
        true_needs = _needs(true_result)
        wrong_needs = [c for c, v in true_needs.items() if decided_needs.get(c, "unknown") != v]
        wrong_eligibility = decided["eligible"]["value"] != true_result.eligible.value
        if not wrong_needs and not wrong_eligibility:
            continue
        steps = _chain(compiled, as_of, pair, side, records_of)
        people = side.people_cause(family, pair.pipeline_family)

        def cause(value_of) -> str:
            truth = value_of(true_result)
            for name, result in steps:
                if value_of(result) != truth:
                    return name
            return people

        if wrong_eligibility:
            reason = cause(lambda r: r.eligible.value)
            out.eligibility[reason] += 1
            out.disagreements.append(Disagreement(family.family_id, pair.pipeline_family, "eligibility",
                                                  true_result.eligible.value, decided["eligible"]["value"], reason))
        for code in wrong_needs:
            reason = cause(lambda r, c=code: r.needs[c].value if c in r.needs else "unknown")
            out.needs[reason] += 1
            out.disagreements.append(Disagreement(family.family_id, pair.pipeline_family, code, true_needs[code],
                                                  decided_needs.get(code, "unknown"), reason))
    return out


def _records_by_person(side: PipelineSide) -> dict[str, list[str]]:
    by_person: dict[str, list[str]] = defaultdict(list)
    for key in side.facts_by_record:
        true = side.true_person_of_record.get(key)
        if true is not None:
            by_person[true].append(key)
    return by_person


def _chain(compiled, as_of: date, pair: Compared, side: PipelineSide, records_of: dict[str, list[str]]):
    """The mixed inputs' results, in attribution order."""
    readable = pair.readable
    without_defects = (pair.true_result if readable.facts == pair.truth.facts
                       else compiled.evaluate(readable, as_of, trace=False))
    covered = replace(readable, coverage=dict(side.coverage))
    facts = [replace(fact, person_id=m.person_id) for m in pair.truth.members
             for key in records_of.get(m.person_id, ()) for fact in side.facts_by_record[key]]
    regrouped = replace(covered, facts=tuple(sorted(facts, key=lambda f: (f.date, f.fact_type, f.fact_id))))
    return [(SOURCE_DEFECTS, without_defects), (COVERAGE, compiled.evaluate(covered, as_of, trace=False)),
            (FACTS, compiled.evaluate(regrouped, as_of, trace=False))]


def write_disagreements(path: str | Path, attribution: Attribution) -> Path:
    """One CSV row per disagreement: true household, pipeline family, what (eligibility or a need code), the
    two answers and the cause, so a data officer can open each case."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["true_household", "pipeline_family", "subject", "truth", "pipeline", "cause"])
        for d in sorted(attribution.disagreements, key=lambda d: (d.cause, d.household, d.subject)):
            out.writerow([d.household, d.family, d.subject, d.truth, d.pipeline, d.cause])
    return path
