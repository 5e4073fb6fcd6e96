"""Scenario YAML: loading into FamilyInput, precise errors, mismatch reports, the CLI and the collector."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dsl.scenarios import ScenarioError, load_scenarios, run_file
from engine.rules.evaluator import compile_framework
from tests.rules.frameworks import framework
from tests.fixtures.frameworks import copy_framework
from workflows.cli import build_app

ROOT = Path(__file__).resolve().parents[2]
COMPILED = compile_framework(framework())

GOOD = """\
- name: Absent child and an offending parent
  as_of: 2023-09-01
  family:
    members:
      - id: child1
        date_of_birth: 2012-05-01
        facts:
          attendance:
            - {term_start: 2022-09-01, term_end: 2022-12-20, possible_sessions: 100, attended_sessions: 70}
            - {term_start: 2023-01-04, term_end: 2023-03-31, possible_sessions: 100, attended_sessions: 70}
            - {term_start: 2023-04-17, term_end: 2023-07-21, possible_sessions: 100, attended_sessions: 70}
      - id: mum
        date_of_birth: 1985-02-02
        facts:
          offence:
            - {offence_date: 2023-02-11, outcome: proven, id: POL-123, source: police, batch: b7}
    facts:
      rent_account:
        - {statement_date: 2023-08-01, arrears: 0}
    coverage: {exclusion: [2023-01-01, null]}
  expect:
    family: met
    needs: {EDU_PERSISTENT_ABSENCE: met, CRIME_OFFENDING: met, HOUSING_ARREARS: not_met, EDU_EXCLUSIONS: unknown}
    headlines: {EDUCATION: met, HOUSING: not_met}
    eligible: unknown
    outcomes: {EDU_PERSISTENT_ABSENCE: {achieved: not_met, sustained: unknown}}
    claimable: not_met
    roles: {child1: {dependent_child: met}, mum: {adult: met}}
    score: {vulnerability: 6}
    rag: {vulnerability: red}
    unknowns_include: ["exclusion records are only known from 2023-01-01"]
"""


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_scenario_loads_into_family_input_and_passes(tmp_path):
    """Members, facts with their source trail, coverage and expectations all come through."""
    path = _write(tmp_path, GOOD)
    (scenario,) = load_scenarios(path, COMPILED.framework)
    assert scenario.line == 1 and scenario.as_of == date(2023, 9, 1)
    offence = next(f for f in scenario.family.facts if f.fact_type == "offence")
    assert (offence.fact_id, offence.source, offence.batch_id, offence.person_id) == ("POL-123", "police", "b7", "mum")
    rent = next(f for f in scenario.family.facts if f.fact_type == "rent_account")
    assert rent.person_id is None and rent.fact_id == "rent_account@s.yaml:19"
    assert scenario.family.coverage["exclusion"].start == date(2023, 1, 1)
    assert scenario.family.coverage["offence"].start == date(1900, 1, 1)
    (run,) = run_file(path, COMPILED)
    assert run.passed, run.report()


def test_a_mismatch_names_file_line_scenario_expected_and_got(tmp_path):
    """A wrong expectation is reported at its own line with both values and the explanation."""
    path = _write(tmp_path, GOOD.replace("HOUSING_ARREARS: not_met", "HOUSING_ARREARS: met").replace(
        "score: {vulnerability: 6}", "score: {vulnerability: 4}"))
    (run,) = run_file(path, COMPILED)
    report = run.report()
    assert f"{path}:23: Absent child and an offending parent: needs.HOUSING_ARREARS: expected met, got not_met" in report
    assert f"{path}:29: Absent child and an offending parent: score.vulnerability: expected 4, got 6" in report
    assert "fact: offence on 2023-02-11 for mum (police, record POL-123, batch b7): outcome proven" in report


@pytest.mark.parametrize("change, message", [
    (("CRIME_OFFENDING: met", "CRIME_OFENDING: met"), r"s.yaml:23: expect.needs: unknown need 'CRIME_OFENDING' \(did you mean 'CRIME_OFFENDING'\?\)"),
    (("as_of: 2023-09-01", "as_of: 2023-13-01"), r"s.yaml:2: as_of: expected an ISO date"),
    (("outcome: proven", "outcom: proven"), r"s.yaml:16: family.members\[1\].facts.offence\[0\]: unknown field of offence 'outcom' \(did you mean 'outcome'"),
    (("eligible: unknown", "eligible: maybe"), r"s.yaml:25: expect.eligible: expected met, not_met or unknown, got 'maybe'"),
    (("attendance:\n", "attendence:\n"), r"s.yaml:8: family.members\[0\].facts: unknown fact type 'attendence' \(did you mean 'attendance'"),
    (("  expect:", "  expected:"), r"s.yaml:\d+: scenario: unknown key 'expected' \(did you mean 'expect'"),
    (("{statement_date: 2023-08-01, arrears: 0}", "{arrears: 0}"), r"s.yaml:19: family.facts.rent_account\[0\]: rent_account rows are dated by 'statement_date'"),
    (("possible_sessions: 100, attended_sessions: 70}\n            - {term_start: 2023-01-04", "possible_sessions: lots, attended_sessions: 70}\n            - {term_start: 2023-01-04"),
     r"s.yaml:9: family.members\[0\].facts.attendance\[0\].possible_sessions: attendance.possible_sessions is a count: expected a number, got 'lots'"),
    (("- name: Absent", "- name: [Absent"), r"s.yaml:\d: not valid YAML"),
])
def test_bad_scenarios_raise_errors_with_file_line_and_field(tmp_path, change, message):
    """Every mistake points at its line and field and says what is valid."""
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ScenarioError, match=message):
        load_scenarios(path, COMPILED.framework)


def _framework_copy(tmp_path: Path, scenario: str) -> Path:
    folder = tmp_path / "frameworks" / "phase3"
    copy_framework("phase3", folder, with_tests=False)
    (folder / "tests").mkdir()
    (folder / "tests" / "mine.yaml").write_text(textwrap.dedent(scenario))
    return folder


PHASE3 = """\
- name: Offending mother
  as_of: 2023-09-01
  family:
    members:
      - {id: mum, date_of_birth: 1985-02-02, facts: {offence: [{offence_date: 2023-02-11, outcome: proven}]}}
  expect:
    needs: {CRIME_OFFENDING: met}
- name: Wrongly expects eligibility
  as_of: 2023-09-01
  family:
    members:
      - {id: mum, date_of_birth: 1985-02-02}
  expect:
    eligible: met
"""


def test_hearth_test_prints_a_table_and_exits_1_on_failure(tmp_path):
    """`hearth test FRAMEWORK` runs its tests/ folder and fails with the mismatch."""
    folder = _framework_copy(tmp_path, PHASE3)
    result = CliRunner().invoke(build_app(), ["test", str(folder), "--no-explain"])
    assert result.exit_code == 1, result.output
    assert "1 passed, 1 failed" in result.output
    assert "mine.yaml:14: Wrongly expects eligibility: eligible: expected met, got not_met" in result.output
    ok = CliRunner().invoke(build_app(), ["test", str(folder / "tests" / "mine.yaml"), "--no-explain"])
    assert ok.exit_code == 1
    local = CliRunner().invoke(build_app(), ["test", str(folder / "tests" / "mine.yaml"), "--no-explain",
                                             "--framework", str(ROOT / "examples" / "local_plan")])
    assert local.exit_code == 1 and "1 passed, 1 failed" in local.output
    good_only = _framework_copy(tmp_path / "b", PHASE3.split("- name: Wrongly")[0])
    passed = CliRunner().invoke(build_app(), ["test", str(good_only)])
    assert passed.exit_code == 0 and "1 passed, 0 failed" in passed.output


def test_pytest_collects_one_item_per_scenario_and_reports_mismatches(tmp_path):
    """The collector plugin turns each scenario into a test whose failure shows the scenario and mismatch."""
    folder = _framework_copy(tmp_path, PHASE3)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(folder / "tests"), "-p", "tests.fixtures.scenarios", "-q",
         "--rootdir", str(tmp_path), "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    assert "scenario 'Wrongly expects eligibility'" in proc.stdout
    assert "eligible: expected met, got not_met" in proc.stdout


WHAT_IF = """\
- name: A stricter local threshold makes 92% attendance persistent absence
  as_of: 2023-09-01
  parameters: {attendance_threshold: 95%}
  family:
    members:
      - id: child1
        date_of_birth: 2012-05-01
        facts:
          attendance:
            - {term_start: 2022-09-01, term_end: 2022-12-20, possible_sessions: 100, attended_sessions: 92}
            - {term_start: 2023-01-04, term_end: 2023-03-31, possible_sessions: 100, attended_sessions: 92}
            - {term_start: 2023-04-17, term_end: 2023-07-21, possible_sessions: 100, attended_sessions: 92}
          offence:
            - {offence_date: 2023-01-05, outcome: caution}
  expect:
    needs: {EDU_PERSISTENT_ABSENCE: met}
    rules: {offended: {child1: met}, any_offence_in_family: met}
"""


def test_scenario_parameters_and_helper_rule_expectations(tmp_path):
    """A scenario can try a parameter value and expect the results of named helper rules."""
    from engine.rules import ir

    offence = ir.Aggregate(fn="any", fact="offence")
    helpers = (ir.DerivedRule(name="offended", subject="person", condition=offence),
               ir.DerivedRule(name="any_offence_in_family", subject="family",
                              condition=ir.Aggregate(fn="any", fact="offence", scope="family")))
    compiled = compile_framework(framework(rules=helpers))
    (run,) = run_file(_write(tmp_path, WHAT_IF), compiled)
    assert run.passed, run.report()
    (threshold,) = run.result.needs["EDU_PERSISTENT_ABSENCE"].members["child1"].parameters
    assert (threshold.value, threshold.override_label) == (95, "what-if")
    (plain,) = run_file(_write(tmp_path, WHAT_IF.replace("  parameters: {attendance_threshold: 95%}\n", "")), compiled)
    assert [m.describe(plain.scenario).split(": ", 1)[1] for m in plain.mismatches] == [
        "A stricter local threshold makes 92% attendance persistent absence: needs.EDU_PERSISTENT_ABSENCE: expected met, got not_met"]
    with pytest.raises(ScenarioError, match=r"s.yaml:3: parameters.attendance_threshold: expected a number"):
        load_scenarios(_write(tmp_path, WHAT_IF.replace("95%", "lots")), compiled.framework)
