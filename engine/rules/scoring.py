"""Headlines (met when any need under them is met) and weighted scores with RAG bands.

A score counts the weights of met targets; unknown targets give the score a range (``score`` to
``score_max``), and the RAG rating is only certain when both ends of the range fall in the same band.
"""

from __future__ import annotations

from engine.rules import ir
from engine.rules.results import MET, NOT_MET, UNKNOWN, NeedResult, ScoreResult, TriResult, any_met


def headline_results(framework: ir.Framework, needs: dict[str, NeedResult]) -> dict[str, TriResult]:
    """Each headline: met if any need under it is met; unknown if none is met and any is unknown."""
    declared = {h.code: h for h in framework.headlines}
    by_headline: dict[str, list[NeedResult]] = {code: [] for code in declared}
    for need in needs.values():
        by_headline.setdefault(need.headline, []).append(need)
    results = {}
    for code in sorted(by_headline):
        under = by_headline[code]
        values = [n.value for n in under]
        value = any_met(values)
        met = [n.code for n in under if n.value == MET]
        unknown = [n.code for n in under if n.value == UNKNOWN]
        headline = declared.get(code)
        detail = (f"needs met: {', '.join(met)}" if met else "no need met") + (
            f"; unknown: {', '.join(unknown)}" if unknown else "")
        reasons = [f"need {n.code}: {r}" for n in under if n.value == UNKNOWN for r in n.result.unknowns]
        results[code] = TriResult(value, code, "headline", headline.span if headline else None, (), None, [], [],
                                  reasons if value == UNKNOWN else [], [], detail)
    return results


def rag_band(score: ir.Score, points: float) -> str | None:
    for band in sorted(score.bands, key=lambda b: -b.min_score):
        if points >= band.min_score:
            return band.rating
    return None


def score_results(framework: ir.Framework, needs: dict[str, NeedResult],
                  headlines: dict[str, TriResult]) -> dict[str, ScoreResult]:
    results = {}
    for score in framework.scores:
        met = low = high = 0.0
        unknown_targets = 0
        for weight in score.weights:
            source = needs.get(weight.target) if weight.target_kind == "need" else headlines.get(weight.target)
            value = source.value if source is not None else NOT_MET
            if value == MET:
                met += weight.weight
            elif value == UNKNOWN and weight.weight:
                # an unknown target may or may not count: widen whichever end its weight moves
                unknown_targets += 1
                if weight.weight > 0:
                    high += weight.weight
                else:
                    low += weight.weight
        rag = rag_band(score, met)
        certain = rag_band(score, met + low) == rag_band(score, met + high)
        results[score.name] = ScoreResult(score.name, met, met + high, unknown_targets == 0, rag, certain)
    return results
