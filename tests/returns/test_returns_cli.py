"""`hearth returns progress` refuses a quarter given backwards, before anything is written or logged."""

from __future__ import annotations

import pytest

from workflows.cli import main


def _hearth(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code or 0, (out + err).replace("\n", " ")


def test_a_quarter_given_backwards_is_refused(tmp_path, sqlite_url: str, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "progress.csv"
    code, text = _hearth(capsys, "returns", "progress", "--period-start", "2025-03-31", "--period-end", "2025-01-01",
                         "--actor", "a", "--out", str(out), "--db", sqlite_url)
    assert code == 2 and "--period-start 2025-03-31 is after --period-end 2025-01-01" in text
    assert "Traceback" not in text and not out.exists()
    code, text = _hearth(capsys, "returns", "log", "--db", sqlite_url)
    assert code == 0 and "progress_return" not in text
