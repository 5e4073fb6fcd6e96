"""Unknown results the columns word themselves: a member's periodic records (attendance) missing a period
of the window, or a member's date of birth missing, and nothing else in doubt.

Most unknowns of a real borough are of one kind: the latest term's attendance is not in the feeds yet,
so every school-age child's attendance rules (the needs and their outcome parts) are unknown, and the
evaluator was asked for each of them only to word that; the next kind is a register without a date of
birth, which leaves a member's roles unknown. The columns know which periods each member lacks, and whose
date of birth is missing, so they word it as the evaluator's ``_period_gaps`` and ``_attr_of`` do, and a
rule's unknown row is *explained* when every reached source of doubt in its evaluation is one of those (a
referenced rule's explained row counts as one). Any other source of doubt - an uncertain record, a
missing field, a missing parameter, a division by zero, a coverage gap of events, a record test that met
an unknown on a record even where its answer was decided (the evaluator keeps the reasons it met on the
way) - marks the row *doubtful*, and a doubtful unknown row is left to the evaluator, as every unknown
row was before. An unknown row with no source at all is left to it too, so a source this module does
not know of can only cost time, never a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Hashable

import numpy as np

from engine.columns.values import UNSURE
from engine.rules.calendar import period_end, period_label

if TYPE_CHECKING:
    from engine.columns.person import RuleColumns


@dataclass
class Missing:
    """What each subject lacks (``has``: subjects x items, false where the item is missing: the periods
    of a periodic aggregate's window, a date of birth), and each item's reason with the subject left out
    (before, after)."""

    has: np.ndarray
    words: list[tuple[str, str]]

    def reasons(self, row: int, subject: str) -> list[str]:
        present = self.has[row]
        return [before + subject + after for i, (before, after) in enumerate(self.words) if not present[i]]


def period_words(name: str, unit: str, expected: list[Hashable], as_of: date, coverage: Any) -> list[tuple[str, str]]:
    """Each expected period's reason when a subject has no record of it, as ``_period_gaps`` words it."""
    words = []
    for key in expected:
        label, last = period_label(key, unit), period_end(key, unit)
        if last > as_of:
            words.append((f"{name} for {label} cannot be known yet on {as_of} for ", ""))
        elif coverage is not None and last > coverage.end:
            words.append((f"{name} for {label} is not in the feeds yet for ",
                          f": {name} records are only known up to {coverage.end}"))
        else:
            words.append((f"{name} for {label} missing for ", f" (fact type {name})"))
    return words


#: the reason the evaluator gives a member's age when their date of birth is missing (Evaluation._attr_of)
NO_BIRTH_DATE = [("date of birth missing for ", ", so their age is unknown")]


def explain_rows(value: np.ndarray, reads: list[tuple], rules: dict[str, RuleColumns | None],
                 undecided: np.ndarray | None) -> tuple[np.ndarray | None, list[tuple]]:
    """A rule's unknown rows the columns explain, and the ordered sources of their reasons: ("gaps", rows,
    :class:`Missing`) and ("ref", rows, referenced rule's name), in the order evaluation met them (the
    order the evaluator collects reasons in)."""
    doubt = np.zeros(len(value), dtype=bool)
    sourced = np.zeros(len(value), dtype=bool)
    why: list[tuple] = []
    for read in reads:
        if read[0] == "doubt":
            doubt |= read[1]
        elif read[0] == "gaps":
            why.append(read)
            sourced |= read[1]
        elif read[0] == "ref":
            ref = rules[read[1]]
            unknown = read[2] & (ref.value == UNSURE)
            explained = ref.explained if ref.explained is not None else np.zeros(len(value), dtype=bool)
            doubt |= unknown & ~explained
            if (unknown & explained).any():
                why.append(("ref", unknown & explained, read[1]))
                sourced |= unknown & explained
    explained = (value == UNSURE) & sourced & ~doubt
    if undecided is not None:
        explained &= ~undecided
    if not explained.any():
        return None, []
    return explained, why


def reasons_of(found: RuleColumns, rules: dict[str, RuleColumns | None], row: int, subject: str,
               memo: dict | None = None) -> list[str]:
    """An explained row's reasons, each once, in the order the evaluator collects them (``memo``: the
    batch's referenced rules' reasons already worded, by (rule, row))."""
    reasons: list[str] = []
    for kind, rows, source in found.why:
        if rows[row]:
            if kind == "gaps":
                reasons += source.reasons(row, subject)
            elif memo is None:  # a referenced rule's explained row: its reasons
                reasons += reasons_of(rules[source], rules, row, subject)
            else:
                worded = memo.get(("reasons", source, row))
                if worded is None:
                    worded = memo[("reasons", source, row)] = reasons_of(rules[source], rules, row, subject, memo)
                reasons += worded
    return list(dict.fromkeys(reasons))


__all__ = ["Missing", "NO_BIRTH_DATE", "period_words", "explain_rows", "reasons_of"]
