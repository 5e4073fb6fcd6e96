"""Two people one extract lists apart: cannot-link pairs read from how sources list their people.

A register lists each of its people once at a home. When council tax's first extract holds AMIR
MALIK and AMIRA MALIK at 8 Beech Road, the source itself says they are two people: nothing else
could, since register records carry no date of birth, and pairwise their given names one letter
apart at one home (+5 bits for a typo-like given name, +7.6 for the home) make them one. The same
holds for MING / YING WU and for every household whose members' names are near each other.

So a compared pair is *listed apart*, and may not link, when both records

1. come from the same source's same first extract (``first_extract``: a record a source starts to
   hold later may be a re-registration of someone it already lists, so only one extract speaks);
2. are at the same dwelling; and
3. have given names that are not identical, and do not share a date of birth (where both records
   have one). A source's own duplicates within an extract are copies of one row (the same name),
   or typed again with a slip of the keyboard but the same date of birth; both stay linkable.

One extract listing the same full name at two homes is two people too, as the namesake joins'
rule 4 already reads it (:mod:`engine.matching.namesakes`): council tax and the electoral roll both
listed LI WANG at 39 Cedar Road and at Flat 12 Cedar Lodge, and a rare name with nothing against it
(no date of birth; another postcode in the same sector, which in a borough is almost every pair) had
scored 0.94 between them. A second home of one person is rarer than namesakes in a borough, and a
move shows up as a record a source starts to hold in a later extract, not as two in one.

Wherever they live, two records of one extract whose dates of birth differ by more than a keying
slip (not the same date, not day and month transposed, not one digit) are two people as well: one
extract does not list a person twice with two birth dates. This is what keeps JONATHAN JONES (born
1972) and JONATHAN JOHNSON (born 1984) apart, whose employment records each link to the other's
register record (same given name, surnames alike under Jaro-Winkler, same postcode) and so chained
two households' fathers into one person.

The pairs act like a reviewer's rejection in clustering (the chain guard keeps the two apart even
through a third record that links to both) and in the namesake joins. Without ``first_extract``
(CSV mode, FEBRL) there are none.
"""

from __future__ import annotations

import numpy as np

from engine.matching.comparisons import Comparison
from engine.matching.namesakes import FIRST_EXTRACT
from engine.matching.records import RecordTable

#: the location level that means one home (see ``comparisons._location``)
SAME_DWELLING = "same dwelling"
#: location levels under which two named homes may be one written two ways
ONE_HOME_WRITTEN_TWO_WAYS = (SAME_DWELLING, "similar address (token-sort >= 90, same numbers)")
#: date-of-birth levels under which two records of one extract at one home with different given
#: names may still be one person typed twice (rule 3)
SAME_BIRTH = ("exact match",)
#: date-of-birth levels a keying slip explains; any other level with both dates present is two people
KEYING_SLIPS = ("null", "exact match", "day and month transposed", "Damerau-Levenshtein <= 1")


def listed_apart(
    table: RecordTable, comparisons: list[Comparison], left: np.ndarray, right: np.ndarray, gamma: np.ndarray
) -> set[tuple[int, int]]:
    """``(i, j)`` with ``i < j`` for every compared pair that the rules above say is two people."""
    hits = np.flatnonzero(listed_apart_mask(table, comparisons, left, right, gamma))
    return set(zip(np.minimum(left[hits], right[hits]).tolist(), np.maximum(left[hits], right[hits]).tolist()))


def listed_apart_mask(
    table: RecordTable, comparisons: list[Comparison], left: np.ndarray, right: np.ndarray, gamma: np.ndarray
) -> np.ndarray:
    """Per compared pair: do the rules above say it is two people (a borough has hundreds of
    thousands of such pairs, so the linker keeps them as arrays)."""
    names = {comp.name: c for c, comp in enumerate(comparisons)}
    nothing = np.zeros(len(left), dtype=bool)
    if not table.has(FIRST_EXTRACT) or not {"given_name", "location"} <= names.keys():
        return nothing
    codes = table.codes(FIRST_EXTRACT)[0]
    same_extract = (codes[left] == codes[right]) & (codes[left] >= 0)
    location = comparisons[names["location"]]
    if SAME_DWELLING not in location.labels:
        return nothing
    one_home = gamma[:, names["location"]] == location.labels.index(SAME_DWELLING)
    given = comparisons[names["given_name"]]
    given_level = gamma[:, names["given_name"]]
    # null given names say nothing; "exact" is level 1 whatever the comparison's other levels are
    different_given = (given_level != 0) & (given_level != given.labels.index("exact match"))
    apart = one_home & different_given
    if "date_of_birth" in names:
        births = comparisons[names["date_of_birth"]].labels
        birth_level = gamma[:, names["date_of_birth"]]
        apart &= ~np.isin(birth_level, [births.index(label) for label in SAME_BIRTH if label in births])
        apart |= ~np.isin(birth_level, [births.index(label) for label in KEYING_SLIPS if label in births])
    apart |= _two_homes(table, location, left, right, gamma[:, names["location"]])
    return apart & same_extract


def _two_homes(table: RecordTable, location: Comparison, left: np.ndarray, right: np.ndarray,
               level: np.ndarray) -> np.ndarray:
    """Per pair: both records name a home (an address or a UPRN), and not one home written two ways."""
    named = np.zeros(len(table), dtype=bool)
    for column in ("address", "uprn"):
        if table.has(column):
            named |= table.codes(column)[0] >= 0
    one_home = [location.labels.index(label) for label in ONE_HOME_WRITTEN_TWO_WAYS if label in location.labels]
    return named[left] & named[right] & ~np.isin(level, one_home)
