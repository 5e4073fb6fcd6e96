"""Composition: a local plan extends a national framework; overrides are explicit and unambiguous."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl import DslError, check_paths, load_framework

PLAN_HEADER = '''framework local "Local plan"
  extends sf_phase3 from "{base}"
  phase "3"
  version "1"
end
'''
OVERRIDE = '''override parameter attendance_threshold label "{label}"{priority}
  {value}% from 2023-04-01 source "Cabinet decision" local
end
'''


def write_plan(folder: Path, base: Path, *parts: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.hearth").write_text(PLAN_HEADER.format(base=base.as_posix()) + "\n".join(parts))
    return folder


def test_local_plan_merges_and_records_override_label(local_plan_dir) -> None:
    """The example plan adds a local need and overrides a threshold, with its label in the IR."""
    fw = load_framework(local_plan_dir)
    assert (fw.header.id, fw.header.extends) == ("borough_local", "sf_phase3")
    threshold = fw.parameter("attendance_threshold")
    assert threshold.override_label == "Local: stricter attendance from April 2023"
    assert [v.value for v in threshold.values] == [92]
    young_carer = fw.need("LOCAL_YOUNG_CARER")
    assert young_carer.local is True and fw.need("CRIME_OFFENDING").local is False
    assert "plan.hearth" in fw.sources and "../sketch/framework.hearth" in fw.sources
    assert fw.need("CRIME_OFFENDING").span.file == "../sketch/framework.hearth"
    assert check_paths([local_plan_dir]) == []


def test_redefining_a_national_name_without_override_names_both_lines(tmp_path, sketch_dir) -> None:
    """A plain redefinition is an error at the local line that also points at the national one."""
    plan = write_plan(tmp_path / "plan", sketch_dir, 'parameter minimum_needs: count\n  2 from 2023-01-01 source "x" local\nend\n')
    [error] = [d for d in check_paths([plan]) if d.is_error]
    assert "parameter `minimum_needs` is already defined by `sf_phase3`" in error.message
    assert error.span.file.endswith("plan.hearth") and error.span.line == 6
    assert error.related[0].span.file.endswith("framework.hearth") and error.related[0].span.line == 20


def test_two_overrides_without_priority_name_both_lines(tmp_path, sketch_dir) -> None:
    """Two overrides of one name with no priority between them is an error naming both."""
    plan = write_plan(tmp_path / "plan", sketch_dir, OVERRIDE.format(label="A", priority="", value=92),
                      OVERRIDE.format(label="B", priority="", value=95))
    with pytest.raises(DslError) as caught:
        load_framework(plan)
    [error] = caught.value.errors
    assert "two overrides of parameter `attendance_threshold`" in error.message
    assert {error.span.line, error.related[0].span.line} == {6, 10}  # "\n".join adds a blank line


def test_stated_priority_picks_the_override(tmp_path, sketch_dir) -> None:
    """With priorities, the higher one applies and its label is recorded."""
    plan = write_plan(tmp_path / "plan", sketch_dir, OVERRIDE.format(label="Low", priority=" priority 1", value=92),
                      OVERRIDE.format(label="High", priority=" priority 5", value=95))
    threshold = load_framework(plan).parameter("attendance_threshold")
    assert (threshold.override_label, threshold.values[0].value, threshold.unit) == ("High", 95, "percent")


@pytest.mark.parametrize(("part", "fragment"), [
    ('override parameter attendance_threshold\n  92% from 2023-04-01\nend\n', "needs a label"),
    ('override parameter atendance_threshold label "x"\n  92% from 2023-04-01\nend\n',
     "has no such parameter to override; did you mean `attendance_threshold`?"),
    ('parameter attendance_threshold: percent label "x"\n  92% from 2023-04-01\nend\n', "`label` belongs to an override"),
])
def test_override_mistakes(tmp_path, sketch_dir, part: str, fragment: str) -> None:
    """Overrides need a label and an inherited name to replace; a label alone is not an override."""
    plan = write_plan(tmp_path / "plan", sketch_dir, part)
    assert any(fragment in d.message for d in check_paths([plan]) if d.is_error)


def test_extends_problems_are_diagnostics(tmp_path, sketch_dir) -> None:
    """A missing base folder, a wrong id and an extends loop are reported, not raised."""
    missing = write_plan(tmp_path / "a", tmp_path / "nowhere")
    assert any("cannot extend `sf_phase3`" in d.message for d in check_paths([missing]))
    wrong = tmp_path / "b"
    wrong.mkdir()
    (wrong / "plan.hearth").write_text(PLAN_HEADER.replace("sf_phase3", "sf_phase2").format(base=sketch_dir.as_posix()))
    assert any("is `sf_phase3`" in d.message for d in check_paths([wrong]))
    loop = write_plan(tmp_path / "c", tmp_path / "c")
    assert any("loop" in d.message for d in check_paths([loop]))


def test_override_keeps_the_unit(tmp_path, sketch_dir) -> None:
    """An override in another unit than the inherited parameter is an error naming both."""
    plan = write_plan(tmp_path / "plan", sketch_dir, 'override parameter attendance_threshold: count label "x"\n'
                      '  3 from 2023-04-01 source "x" local\nend\n')
    [error] = [d for d in check_paths([plan]) if "an override keeps the unit" in d.message]
    assert error.is_error and error.span.line == 6 and error.related[0].span.line == 10


HEADER_WITH_INCLUDE = '''framework {id} "Framework {id}"
  phase "3"
  version "1"
  include "{include}"
end
'''
SHARED_FACT = '''fact offence about person
  "An offence."
  offence_date: date
  dated by offence_date
  recorded as events
  source "Police" local
end
'''
ROLE_READING_IT = '''role offender "Offender"
  count of offence >= 1
  source "x" local
end
'''


def _framework(folder: Path, include: str, *parts: str, name: str = "a") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "framework.hearth").write_text(HEADER_WITH_INCLUDE.format(id=name, include=include) + "\n".join(parts))
    return folder


def test_two_frameworks_share_an_included_file(tmp_path) -> None:
    """Declarations from an included file act as the framework's own, with spans naming the shared file."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "facts.hearth").write_text(SHARED_FACT)
    one = _framework(tmp_path / "one", "../shared/facts.hearth", ROLE_READING_IT, name="one")
    two = _framework(tmp_path / "two", "../shared", ROLE_READING_IT, name="two")  # a folder works too
    for folder in (one, two):
        assert check_paths([folder]) == []
        fw = load_framework(folder)
        [fact] = fw.fact_types
        assert fact.name == "offence" and fact.span.file.endswith("shared/facts.hearth")


def test_include_problems_are_diagnostics(tmp_path) -> None:
    """A header in an included file, a declaration both included and local, and including the framework's
    own file are errors naming the lines involved."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "facts.hearth").write_text(SHARED_FACT)
    (shared / "headed.hearth").write_text('framework other "Other"\nend\n')
    headed = _framework(tmp_path / "h", "../shared/headed.hearth", SHARED_FACT)
    [error] = [d for d in check_paths([headed]) if d.is_error]
    assert "holds declarations only" in error.message and error.related[0].span.line == 4
    twice = _framework(tmp_path / "t", "../shared/facts.hearth", SHARED_FACT)
    [error] = [d for d in check_paths([twice]) if d.is_error]
    assert "fact `offence` is defined twice" in error.message or "defined twice" in error.message
    own = _framework(tmp_path / "o", "framework.hearth")
    [error] = [d for d in check_paths([own]) if d.is_error]
    assert "already part of this framework" in error.message and error.span.line == 4


def test_shipped_phases_share_one_fact_catalogue() -> None:
    """Phase 2 and Phase 3 read the same facts file, so the catalogue cannot drift between them."""
    root = Path(__file__).resolve().parents[2] / "frameworks"
    p2, p3 = load_framework(root / "phase2"), load_framework(root / "phase3")
    assert {f.span.file for f in p2.fact_types} == {f.span.file for f in p3.fact_types}
    assert [f.name for f in p2.fact_types] == [f.name for f in p3.fact_types] and len(p3.fact_types) > 15


def test_checking_a_folder_of_frameworks_checks_shared_files_through_their_includers(tmp_path) -> None:
    """`hearth check frameworks` covers the shared folder through the frameworks including it (no false
    'no header' error), while a headerless folder nobody includes is still reported."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "facts.hearth").write_text(SHARED_FACT)
    _framework(tmp_path / "one", "../shared/facts.hearth", ROLE_READING_IT, name="one")
    assert check_paths([tmp_path]) == []
    (tmp_path / "stray").mkdir()
    (tmp_path / "stray" / "x.hearth").write_text(ROLE_READING_IT)
    errors = [d for d in check_paths([tmp_path]) if d.is_error]
    assert any("no `framework` header" in d.message and "stray" in d.span.file for d in errors)
    assert not any("shared" in d.span.file for d in errors)
    (tmp_path / "stray" / "x.hearth").unlink()
    (shared / "unused.hearth").write_text(SHARED_FACT.replace("offence", "arrest"))  # included by nobody
    assert any("shared" in d.span.file for d in check_paths([tmp_path]) if d.is_error)
