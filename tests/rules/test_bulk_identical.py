"""Speed work must not change a single byte: results on a seeded sample of benchmark families are
compared with a digest recorded before the evaluator was optimised (bulk and traced, with and without
case dates, on two evaluation dates).

The framework's content hash (which covers its source text, comments included) is masked before hashing,
so editing a comment in a framework file does not look like an evaluator change; any change to a rule's
result, evidence, parameters or location still does."""

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

#: sha256 of the results' canonical JSON (framework hash masked), one per line. First recorded unmasked with
#: the unoptimised evaluator; re-recorded masked on the same framework text, where the optimised evaluator
#: reproduced the unmasked digests exactly.
GOLDEN = {
    (False, date(2023, 9, 1)): "1b8325405c49c8f0de7748ab3de3885b933b756ff14f437070f6c230c23eda8d",
    (True, date(2023, 9, 1)): "d24d9e9667056f1daf90d4e80cf862be0231b66c735cfac8a0a03b11b4e9fd78",
    (False, date(2023, 3, 15)): "f90363f6a8a96a8ba1b432dc2a1aae73c352736d18afb61f0e64f80ce997b9fb",
}


@pytest.fixture(scope="module")
def compiled():
    return compile_framework(load_framework(ROOT / "frameworks" / "phase3"))


def digest(compiled, trace: bool, as_of: date) -> str:
    sha = hashlib.sha256()
    for family in bench.synthetic_families(40, seed=5):
        text = compiled.evaluate(family, as_of, trace=trace).to_json()
        sha.update(text.replace(compiled.hash, "<framework hash>").encode())
        sha.update(b"\n")
    return sha.hexdigest()


@pytest.mark.parametrize("trace, as_of", list(GOLDEN))
def test_results_are_byte_identical_to_the_recorded_digest(compiled, trace, as_of):
    assert digest(compiled, trace, as_of) == GOLDEN[(trace, as_of)]
