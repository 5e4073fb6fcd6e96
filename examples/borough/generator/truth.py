"""Ground truth beside the feeds (truth/), never read by the pipeline: who every record really is,
who lived with whom and where, the true needs, and every true fact with when the feeds first knew it.
File formats are documented in examples/borough/README.md.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from .facts import CATALOGUE, DATE_FIELDS, World, fact_day
from .households import Population
from .render import FeedRenderer


_ISO_CACHE: dict[int, str] = {0: ""}


def _iso(day: int) -> str:
    text = _ISO_CACHE.get(day)
    if text is None:
        text = _ISO_CACHE[day] = date.fromordinal(day).isoformat()
    return text


def _fields_encoder(names: tuple[str, ...]):
    """A fast JSON encoder (sorted keys, ISO dates) for one fact type's value tuples."""
    order = sorted(range(len(names)), key=names.__getitem__)

    def text(name: str, value: object) -> str:
        if name in DATE_FIELDS:
            return f'"{_iso(value)}"' if value else "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return json.dumps(value)
        return repr(value)

    def encode(values: tuple) -> str:
        return "{" + ", ".join(f'"{names[i]}": {text(names[i], values[i])}' for i in order) + "}"

    return encode


def _writer(path: Path, header: list[str]):
    handle = path.open("w", encoding="utf-8", newline="")
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(header)
    return handle, writer


def write_people(folder: Path, pop: Population) -> None:
    handle, out = _writer(folder / "persons.csv", [
        "person_id", "given_name", "family_name", "birth_family_name", "name_change_date", "sex",
        "date_of_birth", "nhs_number", "upn", "ni_number", "heritage"])
    with handle:
        for p in range(pop.size):
            out.writerow([pop.person_id(p), pop.given[p], pop.family[p], pop.birth_family[p],
                          _iso(pop.name_change[p]), pop.sex[p], _iso(pop.dob[p]), pop.nhs[p], pop.upn[p],
                          pop.nino[p], pop.heritage[p]])
    handle, out = _writer(folder / "memberships.csv", ["person_id", "household_id", "from_date", "to_date"])
    with handle:
        for p in range(pop.size):
            joined = max(pop.joined[p], pop.start)
            out.writerow([pop.person_id(p), pop.household_id(pop.household[p]), _iso(joined), _iso(pop.left[p])])
            if pop.left[p]:
                out.writerow([pop.person_id(p), pop.household_id(pop.next_household[p]), _iso(pop.left[p]), ""])
    handle, out = _writer(folder / "households.csv", ["household_id", "shape", "tenure", "disadvantage"])
    with handle:
        for h in range(len(pop.hh_shape)):
            out.writerow([pop.household_id(h), pop.hh_shape[h], pop.hh_tenure[h], f"{pop.hh_score[h]:.3f}"])
    handle, out = _writer(folder / "addresses.csv",
                          ["household_id", "uprn", "address", "postcode", "from_date", "to_date"])
    gaz = pop.gazetteer
    with handle:
        for h, history in enumerate(pop.hh_addresses):
            for k, (address, since) in enumerate(history):
                until = history[k + 1][1] if k + 1 < len(history) else 0
                out.writerow([pop.household_id(h), gaz.uprn[address], gaz.one_line(address),
                              gaz.postcode[address], _iso(since), _iso(until)])


def write_needs_and_facts(folder: Path, pop: Population, world: World,
                          delivered: dict[str, dict[int, tuple[int, int | None, int | None]]],
                          extract_days: list[int]) -> None:
    handle, out = _writer(folder / "needs.csv", ["household_id", "domain", "person_id", "onset", "resolved"])
    with handle:
        for need in world.needs:
            out.writerow([pop.household_id(need.household), need.domain, pop.person_id(need.person),
                          _iso(need.onset), _iso(need.resolved)])
    handle, out = _writer(folder / "facts.csv", [
        "fact_type", "person_id", "household_id", "date", "end_date", "known_from", "end_known_from", "readable_from",
        "fields"])
    with handle:
        for fact_type, table in world.tables.items():
            encode = _fields_encoder(CATALOGUE[fact_type])
            has_end = "end_date" in CATALOGUE[fact_type]
            extracts = delivered.get(fact_type, {})
            for index, (person, values) in enumerate(zip(table.person, table.values)):
                day = fact_day(fact_type, values)
                first, end, readable = extracts.get(index, (None, None, None))
                out.writerow([fact_type, pop.person_id(person), pop.household_id(pop.household_on(person, day)),
                              _iso(day), _iso(values[1]) if has_end else "",
                              *(_iso(extract_days[e]) if e is not None else "" for e in (first, end, readable)),
                              encode(values)])


def write_records(folder: Path, pop: Population, renderers: list[FeedRenderer], extract_days: list[int]) -> None:
    handle, out = _writer(folder / "records.csv", ["record_key", "feed", "record_id", "person_id", "first_extract",
                                                   "gives_date_of_birth", "gives_sex"])
    with handle:
        for renderer in renderers:
            for record in renderer.all_records:
                if not record.used:
                    continue
                key = f"{renderer.spec.name}:{record.record_id}"
                dob, sex = renderer.carries(record)
                out.writerow([key, renderer.spec.name, record.record_id, pop.person_id(record.person),
                              _iso(extract_days[record.first_extract]), int(dob), int(sex)])
    handle, out = _writer(folder / "defects.csv",
                          ["feed", "extract_date", "file", "row", "record_id", "defect", "detail"])
    with handle:
        for renderer in renderers:
            for extract, number, record_id, kind, detail in renderer.defects:
                file = f"extracts/{extract}/{renderer.spec.file_name}"
                out.writerow([renderer.spec.name, extract, file, number, record_id, kind, detail])
