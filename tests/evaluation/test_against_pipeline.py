"""The truth side against a real pipeline run on a small generated borough: the two sides read the same
facts the same way, so every disagreement left is about people (matching, grouping) or broken source rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl import load_framework
from engine.evaluation.attribution import COVERAGE, FACTS, MEMBER_DETAILS
from engine.evaluation.truth import Truth, evaluate_against_truth
from engine.rules.evaluator import compile_framework
from engine.storage.db import make_engine
from workflows.cli.borough import load_generator
from workflows.pipeline import Pipeline, extract_dates, find_feeds

FRAMEWORK = Path(__file__).resolve().parents[2] / "frameworks" / "phase3"


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("truth")
    load_generator().generate(root / "borough", residents=1000, seed=5, months=2)
    framework = load_framework(FRAMEWORK)
    engine = make_engine(f"sqlite:///{root / 'hearth.db'}")
    feeds = find_feeds(root / "borough")
    Pipeline(engine, framework).run(feeds)
    as_of = max(extract_dates(feeds))
    return evaluate_against_truth(engine, Truth.load(root / "borough" / "truth"), as_of,
                                  compiled=compile_framework(framework))


def test_every_disagreement_has_one_cause(evaluated) -> None:
    attribution = evaluated.attribution
    disagreeing = sum(n for (truth, pipeline), n in evaluated.eligibility_confusion.items() if truth != pipeline)
    assert sum(attribution.eligibility.values()) == disagreeing
    assert disagreeing == round((1 - evaluated.eligibility_agreement) * evaluated.compared_households)
    wrong_needs = round((1 - evaluated.need_agreement) * evaluated.compared_needs)
    assert sum(attribution.needs.values()) == wrong_needs
    assert len(attribution.disagreements) == disagreeing + wrong_needs
    assert evaluated.compared_households > 300 and evaluated.eligibility_agreement > 0.9


def test_the_truth_reads_the_feeds_as_the_pipeline_does(evaluated) -> None:
    """No disagreement comes from facts, coverage or members' known details: knowledge time, end dates,
    dates of birth and coverage are built the same way on both sides."""
    attribution = evaluated.attribution
    for cause in (FACTS, COVERAGE, MEMBER_DETAILS):
        assert attribution.eligibility[cause] == 0 and attribution.needs[cause] == 0, [
            d for d in attribution.disagreements if d.cause == cause]
