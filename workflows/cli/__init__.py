"""The ``hearth`` command line.

Each subsystem registers its commands from its own module (``register(app)``), so the command set
grows without this file changing. Every user error is a :class:`engine.errors.HearthError` and is
printed as a message, never as a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer
from rich.console import Console

from engine.errors import HearthError

#: command modules, in the order their commands appear in ``hearth --help``
COMMAND_MODULES = (
    "workflows.cli.run",       # run, demo, evaluate, report, returns
    "workflows.cli.lang",      # check, fmt
    "workflows.cli.rules",     # test
    "workflows.cli.rules_audit",  # profile, explain, replay, diff, audit, override
    "workflows.cli.data",      # feeds, ingest, quarantine, families
    "workflows.cli.matching",  # match, explain-match, review
    "workflows.cli.cases",     # worker, server, case, claims
    "workflows.cli.borough",   # borough generate
    "workflows.cli.returns",   # returns progress|nis|pseudonymised|log, consent
)

err_console = Console(stderr=True)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="hearth",
        help="Hearth: find, support and evidence families for the Supporting Families programme.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _root() -> None:
        """Hearth: find, support and evidence families for the Supporting Families programme."""

    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(app)
    return app


def hard_exit_allowed() -> bool:
    """``os._exit`` is for the console script only: inside a test session it would end pytest itself
    (with a false exit status), so there we raise ``SystemExit`` like any other program."""
    import os

    return "PYTEST_CURRENT_TEST" not in os.environ and "pytest" not in sys.modules


def _leave(code: int) -> None:
    """Exit with ``code``; once Temporal's SDK is loaded, leave with ``os._exit`` because its native
    runtime can crash the interpreter while it finalizes (sdk-python#300), turning success into a segfault."""
    import os

    if "temporalio" in sys.modules and hard_exit_allowed():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turning Hearth errors into clean messages.

    Usage errors are handled by typer itself (standalone mode); Hearth errors print their message and
    exit with their code; anything else is reported as an internal error without a traceback unless
    ``HEARTH_DEBUG`` is set.
    """
    import os

    app = build_app()
    try:
        app(args=argv)
    except SystemExit as exc:
        _leave(exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1))
    except HearthError as exc:
        err_console.print(f"[bold red]error:[/] {exc.render()}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # no raw traceback for users
        if os.environ.get("HEARTH_DEBUG"):
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "This is a bug in Hearth; run again with HEARTH_DEBUG=1 to see the traceback.",
            highlight=False,
        )
        sys.exit(3)
