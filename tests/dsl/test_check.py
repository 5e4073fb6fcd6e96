"""The checker: every problem in one pass, in order; shipped frameworks are clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl import check_paths, load_framework
from tests.dsl.conftest import HEADER, REPO

SHIPPED = [p for p in (REPO / "frameworks" / "phase2", REPO / "frameworks" / "phase3", REPO / "examples" / "local_plan")
           if p.is_dir()]


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_frameworks_have_no_errors(folder: Path) -> None:
    """The national frameworks and the example local plan check without errors and compile."""
    errors = [d.render() for d in check_paths([folder]) if d.is_error]
    assert errors == []
    assert load_framework(folder).needs


def test_every_problem_in_one_pass_across_files(tmp_path: Path) -> None:
    """Problems in several files are all reported at once, sorted by file and line."""
    (tmp_path / "a.hearth").write_text(HEADER + 'parameter p: percent\n  90 from 2020-01-01 source "x" local\nend\n')
    (tmp_path / "b.hearth").write_text(
        'headline H "h"\nend\n'
        'need n_one "N" under HH\n  for each kid\n  met when p > 3% and nothing\n  source "x" local\nend\n')
    diagnostics = check_paths([tmp_path])
    errors = [(Path(d.span.file).name, d.span.line, d.message.split(":")[0].split(";")[0]) for d in diagnostics
              if d.is_error]
    assert errors == [
        ("a.hearth", 6, "percent without %"),
        ("b.hearth", 3, "unknown headline `HH`"),
        ("b.hearth", 4, "unknown role `kid`"),
        ("b.hearth", 5, "unknown name `nothing`"),
    ]
    warnings = [d.message for d in diagnostics if not d.is_error]
    assert any("capitals, e.g. N_ONE" in w for w in warnings)


def test_checker_finds_families_of_unit_mistakes(tmp_path: Path) -> None:
    """Ordering codes, negating text, summing codes and non-condition needs are each reported."""
    (tmp_path / "f.hearth").write_text(HEADER + '''
fact offence about person
  offence_date: date
  outcome: code (proven, caution)
  offence_type: text
  dated by offence_date
end
headline H "h"
end
need A "a" under H
  for each member
  met when count of offence
  source "x" local
end
need B "b" under H
  for each member
  met when any offence where outcome > proven or sum of offence.outcome > 1 or -offence_type = "x"
  source "x" local
end
''')
    messages = [d.message for d in check_paths([tmp_path / "f.hearth"]) if d.is_error]
    assert any("need A must be a condition" in m and "count" in m for m in messages)
    assert any("`>` needs numbers, dates or durations" in m for m in messages)
    assert any("cannot take the sum of offence.outcome" in m for m in messages)
    assert any("cannot negate a text" in m for m in messages)
