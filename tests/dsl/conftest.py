"""Shared paths for the rule-language tests."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]


@pytest.fixture(scope="session")
def sketch_dir() -> Path:
    """The Phase 3 example from docs/language-sketch.md (plus the declarations it leaves out)."""
    return HERE / "good" / "sketch"


@pytest.fixture(scope="session")
def local_plan_dir() -> Path:
    return HERE / "good" / "local_plan"


HEADER = 'framework t "Test"\n  phase "3"\n  version "1"\nend\n'
