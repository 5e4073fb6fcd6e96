"""Fellegi-Sunter scoring: match weight = log2 prior odds + sum of log2(m/u) + term-frequency terms.

A term-frequency adjustment makes an exact agreement on a *common* value count for less than on a
rare one: at the exact level the weight uses the value's own frequency in place of the average u,
``adjustment = log2(u_exact / tf(value))`` (negative for SMITH, positive for a rare surname).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.matching.comparisons import Comparison
from engine.matching.records import RecordTable


@dataclass
class MatchModel:
    comparisons: list[Comparison]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float
    trained_by: list[list[str]] = field(default_factory=list)
    #: the family name's u given each agreeing location level (engine.matching.households)
    household_u: dict[int, np.ndarray] = field(default_factory=dict)

    def weights(self, c: int) -> np.ndarray:
        """log2(m/u) per level of comparison c (0 for the null level)."""
        w = np.log2(self.m[c]) - np.log2(self.u[c])
        w[0] = 0.0
        return w

    @property
    def prior_weight(self) -> float:
        return float(np.log2(self.prior / (1 - self.prior)))

    def to_params(self) -> dict:
        """JSON-ready parameters (stored with every match run and shown by explain-match)."""
        return {
            "prior": self.prior,
            "comparisons": [
                {
                    "name": comp.name,
                    "levels": comp.labels,
                    "m": [round(float(x), 8) for x in self.m[c]],
                    "u": [round(float(x), 10) for x in self.u[c]],
                    "term_frequency_level": comp.term_frequency_level,
                    "m_trained_by": self.trained_by[c] if self.trained_by else [],
                }
                for c, comp in enumerate(self.comparisons)
            ],
            "household_u": {str(level): [round(float(x), 10) for x in u] for level, u in self.household_u.items()},
        }

    def household_columns(self) -> tuple[int, int] | None:
        """(family name, location) comparison indices when the household correction applies."""
        names = {comp.name: c for c, comp in enumerate(self.comparisons)}
        if not self.household_u or "family_name" not in names or "location" not in names:
            return None
        return names["family_name"], names["location"]


def term_frequencies(table: RecordTable, column: str) -> np.ndarray:
    """Per record: the share of non-null records carrying the same value (nan for null)."""
    codes, vocabulary = table.codes(column)
    counts = np.bincount(codes[codes >= 0], minlength=len(vocabulary)).astype(float)
    total = counts.sum()
    tf = np.full(len(codes), np.nan)
    present = codes >= 0
    tf[present] = counts[codes[present]] / max(total, 1.0)
    return tf


def tf_adjustments(model: MatchModel, table: RecordTable, gamma: np.ndarray, left: np.ndarray) -> np.ndarray:
    """``adj[k, c]``: the term-frequency adjustment of pair k on comparison c (0 where none)."""
    adjustments = np.zeros(gamma.shape, dtype=float)
    for c, comp in enumerate(model.comparisons):
        level = comp.term_frequency_level
        if level is None:
            continue
        at_level = gamma[:, c] == level
        if not at_level.any():
            continue
        tf = term_frequencies(table, comp.column)[left[at_level]]
        adjustments[at_level, c] = np.log2(model.u[c][level]) - np.log2(np.maximum(tf, 1e-9))
    return adjustments


def pair_weights(model: MatchModel, table: RecordTable, gamma: np.ndarray, left: np.ndarray) -> np.ndarray:
    """``w[k, c]``: comparison c's weight for pair k, term frequencies and household correction included.

    For pairs at a location level with a household u (engine.matching.households), the family name
    weighs log2(m / u given that level) and takes no term-frequency adjustment.
    """
    weights = np.stack([model.weights(c)[gamma[:, c]] for c in range(len(model.comparisons))], axis=1)
    weights = weights + tf_adjustments(model, table, gamma, left)
    columns = model.household_columns()
    if columns is not None:
        family, location = columns
        m = model.m[family]
        for level, u in model.household_u.items():
            at = np.flatnonzero((gamma[:, location] == level) & (gamma[:, family] > 0))
            g = gamma[at, family]
            weights[at, family] = np.log2(m[g]) - np.log2(np.maximum(u[g], 1e-9))
    return weights


def match_weights(model: MatchModel, table: RecordTable, gamma: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Total match weight per pair."""
    return model.prior_weight + pair_weights(model, table, gamma, left).sum(axis=1)


def probability(weight: np.ndarray | float) -> np.ndarray | float:
    """Posterior match probability from a match weight."""
    return 1.0 / (1.0 + np.power(2.0, -np.clip(weight, -1000, 1000)))


@dataclass(frozen=True)
class WaterfallRow:
    comparison: str
    level: str
    left: object
    right: object
    m: float | None
    u: float | None
    weight: float
    tf_adjustment: float


def waterfall(model: MatchModel, table: RecordTable, i: int, j: int) -> tuple[list[WaterfallRow], float]:
    """Why records i and j score what they do: one row per comparison, plus the total weight."""
    from engine.matching.em import comparison_levels

    left, right = np.array([i]), np.array([j])
    gamma = comparison_levels(table, model.comparisons, left, right)
    adjustments = tf_adjustments(model, table, gamma, left)
    weights = pair_weights(model, table, gamma, left)
    household = model.household_columns()
    rows = [WaterfallRow("prior", "two random records match", None, None, None, None,
                         model.prior_weight, 0.0)]
    for c, comp in enumerate(model.comparisons):
        level = int(gamma[0, c])
        values = table.values(comp.levels[level].column)  # location shows the field that decided
        u = None if level == 0 else float(model.u[c][level])
        label, tf = comp.levels[level].label, float(adjustments[0, c])
        shared = None if household is None else model.household_u.get(int(gamma[0, household[1]]))
        if shared is not None and c == household[0] and level > 0:
            u, tf = float(shared[level]), 0.0
            label += " (u among people sharing this location)"
        rows.append(
            WaterfallRow(
                comp.name,
                label,
                values[i],
                values[j],
                None if level == 0 else float(model.m[c][level]),
                u,
                float(weights[0, c]) - tf,
                tf,
            )
        )
    total = sum(row.weight + row.tf_adjustment for row in rows)
    return rows, total
