"""Blocking: which record pairs are compared at all.

Each rule groups records by a key (same date of birth; same postcode and first initial; ...). Pairs
within a group are candidates; the rules' candidates are unioned and de-duplicated, remembering which
rules produced each pair (EM trains on one rule's pairs at a time, see :mod:`engine.matching.em`).
Everything is sorting and NumPy arithmetic, so 1M records block in seconds. A group larger than
``max_block_size`` (a default date like 1900-01-01, a placeholder postcode) would add a quadratic
number of mostly useless pairs; such groups are skipped and reported in :class:`BlockingReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engine.matching.records import RecordTable

_SOUNDEX = str.maketrans("BFPVCGJKQSXZDTLMNR", "111122222222334556")


def soundex(name: str) -> str | None:
    """American Soundex of the first word, e.g. ``ROBERT``/``RUPERT`` -> ``R163``.

    >>> soundex("ROBERT"), soundex("RUPERT"), soundex("ASHCRAFT")
    ('R163', 'R163', 'A261')
    """
    word = "".join(ch for ch in name.split(" ")[0] if ch.isalpha())
    if not word:
        return None
    digits = word.translate(_SOUNDEX)
    out, last = word[0], digits[0] if digits[0].isdigit() else ""
    for ch, code in zip(word[1:], digits[1:]):
        if code.isdigit() and code != last:
            out += code
        if ch not in "HW":
            last = code if code.isdigit() else ""
    return (out + "000")[:4]


def _initial(value: str) -> str:
    return value[:1]


def _year(value: str) -> str:
    return value[:4]


def _day_month(value: str) -> str:
    return value[5:]


@dataclass(frozen=True)
class KeyPart:
    """One part of a blocking key: a column, or a transform of one (``derived`` names the cache)."""

    column: str
    transform: Callable[[str], str | None] | None = None
    derived: str | None = None

    def codes(self, table: RecordTable) -> np.ndarray:
        if self.transform is None:
            return table.codes(self.column)[0]
        table.derived(self.derived, self.column, self.transform)
        return table.codes(self.derived)[0]


def column(name: str) -> KeyPart:
    return KeyPart(name)


def initial(name: str) -> KeyPart:
    return KeyPart(name, _initial, f"{name}#initial")


def birth_year(name: str = "date_of_birth") -> KeyPart:
    return KeyPart(name, _year, f"{name}#year")


def day_month(name: str = "date_of_birth") -> KeyPart:
    return KeyPart(name, _day_month, f"{name}#day_month")


def phonetic(name: str) -> KeyPart:
    return KeyPart(name, soundex, f"{name}#soundex")


@dataclass(frozen=True)
class BlockingRule:
    name: str
    parts: tuple[KeyPart, ...]

    @property
    def columns(self) -> frozenset[str]:
        return frozenset(part.column for part in self.parts)

    def keys(self, table: RecordTable) -> np.ndarray:
        """One int64 key per record, -1 where any part is null: equal keys for equal parts, ordered
        as the parts' codes are (the mixed-radix number of the codes)."""
        key = np.zeros(len(table), dtype=np.int64)
        missing = np.zeros(len(table), dtype=bool)
        for part in self.parts:
            codes = part.codes(table)
            missing |= codes < 0
            radix = int(codes.max(initial=0)) + 2
            # re-factorised (an order-keeping renumbering, so the same pairs in the same order) only
            # when the next part could overflow: a sort per part cost half of blocking
            if (int(key.max(initial=0)) + 1) * radix >= _KEY_LIMIT:
                key = _compact(key)
            key = key * radix + codes + 1
        key[missing] = -1
        return key


@dataclass
class BlockingReport:
    pairs_per_rule: dict[str, int] = field(default_factory=dict)
    skipped_blocks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    candidate_pairs: int = 0
    dropped_rules: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "pairs_per_rule": self.pairs_per_rule,
            "candidate_pairs": self.candidate_pairs,
            "dropped_rules_over_pair_budget": self.dropped_rules,
            "skipped_blocks": {
                rule: {"blocks": len(blocks), "records": sum(size for _, size in blocks)}
                for rule, blocks in self.skipped_blocks.items()
                if blocks
            },
        }


@dataclass
class CandidatePairs:
    """De-duplicated pairs ``left < right`` and, per pair, a bit per rule that produced it."""

    left: np.ndarray
    right: np.ndarray
    rule_bits: np.ndarray
    rules: list[BlockingRule]
    report: BlockingReport

    def __len__(self) -> int:
        return len(self.left)

    def from_rule(self, index: int) -> np.ndarray:
        """Positions of the pairs that rule ``index`` produced."""
        return np.flatnonzero(self.rule_bits & (1 << index))


_KEY_LIMIT = 2**62


def _compact(key: np.ndarray) -> np.ndarray:
    return np.unique(key, return_inverse=True)[1].astype(np.int64)


def default_rules(table: RecordTable) -> list[BlockingRule]:
    """The standard rules, keeping only those whose columns the records carry."""
    # A date of birth has ~30k values, so "same date of birth" alone grows quadratically (20M pairs
    # for 1M records). The broad rules below are kept while they fit the pair budget; the narrow
    # ones pair a low-cardinality key with a second one and grow about linearly.
    dob = column("date_of_birth")
    rules = [
        # broad rules: best recall on small and medium sets, dropped by the pair budget at scale
        BlockingRule("same date of birth", (dob,)),
        BlockingRule("same family-name soundex and birth year", (phonetic("family_name"), birth_year())),
        BlockingRule("same given and family name soundex", (phonetic("given_name"), phonetic("family_name"))),
        # narrow rules: about linear in the number of records
        BlockingRule("same date of birth and family-name soundex", (dob, phonetic("family_name"))),
        BlockingRule("same date of birth and given-name soundex", (dob, phonetic("given_name"))),
        BlockingRule("same postcode and first initial", (column("postcode"), initial("given_name"))),
        # a given name whose first letter differs (OMAR / UMAR, IBRAHIM / EBRAHIM) on a register record
        # with no date of birth shares nothing else the rules above key on
        BlockingRule("same postcode and family-name soundex", (column("postcode"), phonetic("family_name"))),
        BlockingRule(
            "same family-name soundex, first initial and birth year",
            (phonetic("family_name"), initial("given_name"), birth_year()),
        ),
        BlockingRule(
            "same given and family name soundex and birth day and month",
            (phonetic("given_name"), phonetic("family_name"), day_month()),
        ),
    ]
    for identifier in ("nhs_number", "upn", "ni_number", "uprn"):
        rules.append(BlockingRule(f"same {identifier}", (column(identifier),)))
    for name in sorted(c for c in table.columns if c.startswith("extra:")):
        rules.append(BlockingRule(f"same {name.removeprefix('extra:')}", (column(name),)))
    return [rule for rule in rules if all(table.has(part.column) for part in rule.parts)]


def block(
    table: RecordTable,
    rules: list[BlockingRule],
    *,
    max_block_size: int = 1000,
    max_pairs_per_record: float = 4.0,
) -> CandidatePairs:
    """Candidate pairs of ``table`` under the union of ``rules``.

    De-duplication needs no global sort: a pair belongs to rule r exactly when both records share
    rule r's key (and the block was not skipped), so each rule keeps only the pairs no earlier rule
    produced, and every pair's rule bits are the same equality test.
    """
    if len(rules) > 62:
        raise ValueError("at most 62 blocking rules (one bit each)")
    report = BlockingReport()
    keys = []
    for rule in rules:
        key = rule.keys(table)
        keys.append(key)
    lefts: list[np.ndarray] = []
    rights: list[np.ndarray] = []
    bits: list[np.ndarray] = []
    produced: list[int] = []  # the rule of each part of lefts / rights
    budget = max(max_pairs_per_record * len(table), 1000)
    for index, rule in enumerate(rules):
        generated = _pairs_within_groups(keys[index], max_block_size, budget)
        if generated is None:
            report.dropped_rules.append(rule.name)
            keys[index] = np.full(len(table), -1, dtype=np.int64)
            continue
        left, right, skipped = generated
        report.pairs_per_rule[rule.name] = int(left.size)
        report.skipped_blocks[rule.name] = skipped
        keys[index] = _without_skipped(keys[index], skipped)
        fresh = np.arange(left.size)
        for earlier in (keys[k] for k in produced):  # a dropped rule's key is all -1: it shares nothing
            fresh = fresh[~_shares_key(earlier, left[fresh], right[fresh])]
        lefts.append(np.minimum(left[fresh], right[fresh]))
        rights.append(np.maximum(left[fresh], right[fresh]))
        produced.append(index)
    # A rule's fresh pairs share no earlier rule's key (bits below its own are 0) and share its own
    # (its bit is 1); only later rules, whose keys are final only now, are tested.
    for part, index in enumerate(produced):
        part_bits = np.full(lefts[part].size, 1 << index, dtype=np.int64)
        for later in range(index + 1, len(rules)):
            part_bits |= _shares_key(keys[later], lefts[part], rights[part]).astype(np.int64) << later
        bits.append(part_bits)
    left = np.concatenate(lefts) if lefts else np.zeros(0, dtype=np.int64)
    right = np.concatenate(rights) if rights else np.zeros(0, dtype=np.int64)
    rule_bits = np.concatenate(bits) if bits else np.zeros(0, dtype=np.int64)
    report.candidate_pairs = int(left.size)
    return CandidatePairs(left, right, rule_bits, list(rules), report)


def _shares_key(key: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    a = key[left]
    return (a == key[right]) & (a >= 0)


def _without_skipped(key: np.ndarray, skipped: list[tuple[int, int]]) -> np.ndarray:
    if not skipped:
        return key
    key = key.copy()
    key[np.isin(key, [k for k, _ in skipped])] = -1
    return key


def _pairs_within_groups(keys: np.ndarray, max_block_size: int, budget: float):
    """All pairs of records sharing a key (>= 0), skipping groups above ``max_block_size``;
    ``None`` when there would be more than ``budget`` pairs."""
    records = np.flatnonzero(keys >= 0)
    order = records[np.argsort(keys[records], kind="stable")]
    sorted_keys = keys[order]
    boundaries = np.flatnonzero(np.diff(sorted_keys)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [sorted_keys.size]))
    sizes = ends - starts
    too_big = sizes > max_block_size
    skipped = [(int(sorted_keys[s]), int(size)) for s, size in zip(starts[too_big], sizes[too_big])]
    keep = (sizes > 1) & ~too_big
    if float((sizes[keep] * (sizes[keep] - 1) // 2).sum()) > budget:
        return None
    # every position p in a kept group pairs with the positions after it in the same group
    position_end = np.repeat(ends, sizes)
    positions = np.flatnonzero(np.repeat(keep, sizes))
    group_end = position_end[positions]
    counts = group_end - positions - 1
    total = int(counts.sum())
    left_pos = np.repeat(positions, counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    right_pos = left_pos + 1 + offsets
    return order[left_pos], order[right_pos], skipped
