"""Every command that reads the database takes --home (as `hearth demo`, `run` and `case` do), so a
newcomer can point explain, replay, audit, review and quarantine at the demo's data directory."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from workflows.cli import build_app


@pytest.mark.parametrize("command", [
    ["audit", "verify"],
    ["quarantine"],
    ["review", "list"],
    ["override", "list"],
    ["returns", "log"],
    ["case", "list"],
])
def test_home_option_picks_the_database(tmp_path, monkeypatch, command):
    """The command opens <home>/hearth.db, not ./.hearth or $HEARTH_HOME."""
    monkeypatch.delenv("HEARTH_DB_URL", raising=False)
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "elsewhere"))
    home = tmp_path / "demo"
    result = CliRunner().invoke(build_app(), [*command, "--home", str(home)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert (home / "hearth.db").is_file()
    assert not (tmp_path / "elsewhere" / "hearth.db").exists()
