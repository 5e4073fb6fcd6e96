"""``hearth explain-match A B``: the waterfall of one pair under the latest run's model.

The model (m, u, prior) is the one stored with the latest finished match run. Term frequencies are
counted over the source records as they are now (the run stores m/u, not every value's frequency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from engine.errors import NotFoundError
from engine.matching import store
from engine.matching.comparisons import comparison_for
from engine.matching.em import comparison_levels
from engine.matching.listed_apart import listed_apart
from engine.matching.pipeline import load_records, stored_populations
from engine.matching.scoring import MatchModel, WaterfallRow, probability, waterfall


@dataclass
class Explanation:
    run_id: int
    record_a: str
    record_b: str
    rows: list[WaterfallRow]
    total_weight: float
    probability: float
    person_a: str | None
    person_b: str | None
    match_threshold: float
    #: one extract of one source lists the two records as two people: never linked, whatever the weight
    listed_apart: bool = False


def model_from_params(params: dict) -> MatchModel:
    """Rebuild the scoring model stored in a run's params."""
    model = params["model"]
    comparisons, m, u = [], [], []
    for entry in model["comparisons"]:
        comparison = comparison_for(entry["name"])
        if comparison.labels != entry["levels"]:
            raise NotFoundError(
                f"the stored model's levels for {entry['name']!r} differ from this Hearth version's; "
                "run `hearth match-run` again before explaining"
            )
        comparisons.append(comparison)
        m.append(np.array(entry["m"], dtype=float))
        u.append(np.array(entry["u"], dtype=float))
    household = {int(level): np.array(u, dtype=float) for level, u in model.get("household_u", {}).items()}
    return MatchModel(comparisons, m, u, float(model["prior"]), household_u=household)


def explain(conn: sa.Connection, record_a: str, record_b: str) -> Explanation:
    run = store.latest_run(conn)
    if run is None:
        raise NotFoundError("no match run has finished yet; run `hearth match-run` first")
    table = load_records(conn, stored_populations(conn))
    index = {key: i for i, key in enumerate(table.keys)}
    missing = [key for key in (record_a, record_b) if key not in index]
    if missing:
        raise NotFoundError(
            f"record key(s) {', '.join(repr(m) for m in missing)} not found in source_records; "
            "record keys look like '<feed>:<record_id>'"
        )
    model = model_from_params(run.params)
    rows, total = waterfall(model, table, index[record_a], index[record_b])
    left, right = np.array([index[record_a]]), np.array([index[record_b]])
    apart = listed_apart(table, model.comparisons, left, right, comparison_levels(table, model.comparisons, left, right))
    people = store.current_assignments(conn)
    return Explanation(run.run_id, record_a, record_b, rows, total, float(probability(total)),
                       people.get(record_a), people.get(record_b),
                       float(run.params["settings"]["match_threshold"]), bool(apart))
