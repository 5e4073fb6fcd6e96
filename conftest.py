"""Suite-wide pytest configuration.

The Temporal SDK can crash the interpreter at exit (sdk-python#300: ``PyGILState_Release`` while
finalizing). We save pytest's real exit status and leave with ``os._exit`` so the suite's exit code is
always the tests' result, never the crash's.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.scenarios"]

_exit_status: int | None = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _exit_status is not None and os.environ.get("HEARTH_HARD_EXIT", "1") == "1":
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)
