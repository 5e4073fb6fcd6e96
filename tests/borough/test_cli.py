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
