"""Where the CLI leaves the report: the address is always printed; a browser is started only when asked
or when a desktop is there (never from a test run, never a text browser on a bare console)."""

from __future__ import annotations

import sys
import webbrowser

import pytest

from workflows.cli import run as run_cli


@pytest.fixture
def browser_log(tmp_path, monkeypatch):
    """A real browser command (``$BROWSER``) that records the address it was given."""
    log = tmp_path / "opened.txt"
    script = tmp_path / "browser.py"
    script.write_text(f"import sys\nopen({str(log)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script} %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # re-read $BROWSER
    return log


def test_open_starts_the_browser_on_the_reports_address(tmp_path, browser_log, capsys):
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    run_cli.show_report(report, True)
    assert browser_log.read_text().splitlines() == [report.resolve().as_uri()]
    assert report.resolve().as_uri() in capsys.readouterr().out.replace("\n", "")


def test_default_under_tests_prints_the_address_and_starts_nothing(tmp_path, browser_log, monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":0")  # even with a desktop, a test run never starts a browser
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    assert run_cli.can_open_browser() is False
    run_cli.show_report(report, None)
    assert not browser_log.exists()
    out = capsys.readouterr().out
    assert "open it in any browser" in out and report.resolve().as_uri() in out.replace("\n", "")


def test_desktop_detection(monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert run_cli.can_open_browser() is False
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert run_cli.can_open_browser() is True
