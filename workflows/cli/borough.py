"""``hearth borough generate``: write a synthetic borough's feeds, feeds.yaml and ground truth.

The generator lives in ``examples/borough/generator`` (example code, not part of the installed
packages), so this module finds it relative to the repository checkout. In an installation without the
repository (a plain wheel) the command explains that instead of failing with an import error.
"""

from __future__ import annotations

import importlib
import sys
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Optional

import typer

from engine.errors import ConfigError

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


def load_generator() -> ModuleType:
    """Import ``borough.generator`` from the repository's examples folder."""
    if not (EXAMPLES_DIR / "borough" / "generator" / "__init__.py").is_file():
        raise ConfigError(
            f"the borough generator was not found at {EXAMPLES_DIR / 'borough' / 'generator'}; it ships with the "
            "Hearth repository, not the installed package: run hearth from an editable install of a checkout "
            "(pip install -e .)"
        )
    if str(EXAMPLES_DIR) not in sys.path:
        sys.path.insert(0, str(EXAMPLES_DIR))
    return importlib.import_module("borough.generator")


def _parse_end(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--end {text!r} is not a date; give YYYY-MM-DD, for example --end 2024-12-31") from None


#: what ``hearth run`` looks for in a folder that holds the generator rather than generated feeds
SPEC_FILE = "borough.yaml"
_SPEC_KEYS = {"residents": int, "seed": int, "months": int, "end": date}
_STAMP = "generated-with.json"


def read_spec(path: Path) -> dict:
    """The generation settings in a ``borough.yaml``, checked: residents, seed, months, end."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected settings (residents, seed, months, end), got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_SPEC_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(_SPEC_KEYS)}")
    spec = {"residents": 5000, "seed": 1, "months": 6, "end": date(2024, 12, 31)}
    for key, value in raw.items():
        kind = _SPEC_KEYS[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"{path}: {key} must be a whole number, got {value!r}")
        if kind is date and not isinstance(value, date):
            raise ConfigError(f"{path}: {key} must be a date written YYYY-MM-DD, got {value!r}")
        spec[key] = value
    return spec


def ensure_generated(folder: Path, out: Path, echo=print) -> Path:
    """The feeds.yaml of the borough ``folder/borough.yaml`` describes, generating it into ``out`` unless
    a borough generated with the same settings is already there."""
    import json

    spec = read_spec(folder / SPEC_FILE)
    wanted = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in spec.items()}
    stamp = out / _STAMP
    if (out / "feeds.yaml").is_file() and stamp.is_file():
        try:
            if json.loads(stamp.read_text(encoding="utf-8")) == wanted:
                echo(f"using the borough generated earlier in {out} ({spec['residents']:,} residents, seed "
                     f"{spec['seed']}, {spec['months']} months)")
                return out / "feeds.yaml"
        except ValueError:
            pass  # an unreadable stamp: generate afresh
    echo(f"generating the example borough ({spec['residents']:,} residents, seed {spec['seed']}, "
         f"{spec['months']} monthly extracts) into {out} - once; later runs reuse it")
    generator = load_generator()
    generator.generate(out, residents=spec["residents"], seed=spec["seed"], months=spec["months"], end=spec["end"])
    stamp.write_text(json.dumps(wanted, sort_keys=True), encoding="utf-8")
    return out / "feeds.yaml"


def register(app: typer.Typer) -> None:
    borough = typer.Typer(help="Synthetic borough: generate realistic source feeds with ground truth.",
                          no_args_is_help=True)

    @borough.command("generate")
    def generate(
        out: Path = typer.Option(..., "--out", help="Directory to write feeds.yaml, extracts/, schemas/, truth/."),
        residents: int = typer.Option(5000, "--residents", help="About how many residents (1,000 to 1,000,000)."),
        seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same bytes."),
        months: int = typer.Option(6, "--months", help="How many monthly extracts (the last N months)."),
        end: Optional[str] = typer.Option(None, "--end", help="Last day of the simulated history, YYYY-MM-DD "
                                          "(default 2024-12-31; the history starts on 1 September five years before)."),
    ) -> None:
        """Generate a borough: about N residents, monthly extracts of ~20 source feeds, and its ground truth."""
        from rich.table import Table

        from workflows.cli.console import cli_console

        console = cli_console()
        generator = load_generator()
        end_date = _parse_end(end)
        with console.status("generating people and households") as status:
            summary = generator.generate(out, residents=residents, seed=seed, months=months, end=end_date,
                                         progress=lambda stage: status.update(f"done: {stage}"))
        table = Table(title=f"Borough of {summary.residents:,} residents in {summary.households:,} households")
        table.add_column("feed")
        table.add_column("rows", justify="right")
        for name, rows in summary.feed_rows.items():
            table.add_row(name, f"{rows:,}")
        table.add_row("[bold]total[/]", f"[bold]{summary.total_rows:,}[/]")
        console.print(table)
        stages = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in summary.stage_seconds.items())
        console.print(f"extracts {summary.extracts[0]} .. {summary.extracts[-1]}; {stages}")
        console.print(f"load with: hearth ingest {out / 'feeds.yaml'}   (ground truth in {out / 'truth'})")

    app.add_typer(borough, name="borough")
