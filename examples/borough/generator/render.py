"""Render true facts as one source system exports them: its ids, columns, formats and mistakes.

Rows go to the monthly extract in which the system would have recorded them (event day plus the
system's lag). A state (an episode, a claim) is exported when it starts and again, with its end date,
in the extract after it ends. Every deliberately broken or duplicated row is listed in ``defects``.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from typing import Callable

from .facts import CATALOGUE, DATE_FIELDS, STATE_TYPES, FactTable, fact_day
from .feed_specs import FeedSpec
from .households import Population
from .identifiers import nhs_check_digit
from .name_pools import BOROUGH_TOWN
from .names import spelling, surname_first, surname_form, typo

_BAD_DATES = {"%d/%m/%Y": "31/02/{y}", "%Y-%m-%d": "{y}-02-30", "%Y%m%d": "{y}1332", "%d-%b-%Y": "31-Feb-{y}"}


@dataclass(slots=True)
class SourceRecord:
    """One person's registration in one system, with the quirks that registration carries."""

    record_id: str
    person: int
    registered: int            # the day the system first saw them (stale records keep this day's details)
    stale: bool
    given: str
    typo_seed: int             # 0 = no typo; otherwise which name and which mistake
    dob_kind: str              # "ok", "missing" or "swapped" (day and month exchanged)
    sex_unknown: bool
    present: dict[str, bool]
    surname_forms: dict[str, str]   # true surname (before and after any name change) -> as held here
    used: bool = False              # some row was exported under this id
    first_extract: int | None = None  # index of the first extract with a row under this id
    last_key: tuple = ()            # identity cache: (household, address, surname) of the last row
    last_identity: dict[str, str] | None = None


class DateText:
    """Cached ``strftime`` of ordinals in one format."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.cache: dict[int, str] = {}

    def __call__(self, day: int) -> str:
        text = self.cache.get(day)
        if text is None:
            text = date.fromordinal(day).strftime(self.fmt)
            self.cache[day] = text
        return text


class FeedRenderer:
    """Turns facts (or register entries) into rows of one feed, tracking record ids and defects."""

    def __init__(self, spec: FeedSpec, pop: Population, seed: int, extract_days: list[int]) -> None:
        self.spec, self.pop = spec, pop
        self.rnd = random.Random(f"{seed}:{spec.name}")
        self.extract_days = extract_days
        self.dates, self.dobs = DateText(spec.date_format), DateText(spec.dob_format)
        self.records: dict[object, list[SourceRecord]] = {}
        self.all_records: list[SourceRecord] = []
        self.group_ids: dict[object, str] = {}
        #: (extract, row number as ingest counts it, record_id, kind, detail)
        self.defects: list[tuple[str, int, str, str, str]] = []
        self.header_rows = 0 if spec.file_format == "jsonl" else 1
        self.rows: list[list[tuple[str, ...]]] = [[] for _ in extract_days]
        self.columns = spec.columns()

    def release(self) -> None:
        """Drop written rows and per-record caches; keep record ids and defects for the ground truth."""
        self.rows = [[] for _ in self.extract_days]
        for record in self.all_records:
            record.last_identity = None
            record.last_key = ()

    def extract_index(self, recorded: int) -> int | None:
        """Index of the first extract taken after ``recorded``, or None if none was."""
        index = bisect_right(self.extract_days, recorded)
        return index if index < len(self.extract_days) else None

    def _new_record(self, person: int, day: int) -> SourceRecord:
        spec, rnd = self.spec, self.rnd
        serial = len(self.all_records) + 1
        record = SourceRecord(
            record_id=f"{spec.id_prefix}{serial:07d}",
            person=person,
            registered=day,
            stale=rnd.random() < spec.stale_address,
            given=spelling(self.pop.given[person], rnd, spec.variant_name, spec.nickname),
            surname_forms={name: spelling(surname_form(name, rnd), rnd, spec.variant_name, 0.0)
                           for name in dict.fromkeys((self.pop.birth_family[person], self.pop.family[person]))},
            typo_seed=rnd.randrange(1, 1 << 30) if rnd.random() < spec.typo else 0,
            dob_kind="missing" if rnd.random() > spec.dob_present else "swapped" if rnd.random() < 0.004 else "ok",
            sex_unknown=rnd.random() < 0.01,
            present={name: rnd.random() < share for name, share in spec.identifier_present.items()},
        )
        self.all_records.append(record)
        return record

    def record_for(self, person: int, day: int, key: object = None) -> SourceRecord:
        """The record this row is filed under; a few people were registered twice."""
        key = person if key is None else key
        found = self.records.get(key)
        if found is None:
            found = [self._new_record(person, day)]
            if self.rnd.random() < self.spec.duplicate_person:
                duplicate = self._new_record(person, day)
                duplicate.present = {name: False for name in duplicate.present}
                found.append(duplicate)
            self.records[key] = found
        if len(found) > 1 and self.rnd.random() < 0.5:
            return found[1]
        return found[0]

    def group_id(self, key: object, prefix: str) -> str:
        value = self.group_ids.get(key)
        if value is None:
            value = f"{prefix}{len(self.group_ids) + 1:06d}"
            self.group_ids[key] = value
        return value

    def identity(self, record: SourceRecord, day: int) -> dict[str, str]:
        """Identity columns of a row about ``record.person`` written on ``day``."""
        pop, spec = self.pop, self.spec
        person = record.person
        as_of = record.registered if record.stale else day
        true_family = pop.family_name_on(person, as_of)
        household = pop.household_on(person, as_of)
        address = pop.address_on(household, as_of)
        key = (household, address, true_family)
        if record.last_key == key and record.last_identity is not None:
            return dict(record.last_identity)
        family = record.surname_forms[true_family]
        given = record.given
        if record.typo_seed:
            if record.typo_seed % 2:
                given = typo(given, record.typo_seed)
            else:
                family = typo(family, record.typo_seed)
        if spec.upper_case_names:
            given, family = given.upper(), family.upper()
        gaz = pop.gazetteer
        values: dict[str, str] = {}
        for name, column in spec.identity.items():
            if name == "given_name":
                values[column] = given
            elif name == "family_name":
                values[column] = family
            elif name == "full_name":
                values[column] = surname_first(given, family)
            elif name == "date_of_birth":
                values[column] = self._dob(record)
            elif name == "sex":
                values[column] = "U" if record.sex_unknown else pop.sex[person]
            elif name == "postcode":
                values[column] = gaz.postcode[address]
            elif name == "address":
                values[column] = ", ".join(p for p in (gaz.line1[address], gaz.line2[address], BOROUGH_TOWN) if p)
            elif name == "address_1":
                values[column] = gaz.line1[address]
            elif name == "address_2":
                values[column] = gaz.line2[address] or BOROUGH_TOWN
            elif name == "uprn":
                values[column] = gaz.uprn[address] if record.present.get("uprn", True) else ""
            elif name == "upn":
                values[column] = pop.upn[person] if record.present.get("upn", True) else ""
            elif name == "ni_number":
                values[column] = pop.nino[person] if record.present.get("ni_number", True) else ""
            elif name == "nhs_number":
                nhs = pop.nhs[person] if record.present.get("nhs_number", True) else ""
                values[column] = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" if nhs and spec.spaced_nhs else nhs
        if spec.household_column:
            values[spec.household_column] = self.group_id((household, address), spec.household_column[:2].upper())
        record.last_key, record.last_identity = key, values
        return dict(values)

    def carries(self, record: SourceRecord) -> tuple[bool, bool]:
        """Whether this record's rows give a date of birth and a sex (the ground truth's "as known" identity)."""
        identity = self.spec.identity
        return ("date_of_birth" in identity and record.dob_kind != "missing",
                "sex" in identity and not record.sex_unknown)

    def _dob(self, record: SourceRecord) -> str:
        dob = self.pop.dob[record.person]
        if record.dob_kind == "missing":
            return ""
        if record.dob_kind == "swapped":
            born = date.fromordinal(dob)
            if born.day <= 12 and born.day != born.month:
                return born.replace(day=born.month, month=born.day).strftime(self.spec.dob_format)
        return self.dobs(dob)

    def emit(self, extract: int, row: dict[str, str], record: SourceRecord, date_columns: list[str]) -> bool:
        """Queue a row for an extract, maybe breaking or duplicating it (and noting that it did); True if a
        date was broken (ingest quarantines the row)."""
        spec, rnd = self.spec, self.rnd
        broken = False
        extract_name = date.fromordinal(self.extract_days[extract]).isoformat()
        number = len(self.rows[extract]) + 1 + self.header_rows
        if rnd.random() < spec.malformed:
            nhs_column = spec.identity.get("nhs_number")
            if nhs_column and row.get(nhs_column) and rnd.random() < 0.5:
                digits = row[nhs_column].replace(" ", "")
                wrong = (nhs_check_digit(digits[:9]) + 1 + rnd.randrange(8)) % 10
                row[nhs_column] = digits[:9] + str(wrong)
                defect = (extract_name, number, record.record_id, "bad_nhs_check_digit", row[nhs_column])
                self.defects.append(defect)
            elif date_columns:
                column = date_columns[0]
                year = row[column][-4:] if spec.date_format.endswith("%Y") else row[column][:4]
                row[column] = _BAD_DATES[spec.date_format].format(y=year if year.isdigit() else "2021")
                self.defects.append((extract_name, number, record.record_id, "bad_date", f"{column}={row[column]}"))
                broken = True
        record.used = True
        if record.first_extract is None or extract < record.first_extract:
            record.first_extract = extract
        values = tuple(map(row.__getitem__, self.columns))
        self.rows[extract].append(values)
        if rnd.random() < spec.duplicate_row:
            self.rows[extract].append(values)
            self.defects.append((extract_name, number + 1, record.record_id, "duplicate_row", ""))
        return broken

    def render_facts(self, table: FactTable, delivered: Callable[[int, tuple[int, int | None, int | None]], None],
                     ) -> None:
        """Every fact of the feed's type, delivered to the extract after the system records it.

        ``delivered(index, (first, end, readable))`` tells the ground truth which extract first carried fact
        ``index``, which first carried its end date (None: no extract did, so the feeds still show it open)
        and which first carried it in a row ingest can read (None: only broken rows did).
        """
        spec, rnd = self.spec, self.rnd
        fields = CATALOGUE[spec.fact_type]
        is_state = spec.fact_type in STATE_TYPES
        low, high = spec.lag_days
        date_columns = [spec.fact_columns[f] for f in fields if f in DATE_FIELDS and f != "end_date"]
        for index, (person, values) in enumerate(zip(table.person, table.values)):
            day = fact_day(spec.fact_type, values)
            recorded = day + rnd.randint(low, high)
            first = self.extract_index(max(recorded, self.pop.joined[person]))
            if first is None:
                continue
            record = self.record_for(person, day)
            end = values[1] if is_state else 0
            end_extract = self.extract_index(end + rnd.randint(low, high)) if end else None
            shown_end = end if end and end_extract is not None and end_extract <= first else 0
            row = self._fact_row(record, day, index, fields, values, shown_end)
            readable = None if self.emit(first, row, record, date_columns) else first
            if end and end_extract is not None and end_extract > first:
                update = self._fact_row(record, end, index, fields, values, end)
                self.emit(end_extract, update, record, [])  # an update's dates are never broken
                readable = first if readable is not None else end_extract
            delivered(index, (first, None if end_extract is None else max(first, end_extract), readable))

    def _fact_row(self, record: SourceRecord, day: int, index: int, fields: tuple[str, ...], values: tuple,
                  shown_end: int) -> dict[str, str]:
        spec = self.spec
        row = self.identity(record, day)
        row[spec.record_id] = record.record_id
        if spec.fact_id:
            row[spec.fact_id] = f"{spec.id_prefix}-{index + 1:08d}"
        for name, value in zip(fields, values):
            column = spec.fact_columns[name]
            if name == "end_date":
                row[column] = self.dates(shown_end) if shown_end else ""
            elif name in DATE_FIELDS:
                row[column] = self.dates(value)
            elif isinstance(value, bool):
                row[column] = "true" if value else "false"
            elif isinstance(value, float):
                row[column] = f"{value:.2f}"
            else:
                row[column] = str(value)
        return row
