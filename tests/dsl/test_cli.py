"""`hearth check` and `hearth fmt` exit codes and output."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from workflows.cli import build_app

BAD = Path(__file__).parent / "bad"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(build_app(), list(args))


def test_check_clean_framework_exits_zero(sketch_dir, local_plan_dir) -> None:
    """A framework with warnings only exits 0; --strict makes warnings fail."""
    result = run("check", str(local_plan_dir))
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output
    assert run("check", str(sketch_dir)).exit_code == 0
    strict = run("check", "--strict", str(sketch_dir))
    assert strict.exit_code == 1 and "warning: role adult has no citation" in strict.output


def test_check_reports_every_problem_with_location(monkeypatch) -> None:
    """Several files and folders in one run: every diagnostic printed as file:line:col, exit 1."""
    monkeypatch.chdir(BAD)
    result = run("check", "unknown_role.hearth", "lifecycle_stuck.hearth", "missing_end.hearth")
    assert result.exit_code == 1
    for fragment in ("unknown_role.hearth:15:12: error: unknown role `dependant_child`",
                     "lifecycle_stuck.hearth:9:3: error: state `limbo` has no way in",
                     "lifecycle_stuck.hearth:10:3: error: state `waiting` has no way out",
                     "missing_end.hearth:10:1: error: missing `end`"):
        assert fragment in result.output
    assert "Traceback" not in result.output


def test_fmt_check_and_rewrite(tmp_path: Path) -> None:
    """`fmt --check` reports without changing; `fmt` rewrites; a second run changes nothing."""
    file = tmp_path / "x.hearth"
    file.write_text('headline   H  "Title"\n      also "A" ,"B"\nend\n')
    checked = run("fmt", "--check", str(tmp_path))
    assert checked.exit_code == 1 and "would reformat" in checked.output
    assert file.read_text().startswith("headline   H")
    assert run("fmt", str(file)).exit_code == 0
    assert file.read_text() == 'headline H "Title"\n  also "A", "B"\nend\n'
    assert run("fmt", "--check", str(file)).exit_code == 0


def test_fmt_reports_syntax_errors(tmp_path: Path) -> None:
    """A file that does not parse is reported and left alone."""
    file = tmp_path / "broken.hearth"
    file.write_text('need X "T"\nend\n')
    result = run("fmt", str(file))
    assert result.exit_code == 1
    assert "broken.hearth:2:1: error:" in result.output
    assert file.read_text() == 'need X "T"\nend\n'
