"""Speed work must not change a single byte: results on a seeded sample of benchmark families are
compared with a digest recorded before the evaluator was optimised (bulk and traced, with and without
case dates, on two evaluation dates)."""

from __future__ import annotations

import hashlib
import importlib.util
from datetime import date
from pathlib import Path

import pytest

from dsl.api import load_framework
from engine.rules.evaluator import compile_framework

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("evaluator_bench", ROOT / "benchmarks" / "evaluator_bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

#: sha256 of the results' canonical JSON, one per line, recorded with the unoptimised evaluator
GOLDEN = {
    (False, date(2023, 9, 1)): "7de8e69c5be4b8132d25a354dd6607ac38e89bca413fe1fdeec081b467342b3b",
    (True, date(2023, 9, 1)): "cbb69166b76b8f28df65dc08dafa6504d96620e4e4df73e78fe23c7dfd47c290",
    (False, date(2023, 3, 15)): "08f1f785cfa9e7588a8420dff0d665195afbd24ce1e1db7dc97a6170c828e299",
}


@pytest.fixture(scope="module")
def compiled():
    return compile_framework(load_framework(ROOT / "frameworks" / "phase3"))


def digest(compiled, trace: bool, as_of: date) -> str:
    sha = hashlib.sha256()
    for family in bench.synthetic_families(40, seed=5):
        sha.update(compiled.evaluate(family, as_of, trace=trace).to_json().encode())
        sha.update(b"\n")
    return sha.hexdigest()


@pytest.mark.parametrize("trace, as_of", list(GOLDEN))
def test_results_are_byte_identical_to_the_recorded_digest(compiled, trace, as_of):
    assert digest(compiled, trace, as_of) == GOLDEN[(trace, as_of)]
