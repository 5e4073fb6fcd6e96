"""``hearth borough generate`` end to end through the real CLI app."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from engine.errors import ConfigError
from workflows.cli import build_app


def test_generate_command_writes_a_loadable_borough(tmp_path):
    """The command writes feeds.yaml, extracts and truth, and prints the row table and the ingest hint."""
    out = tmp_path / "borough"
    result = CliRunner().invoke(build_app(), ["borough", "generate", "--out", str(out), "--residents", "1000",
                                              "--seed", "4", "--months", "2"])
    assert result.exit_code == 0, result.output
    assert "total" in result.output and "hearth ingest" in result.output
    assert (out / "feeds.yaml").is_file() and (out / "truth" / "records.csv").is_file()
    assert sorted(p.name for p in (out / "extracts").iterdir()) == ["2024-12-01", "2025-01-01"]


@pytest.mark.parametrize(("args", "message"), [
    (["--residents", "10"], "--residents 10 is out of range"),
    (["--residents", "2000000"], "1,000,000"),
    (["--months", "0"], "--months 0 is out of range"),
])
def test_generate_rejects_bad_options_with_a_clear_error(tmp_path, args, message):
    """Out-of-range options raise a ConfigError saying what is valid, before anything is written."""
    out = tmp_path / "never"
    result = CliRunner().invoke(build_app(), ["borough", "generate", "--out", str(out), *args])
    assert isinstance(result.exception, ConfigError)
    assert message in str(result.exception)
    assert not out.exists()


def test_generate_refuses_a_file_as_output(tmp_path):
    """--out naming an existing file is a ConfigError, and the file is left alone."""
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    result = CliRunner().invoke(build_app(), ["borough", "generate", "--out", str(target), "--residents", "1000"])
    assert isinstance(result.exception, ConfigError)
    assert target.read_text() == "keep me"


def test_end_option_moves_the_window(tmp_path):
    """--end shifts the history: extracts follow it and no true fact is dated after it."""
    import csv
    import json

    out = tmp_path / "later"
    result = CliRunner().invoke(build_app(), ["borough", "generate", "--out", str(out), "--residents", "1000",
                                              "--months", "2", "--end", "2026-03-31"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "extracts").iterdir()) == ["2026-03-01", "2026-04-01"]
    with (out / "truth" / "facts.csv").open(encoding="utf-8") as handle:
        dates = [row["date"] for row in csv.DictReader(handle)]
    assert dates and max(dates) <= "2026-03-31"
    manifest = json.loads((out / "truth" / "manifest.json").read_text())
    assert manifest["window"] == ["2021-09-01", "2026-03-31"]


def test_bad_end_date_is_a_config_error(tmp_path):
    """A malformed --end says what format to use."""
    args = ["borough", "generate", "--out", str(tmp_path / "x"), "--end", "31/03/2026"]
    result = CliRunner().invoke(build_app(), args)
    assert isinstance(result.exception, ConfigError)
    assert "YYYY-MM-DD" in str(result.exception)


def _spec_folder(tmp_path, text: str):
    folder = tmp_path / "example"
    folder.mkdir()
    (folder / "borough.yaml").write_text(text, encoding="utf-8")
    return folder


def test_example_folder_is_generated_once_and_then_reused(tmp_path):
    """A folder with borough.yaml (like examples/borough) is generated on first use, reused while its
    settings are unchanged, and generated afresh when they change."""
    from workflows.cli.borough import ensure_generated

    folder = _spec_folder(tmp_path, "residents: 1000\nseed: 3\nmonths: 1\n")
    out, said = tmp_path / "home" / "borough", []
    feeds = ensure_generated(folder, out, echo=said.append)
    assert feeds == out / "feeds.yaml" and feeds.is_file()
    assert said[-1].startswith("generating")
    first = sorted(p.name for p in (out / "extracts").iterdir())
    assert len(first) == 1
    assert ensure_generated(folder, out, echo=said.append) == feeds
    assert said[-1].startswith("using the borough generated earlier")
    (folder / "borough.yaml").write_text("residents: 1000\nseed: 3\nmonths: 2\n", encoding="utf-8")
    ensure_generated(folder, out, echo=said.append)
    assert said[-1].startswith("generating")
    assert len(list((out / "extracts").iterdir())) == 2


def test_shipped_example_spec_is_valid():
    """examples/borough/borough.yaml (what `hearth run examples/borough` generates) reads cleanly."""
    from workflows.cli.borough import EXAMPLES_DIR, read_spec

    spec = read_spec(EXAMPLES_DIR / "borough" / "borough.yaml")
    assert 1000 <= spec["residents"] <= 1_000_000 and spec["months"] >= 1


@pytest.mark.parametrize(("text", "message"), [
    ("residents: [1\n", "borough.yaml:2:1: not valid YAML"),
    ("residents: 5000\ncolour: blue\n", "unknown setting(s) colour; valid: residents, seed, months, end"),
    ("residents: lots\n", "residents must be a whole number, got 'lots'"),
    ("end: 31/12/2024\n", "end must be a date written YYYY-MM-DD"),
    ("- 1\n- 2\n", "expected settings"),
])
def test_bad_example_spec_says_where_and_what_is_valid(tmp_path, text, message):
    """Mistakes in borough.yaml are ConfigErrors naming the file (and line:col for YAML syntax)."""
    from workflows.cli.borough import read_spec

    with pytest.raises(ConfigError) as caught:
        read_spec(_spec_folder(tmp_path, text) / "borough.yaml")
    assert message in str(caught.value)
