"""The borough's address gazetteer: streets, house numbers and flats, UPRNs and postcodes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .identifiers import INWARD_LETTERS
from .name_pools import BLOCK_NAMES, BOROUGH_TOWN, STREET_KINDS, STREET_NAMES

#: first UPRN handed out; UPRNs then rise in gazetteer order (12 digits, no leading zero)
FIRST_UPRN = 100_091_000_001
#: outward code prefix of the borough's (fictional, valid-format) postcode area
POSTCODE_AREA = "HW"
ADDRESSES_PER_POSTCODE = 14


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Every address in the borough; index ``i`` is one dwelling."""

    line1: list[str]       # "12 Oak Road" or "Flat 3, Birch House"
    line2: list[str]       # street for flats, else ""
    postcode: list[str]
    uprn: list[str]

    def __len__(self) -> int:
        return len(self.uprn)

    def one_line(self, index: int) -> str:
        parts = [self.line1[index], self.line2[index], BOROUGH_TOWN, self.postcode[index]]
        return ", ".join(p for p in parts if p)


def _postcodes(count: int) -> list[str]:
    """``count`` distinct postcodes in order: HW1 1AB, HW1 1AD ... spread over as many districts as needed."""
    per_district = 10 * len(INWARD_LETTERS) ** 2
    codes = []
    for k in range(count):
        district, rest = divmod(k, per_district)
        sector, unit = divmod(rest, len(INWARD_LETTERS) ** 2)
        first, second = divmod(unit, len(INWARD_LETTERS))
        codes.append(f"{POSTCODE_AREA}{district + 1} {sector}{INWARD_LETTERS[first]}{INWARD_LETTERS[second]}")
    return codes


def build_gazetteer(rng: np.random.Generator, dwellings: int) -> Gazetteer:
    """At least ``dwellings`` addresses on streets of houses and blocks of flats (about a third flats)."""
    line1: list[str] = []
    line2: list[str] = []
    street_number = 0
    while len(line1) < dwellings:
        name = STREET_NAMES[street_number % len(STREET_NAMES)]
        kind = STREET_KINDS[(street_number // len(STREET_NAMES)) % len(STREET_KINDS)]
        repeat = street_number // (len(STREET_NAMES) * len(STREET_KINDS))
        street = f"{name} {kind}" if repeat == 0 else f"{name} {kind} {'North South East West'.split()[repeat % 4]}"
        if repeat >= 4:
            street = f"{street} {repeat // 4 + 1}"
        houses = int(rng.integers(30, 140))
        line1.extend(f"{n} {street}" for n in range(1, houses + 1))
        line2.extend("" for _ in range(houses))
        if rng.random() < 0.4:
            block = f"{name} {BLOCK_NAMES[street_number % len(BLOCK_NAMES)]}"
            flats = int(rng.integers(12, 60))
            line1.extend(f"Flat {n}, {block}" for n in range(1, flats + 1))
            line2.extend(street for _ in range(flats))
        street_number += 1
    postcodes = _postcodes(len(line1) // ADDRESSES_PER_POSTCODE + 1)
    return Gazetteer(
        line1=line1,
        line2=line2,
        postcode=[postcodes[i // ADDRESSES_PER_POSTCODE] for i in range(len(line1))],
        uprn=[str(FIRST_UPRN + i) for i in range(len(line1))],
    )
