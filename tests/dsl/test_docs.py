"""Every example in the language reference is valid Hearth."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsl import parse_text

DOC = (Path(__file__).resolve().parents[2] / "docs" / "language.md").read_text()
BLOCKS = re.findall(r"```hearth\n(.*?)```", DOC, re.S)
CONDITIONS = [line for block in re.findall(r"```hearth-condition\n(.*?)```", DOC, re.S)
              for line in block.splitlines() if line.strip()]


def test_the_reference_has_examples() -> None:
    """The reference shows blocks and conditions (guards against a broken fence pattern)."""
    assert len(BLOCKS) >= 15 and len(CONDITIONS) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.split("\n", 1)[0][:40])
def test_block_examples_parse(block: str) -> None:
    """Each ```hearth block of docs/language.md parses."""
    assert parse_text(block, "language.md").declarations


@pytest.mark.parametrize("condition", CONDITIONS)
def test_condition_examples_parse(condition: str) -> None:
    """Each line of a ```hearth-condition block parses as a condition."""
    assert parse_text(f'role r "R"\n  {condition}\nend\n', "language.md").declarations[0].condition
