"""Synthetic people with known truth, for tests, benchmarks and trying ``hearth match``.

Nothing here is real data: names are built from syllables with a Zipf-like frequency (so some
surnames are common, as SMITH is), dates, postcodes and NHS numbers are random (NHS numbers pass the
modulus-11 check but are drawn from the 999 test range). Each person appears in one to four
records; duplicates carry the errors councils' extracts do: typos, swapped day/month, one wrong
digit, a missing field, a move to another postcode, a nickname-free shortened given name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_ONSETS = "B BR C CH D F G H J K L M N P R S SH ST T TH W".split()
_VOWELS = "A E I O U AI EA OO Y".split()
_CODAS = "N R L S T RD LL NE TON SON LEY WELL FORD MAN BY".split()
_STREETS = "HIGH STATION CHURCH PARK VICTORIA GREEN MANOR MILL SCHOOL QUEENS KINGS NEW".split()
_STREET_KINDS = "STREET ROAD LANE AVENUE CLOSE WAY".split()
_TOWNS = "ASHFORD BRAMLEY CALDER DENHOLM ELMWOOD FAIRBY GRANTHAM HOLTON".split()
_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass
class SyntheticSet:
    rows: list[dict[str, str]]  # one dict per record, strings ('' for missing)
    person_of: list[int]  # true person index per record

    def true_pairs(self, key: str = "record_id") -> set[tuple[str, str]]:
        by_person: dict[int, list[str]] = {}
        for row, person in zip(self.rows, self.person_of):
            by_person.setdefault(person, []).append(row[key])
        pairs = set()
        for members in by_person.values():
            members.sort()
            pairs.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
        return pairs

    def write_csv(self, path: Path, rows: list[dict[str, str]] | None = None) -> None:
        rows = self.rows if rows is None else rows
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(self.rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def _vocabulary(rng: np.random.Generator, size: int, offset: int) -> tuple[list[str], np.ndarray]:
    names: set[str] = set()
    while len(names) < size:
        syllables = rng.integers(1, 3)
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)) + rng.choice(_CODAS)
        names.add(word)
    ordered = sorted(names)
    rng.shuffle(ordered)
    # Zipf-Mandelbrot: the commonest surname is ~0.7% of people (SMITH is ~1.2% in England),
    # the commonest given name ~2.5%
    weights = 1.0 / (np.arange(1, size + 1) + offset)
    return ordered, weights / weights.sum()


def _nhs_number(rng: np.random.Generator) -> str:
    while True:
        digits = [9, 9, 9] + list(rng.integers(0, 10, 6))
        check = 11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 3:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(0, 3)
    if kind == 0:  # substitution
        return word[:i] + str(rng.choice(list("AEIOURSTLN"))) + word[i + 1 :]
    if kind == 1:  # deletion
        return word[:i] + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]  # adjacent transposition


def _postcode(rng: np.random.Generator) -> str:
    area = "".join(rng.choice(list("BCDEGHKLMNPRSTW"), 2))
    return f"{area}{rng.integers(1, 30)} {rng.integers(1, 10)}{''.join(rng.choice(list(_LETTERS), 2))}"


def generate(records: int, *, seed: int = 7, duplicate_rate: float = 0.5) -> SyntheticSet:
    """About ``records`` rows; roughly ``duplicate_rate`` of people appear more than once."""
    rng = np.random.default_rng(seed)
    surnames, surname_p = _vocabulary(rng, max(200, records // 40), 30)
    given, given_p = _vocabulary(rng, max(100, records // 200), 10)
    households = max(1, records // 3)
    postcodes = [_postcode(rng) for _ in range(max(1, households // 12))]
    people = records  # upper bound; the loop stops once enough rows exist
    given_draw = rng.choice(len(given), size=people, p=given_p)
    middle_draw = rng.choice(len(given), size=people, p=given_p)
    surname_draw = rng.choice(len(surnames), size=people, p=surname_p)
    years = rng.integers(1935, 2024, people)
    months = rng.integers(1, 13, people)
    days = rng.integers(1, 29, people)
    household_draw = rng.integers(0, households, people)
    rows: list[dict[str, str]] = []
    person_of: list[int] = []
    person = 0
    while len(rows) < records:
        household = int(household_draw[person])
        base = {
            "given_name": given[given_draw[person]],
            "middle_names": given[middle_draw[person]] if rng.random() < 0.4 else "",
            "family_name": surnames[surname_draw[person]],
            "date_of_birth": f"{years[person]}-{months[person]:02d}-{days[person]:02d}",
            "sex": "F" if rng.random() < 0.5 else "M",
            "address": f"{household % 200 + 1} {_STREETS[household % len(_STREETS)]} "
            f"{_STREET_KINDS[household % len(_STREET_KINDS)]} {_TOWNS[household % len(_TOWNS)]}",
            "postcode": postcodes[household % len(postcodes)],
            "nhs_number": _nhs_number(rng),
        }
        copies = 1 if rng.random() > duplicate_rate else int(rng.choice([2, 3, 4], p=[0.6, 0.3, 0.1]))
        for copy in range(copies):
            row = dict(base) if copy == 0 else _corrupt(rng, base, postcodes)
            if rng.random() < 0.6:  # many feeds do not carry the NHS number
                row["nhs_number"] = ""
            row = {"record_id": f"R{len(rows):07d}", **row}
            rows.append(row)
            person_of.append(person)
            if len(rows) >= records:
                break
        person += 1
    return SyntheticSet(rows, person_of)


def _corrupt(rng: np.random.Generator, base: dict[str, str], postcodes: list[str]) -> dict[str, str]:
    row = dict(base)
    for name in ("given_name", "family_name"):
        if rng.random() < 0.2:
            row[name] = _typo(rng, row[name])
    if rng.random() < 0.1:
        row["given_name"] = row["given_name"][: max(3, len(row["given_name"]) - 2)]
    if rng.random() < 0.05 and int(row["date_of_birth"][8:10]) <= 12:
        day_month = row["date_of_birth"]
        row["date_of_birth"] = f"{day_month[:4]}-{day_month[8:10]}-{day_month[5:7]}"
    elif rng.random() < 0.08:
        dob = list(row["date_of_birth"])
        position = int(rng.choice([2, 3, 9]))
        dob[position] = str(rng.integers(0, 10))
        row["date_of_birth"] = "".join(dob)
    if rng.random() < 0.15:  # moved house
        row["postcode"] = postcodes[int(rng.integers(0, len(postcodes)))]  # not rng.choice: it copies the list
        row["address"] = f"{rng.integers(1, 200)} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}"
    elif rng.random() < 0.2:  # the same address keyed differently
        row["address"] = _typo(rng, row["address"])
    for name in ("middle_names", "sex", "address", "postcode", "date_of_birth"):
        if rng.random() < 0.05:
            row[name] = ""
    return row
