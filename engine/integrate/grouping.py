"""Grouping rules: each rule links persons; a layer's families are the connected groups of its links.

Rules are configuration (``families.yaml``), not code paths: a household layer might use address,
stated-household and parent-child rules; an extended-family layer reuses the same kinds with other
options (parent-child across addresses). A new kind of evidence is one more rule class here.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

import numpy as np
from pydantic import Field, model_validator
from rapidfuzz import fuzz, process

from engine.integrate.feeds import Strict
from engine.integrate.yamlconfig import load_yaml_model

Link = tuple[str, str]


class RecordPlace(NamedTuple):
    """What a record says about where and with whom its person lives (a named tuple: a family build makes
    one per source record, and a frozen dataclass cost three times as much to create)."""

    record_key: str
    person_id: str
    address: str | None
    postcode: str | None
    uprn: int | None
    household_ref: str | None
    parent_record_keys: tuple[str, ...]

    @property
    def numbers(self) -> tuple[str, ...]:
        return house_numbers(self.address)


@lru_cache(maxsize=200_000)
def house_numbers(address: str | None) -> tuple[str, ...]:
    """"FLAT 2 9 CEDAR COURT" and "FLAT 3 9 CEDAR COURT" score high on text but are different homes."""
    return tuple(re.findall(r"\d+", address or ""))


def same_place(a: RecordPlace, b: RecordPlace, threshold: float) -> bool:
    """Same UPRN; or, unless both have different UPRNs, same postcode, house numbers and similar address."""
    if a.uprn is not None and b.uprn is not None:
        return a.uprn == b.uprn
    if not (a.postcode and b.postcode and a.address and b.address) or a.postcode != b.postcode:
        return False
    return a.numbers == b.numbers and fuzz.token_sort_ratio(a.address, b.address) >= threshold


def _chain(persons: Iterable[str]) -> Iterator[Link]:
    ordered = sorted(set(persons))
    return zip(ordered, ordered[1:])


class AddressRule(Strict):
    """Persons whose records share a UPRN, or a fuzzy-equal address within one postcode, live together."""

    kind: Literal["address"]
    use_uprn: bool = True
    #: token-sort similarity 0-100 for addresses in the same postcode; null turns fuzzy comparison off
    fuzzy_threshold: float | None = Field(90, ge=50, le=100)
    #: a place with more people than this (a hostel, a care home) is not evidence of one family
    max_people_per_place: int = Field(12, ge=2)

    def links(self, records: list[RecordPlace], places: dict[str, list[RecordPlace]]) -> Iterator[Link]:
        by_uprn: dict[int, set[str]] = defaultdict(set)
        by_postcode: dict[str, list[RecordPlace]] = defaultdict(list)
        use_uprn, fuzzy = self.use_uprn, self.fuzzy_threshold is not None
        for record in records:
            if use_uprn and record.uprn is not None:
                by_uprn[record.uprn].add(record.person_id)
            if fuzzy and record.postcode and record.address:
                by_postcode[record.postcode].append(record)
        for persons in by_uprn.values():
            if 1 < len(persons) <= self.max_people_per_place:
                yield from _chain(persons)
        for block in by_postcode.values():
            yield from self._block_links(block)

    def _block_links(self, block: list[RecordPlace]) -> Iterator[Link]:
        """Links within one postcode: same house numbers, similar address, not both with a UPRN; an
        address where more than ``max_people_per_place`` people show is left out.

        Links join persons, so records agreeing on address, person and whether they carry a UPRN are one
        entry, and only addresses with the same house numbers are compared: a postcode holds hundreds of
        records but a few dozen addresses, and comparing every pair of records grew with the square.
        """
        entries: dict[str, set[tuple[str, bool]]] = defaultdict(set)
        for record in block:
            entries[record.address].add((record.person_id, self.use_uprn and record.uprn is not None))
        limit = self.max_people_per_place  # a crowded address (a hostel) links nobody
        for address in [a for a, e in entries.items() if len(e) > limit and len({p for p, _ in e}) > limit]:
            del entries[address]
        by_numbers: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for address in sorted(entries):
            by_numbers[house_numbers(address)].append(address)
        for addresses in by_numbers.values():
            for i, j in self._similar_pairs(addresses):
                here, there = sorted(entries[addresses[i]]), sorted(entries[addresses[j]])
                pairs = itertools.combinations(here, 2) if i == j else itertools.product(here, there)
                for (a, a_uprn), (b, b_uprn) in pairs:
                    if a != b and not (a_uprn and b_uprn):
                        yield a, b

    def _similar_pairs(self, addresses: list[str]) -> Iterator[tuple[int, int]]:
        """Index pairs i <= j of similar addresses (an address is similar to itself)."""
        if len(addresses) == 1:  # most house numbers have one address in their postcode
            if fuzz.token_sort_ratio(addresses[0], addresses[0], score_cutoff=self.fuzzy_threshold) > 0:
                yield 0, 0
            return
        scores = process.cdist(addresses, addresses, scorer=fuzz.token_sort_ratio,
                               score_cutoff=self.fuzzy_threshold)
        for i, j in np.argwhere(np.triu(scores) > 0):
            yield int(i), int(j)


class StatedHouseholdRule(Strict):
    """Records a source system puts in one household group (e.g. a social care family id) live together."""

    kind: Literal["stated_household"]

    def links(self, records: list[RecordPlace], places: dict[str, list[RecordPlace]]) -> Iterator[Link]:
        groups: dict[str, set[str]] = defaultdict(set)
        for record in records:
            if record.household_ref:
                groups[record.household_ref].add(record.person_id)
        for persons in groups.values():
            yield from _chain(persons)


class ParentChildRule(Strict):
    """A child is linked to a stated parent; optionally only when their addresses do not say otherwise."""

    kind: Literal["parent_child"]
    #: true: skip the link when both have addresses and none of them match (they live apart)
    addresses_must_agree: bool = True
    fuzzy_threshold: float = Field(90, ge=50, le=100)

    def links(self, records: list[RecordPlace], places: dict[str, list[RecordPlace]]) -> Iterator[Link]:
        person_of = {r.record_key: r.person_id for r in records}
        for record in records:
            for parent_key in record.parent_record_keys:
                parent = person_of.get(parent_key)
                if parent is None or parent == record.person_id:
                    continue
                if self.addresses_must_agree and not self._agree(places[record.person_id], places[parent]):
                    continue
                yield record.person_id, parent

    def _agree(self, child: list[RecordPlace], parent: list[RecordPlace]) -> bool:
        child_known = [r for r in child if r.uprn is not None or r.address]
        parent_known = [r for r in parent if r.uprn is not None or r.address]
        if not child_known or not parent_known:
            return True
        return any(same_place(a, b, self.fuzzy_threshold) for a in child_known for b in parent_known)


GroupingRule = Annotated[AddressRule | StatedHouseholdRule | ParentChildRule, Field(discriminator="kind")]


class Layer(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    #: family ids are <prefix><6 digits>; default F for "household", else the layer's initials
    id_prefix: str | None = Field(None, pattern=r"^[A-Z]{1,4}$")
    rules: tuple[GroupingRule, ...] = Field(min_length=1)

    @property
    def prefix(self) -> str:
        if self.id_prefix:
            return self.id_prefix
        return "F" if self.name == "household" else "".join(w[0] for w in self.name.split("_")).upper()


class GroupingConfig(Strict):
    layers: tuple[Layer, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> GroupingConfig:
        for attr in ("name", "prefix"):
            values = [getattr(layer, attr) for layer in self.layers]
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                raise ValueError(f"layer {attr}s must be unique; repeated: {', '.join(duplicates)}")
        return self


DEFAULT_GROUPING = GroupingConfig.model_validate({"layers": [{"name": "household", "rules": [
    {"kind": "address"}, {"kind": "stated_household"}, {"kind": "parent_child"},
]}]})


def load_grouping(path: str | Path | None) -> GroupingConfig:
    """The grouping rules in a families YAML file, or the default household layer when ``path`` is None."""
    if path is None:
        return DEFAULT_GROUPING
    config, _ = load_yaml_model(path, GroupingConfig, "families rules file", "docs/feeds.md#families")
    return config


def group_persons(layer: Layer, records: list[RecordPlace]) -> list[frozenset[str]]:
    """The layer's families: connected components of all its rules' links (every person in exactly one)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression keeps later finds short
            parent[x], x = root, parent[x]
        return root

    places: dict[str, list[RecordPlace]] = defaultdict(list)
    for record in records:
        parent.setdefault(record.person_id, record.person_id)
        places[record.person_id].append(record)
    for rule in layer.rules:
        for a, b in rule.links(records, places):
            ra = a if parent[a] == a else find(a)  # most persons are their own root: skip the call
            rb = b if parent[b] == b else find(b)
            if ra < rb:
                parent[rb] = ra
            elif rb < ra:
                parent[ra] = rb
    components: dict[str, set[str]] = defaultdict(set)
    for person in parent:
        components[find(person)].add(person)
    # a root is always the smallest person id of its group (the smaller root wins every union), so
    # sorting by root is sorting by each group's smallest member
    return [frozenset(c) for _, c in sorted(components.items())]
