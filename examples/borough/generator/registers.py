"""Identity-only registers (council tax, electoral roll): who lives where, as each extract saw it.

The first extract is a full snapshot of the register; later ones carry only new entries (someone moved
in, or came of age), the way change files from these systems arrive.
"""

from __future__ import annotations

from .households import DAY_YEAR, Population
from .render import FeedRenderer


def _entries(pop: Population, households: list[int], day: int, liable_only: bool) -> list[tuple[int, int, int]]:
    """(person, household, address) entries the register holds on ``day`` for ``households``."""
    entries = []
    for household in households:
        adults = [p for p in pop.hh_members[household]
                  if pop.joined[p] <= day and pop.household_on(p, day) == household and pop.age_on(p, day) >= 18]
        if liable_only and pop.hh_shape[household] != "shared_house":
            adults = sorted(adults, key=lambda p: pop.dob[p])[:2]
        address = pop.address_on(household, day)
        entries.extend((person, household, address) for person in adults)
    return entries


def _changes(pop: Population) -> list[tuple[int, int]]:
    """(day, household) for every move, separation and coming of age: when a register can gain entries."""
    changes = [(since, h) for h, history in enumerate(pop.hh_addresses) for _, since in history[1:]]
    for person in range(pop.size):
        if pop.left[person]:
            changes.append((pop.left[person], pop.next_household[person]))
        adult = int(pop.dob[person] + 18 * DAY_YEAR) + 1
        if pop.start <= adult <= pop.end:
            changes.append((adult, pop.household_on(person, adult)))
    return sorted(changes)


def render_register(pop: Population, renderer: FeedRenderer) -> None:
    """Snapshot in the first extract, then the new entries of each later month."""
    spec = renderer.spec
    liable_only = spec.name == "council_tax"
    unregistered = {p for p in range(pop.size) if spec.name == "electoral_roll" and renderer.rnd.random() < 0.08}
    changes = _changes(pop)
    seen: set[tuple[int, int, int]] = set()
    previous = None
    for index, extract_day in enumerate(renderer.extract_days):
        day = extract_day - 1
        if previous is None:
            households = list(range(len(pop.hh_shape)))
        else:
            households = sorted({h for d, h in changes if previous <= d <= day})
        previous = day + 1
        for person, household, address in _entries(pop, households, day, liable_only):
            if person in unregistered or (person, household, address) in seen:
                continue
            seen.add((person, household, address))
            # an elector re-registers at each address; a council tax payer keeps one party id
            key = (person, address) if spec.name == "electoral_roll" else person
            record = renderer.record_for(person, day, key)
            row = renderer.identity(record, day)
            row[spec.record_id] = record.record_id
            renderer.emit(index, row, record, [])
