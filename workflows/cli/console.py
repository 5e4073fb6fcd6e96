"""The rich console the commands print with.

Written to a terminal it takes the terminal's width. Written to a file or pipe (a nightly job's log,
``| less``) rich would assume 80 columns and squeeze tables into truncated headers ("acce…"), so it
takes 120 unless ``$COLUMNS`` says otherwise.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console

#: columns for output that is not going to a terminal
LOG_WIDTH = 120


def cli_console(**options: Any) -> Console:
    """A console for command output (``options`` as for :class:`rich.console.Console`)."""
    if "width" not in options and not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
        options["width"] = LOG_WIDTH
    return Console(**options)
