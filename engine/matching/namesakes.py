"""Namesakes with one candidate each: persons the pairwise model could not join on its own.

A register record (electoral roll, council tax) carries a name and a home but no date of birth. When
its person moves, the register shows the new home while an employment or benefits record still has
the old postcode: the two agree on the full name and nothing else, and pairwise that is genuinely
ambiguous (in a borough, most such pairs are namesakes), so they stay below the match threshold.

Looking at whole persons settles many of them. Two persons are joined when:

1. they agree exactly on given and family name in some compared pair that is not a clear non-match,
   and each is the other's only namesake that rules 2-4 allow (with two possible candidates, which
   one is unknowable; a namesake those rules exclude cannot be the person, so it is no rival);
2. no compared pair between them is a clear non-match (probability < ``CLEAR_NON_MATCH``: dates of
   birth a generation apart, a child's date of birth against an adults-only register, different
   identifiers) and no reviewer rejected one;
3. where both have dates of birth, they share one;
4. no source holds both of them from the same first extract. One person listed twice by a source
   from the same extract, at two homes, is less likely than two namesakes; a second record that a
   source starts to hold later is what a move looks like. This needs each record's source and first
   extract (the ``first_extract`` column, from ``batches``); without it the step does not run.

The same rules then join **a surname changed at home**: a register record in a woman's old surname
and an employment record in her new one share the given name and the home, nothing else. Proposed
by pairs whose given names agree exactly, whose family names differ, and which share a dwelling (or a
postcode where one side names no home), they are joined under rules 1-4 as above.

Each join is recorded with the pair that proposed it, so ``hearth explain-match`` and the run's
params show why two records below the threshold share a person.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from engine.matching.clustering import CLEAR_NON_MATCH
from engine.matching.records import RecordTable

#: per record: "<source> <first extract date>" (see rule 4)
FIRST_EXTRACT = "first_extract"


def join_namesakes(
    table: RecordTable,
    left: np.ndarray,
    right: np.ndarray,
    prob: np.ndarray,
    proposes: np.ndarray,
    labels: np.ndarray,
    rejected: set[tuple[int, int]] = frozenset(),
    kind: str = "namesake",
) -> list[dict]:
    """Join persons by the rules above, proposed by the pairs where ``proposes`` is true (the full
    name agrees; or, for a surname changed at home, the given name agrees at a shared home);
    ``labels`` is updated in place. Returns the joins made."""
    if not table.has(FIRST_EXTRACT):
        return []
    label_left, label_right = labels[left], labels[right]
    across = label_left != label_right
    vetoed = {_key(a, b) for a, b in zip(label_left[across & (prob < CLEAR_NON_MATCH)].tolist(),
                                         label_right[across & (prob < CLEAR_NON_MATCH)].tolist())}
    vetoed |= {_key(labels[a], labels[b]) for a, b in rejected}
    proposing = np.flatnonzero(across & proposes & (prob >= CLEAR_NON_MATCH))
    proposal: dict[tuple[int, int], int] = {}
    for k in proposing.tolist():
        key = _key(int(label_left[k]), int(label_right[k]))
        if key not in vetoed and (key not in proposal or prob[k] > prob[proposal[key]]):
            proposal[key] = k
    if not proposal:
        return []
    persons = np.fromiter({p for key in proposal for p in key}, dtype=labels.dtype)
    members: dict[int, list[int]] = defaultdict(list)
    for record in np.flatnonzero(np.isin(labels, persons)).tolist():
        members[int(labels[record])].append(record)
    births = {p: {table.values("date_of_birth")[r] for r in rs} - {None} for p, rs in members.items()}
    codes = table.codes(FIRST_EXTRACT)[0]
    extracts = {p: {int(codes[r]) for r in rs} - {-1} for p, rs in members.items()}
    # rules 2-4 first: a namesake who cannot be the person does not make the choice ambiguous
    possible = {(a, b): k for (a, b), k in proposal.items()
                if not (births[a] and births[b] and not births[a] & births[b]) and not extracts[a] & extracts[b]}
    candidates: dict[int, int] = defaultdict(int)
    for a, b in possible:
        candidates[a] += 1
        candidates[b] += 1
    joins = []
    for (a, b), k in sorted(possible.items()):
        if candidates[a] != 1 or candidates[b] != 1:
            continue
        for record in members[b]:
            labels[record] = a
        joins.append({"kind": kind, "records": (table.keys[int(left[k])], table.keys[int(right[k])]),
                      "probability": float(prob[k]), "persons_joined": (len(members[a]), len(members[b]))})
    return joins


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)
