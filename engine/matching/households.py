"""Family names are not independent of where people live: the household correction.

Fellegi-Sunter adds the evidence of each comparison as if they were independent given "not the same
person". Among people who share a home they are not: a household shares its surname, so two
different people at one address agree on the family name far more often than two random people
(u ~ 0.5 against ~ 0.007 in a borough). Counted as independent, "same surname" (+7 bits) and "same
home" (+9 bits) together outweighed a given name that merely looked similar (TASLIMA / ALI under
Jaro-Winkler, MING / LING one letter apart): a husband and wife became one person.

The correction estimates the family name's u *given* each agreeing location level, from pairs of
records that share a postcode and whose given names are different (almost all two people: see
``DIFFERENT_GIVEN_NAME_MAX_M``) while their dates of birth, if both have one, do not agree (a
given name keyed beyond recognition on a record of the same person, common in FEBRL, would
otherwise count as a household member sharing the surname), and uses it in place of the overall u (and instead of the
term-frequency adjustment, which measures the borough, not the household) for pairs at that level.
m is unchanged: the same person's records agree on the surname wherever they live.

With no households in the data (FEBRL), the conditional u is about the overall u and nothing changes.
"""

from __future__ import annotations

import numpy as np

from engine.matching.comparisons import Comparison
from engine.matching.records import RecordTable

#: partners drawn per record within its postcode; at least this many different-given-name pairs are
#: needed at a location level before its conditional u replaces the overall one
PARTNERS_PER_RECORD = 20
MAX_PAIRS = 400_000
MIN_PAIRS = 50
#: date-of-birth levels that make a pair with different given names the same person after all
SAME_BIRTH = ("exact match", "day and month transposed", "Damerau-Levenshtein <= 1")


def same_postcode_pairs(table: RecordTable, rng: np.random.Generator, per_record: int = PARTNERS_PER_RECORD,
                        max_pairs: int = MAX_PAIRS):
    """Random pairs of distinct records that share a postcode: ``per_record`` draws per record, at
    most ``max_pairs`` in all (records drawn at random beyond that)."""
    codes = table.codes("postcode")[0]
    present = np.flatnonzero(codes >= 0)
    if present.size < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = present[np.argsort(codes[present], kind="stable")]
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    group_of = np.repeat(np.arange(len(starts)), sizes)
    position = np.arange(len(order)) - starts[group_of]
    in_shared = sizes[group_of] >= 2
    shared = np.flatnonzero(in_shared)
    if shared.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    wanted = shared.size * per_record
    mine = np.repeat(shared, per_record) if wanted <= max_pairs else rng.choice(shared, max_pairs)
    size = sizes[group_of[mine]]
    other = rng.integers(0, size - 1)
    other = other + (other >= position[mine])  # skip the record itself
    left, right = order[mine], order[starts[group_of[mine]] + other]
    return np.minimum(left, right), np.maximum(left, right)


def household_sample(
    table: RecordTable, comparisons: list[Comparison], rng: np.random.Generator
) -> tuple[list[Comparison], np.ndarray, np.ndarray] | None:
    """The comparisons the correction reads (given name, family name, location, date of birth if
    any) and random pairs sharing a postcode; None when the records lack what it needs."""
    names = {comp.name: c for c, comp in enumerate(comparisons)}
    if not {"given_name", "family_name", "location"} <= names.keys() or not table.has("postcode"):
        return None
    used = [comparisons[names[n]] for n in ("given_name", "family_name", "location")]
    used += [comparisons[names["date_of_birth"]]] if "date_of_birth" in names else []
    left, right = same_postcode_pairs(table, rng)
    return (used, left, right) if left.size else None


def household_u_from_levels(used: list[Comparison], gamma: np.ndarray) -> dict[int, np.ndarray]:
    """``{location level: u of the family-name levels}`` from the levels of :func:`household_sample`'s pairs."""
    given, family, location = used[:3]
    two_people = (gamma[:, 0] == len(given.levels) - 1) & (gamma[:, 1] > 0)
    if len(used) == 4:  # a keyed-wrong given name with the same date of birth is one person, not two
        births = used[3].labels
        two_people &= ~np.isin(gamma[:, 3], [births.index(label) for label in SAME_BIRTH if label in births])
    result = {}
    for level in range(1, len(location.levels) - 1):
        at_level = two_people & (gamma[:, 2] == level)
        if at_level.sum() < MIN_PAIRS:
            continue
        counts = np.bincount(gamma[at_level, 1], minlength=len(family.levels)).astype(float)
        counts[0] = 0.0
        counts[1:] += 1.0
        u = counts / counts[1:].sum()
        u[0] = 1.0
        result[level] = u
    return result

