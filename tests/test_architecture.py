"""The package boundaries the design fixes: dsl -> engine <- workflows, workflow code deterministic."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Top-level module names imported anywhere in ``path`` (including inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("engine"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_imports_no_outer_layer(path: Path) -> None:
    """The engine never imports the rule language, the workflows or a framework."""
    assert not _imports(path) & {"dsl", "workflows", "frameworks", "temporalio"}


@pytest.mark.parametrize("path", _modules("dsl"), ids=lambda p: str(p.relative_to(ROOT)))
def test_dsl_imports_no_workflow_code(path: Path) -> None:
    """The rule language depends on the engine only, never on Temporal or the workflows."""
    assert not _imports(path) & {"workflows", "temporalio"}


WORKFLOW_DEFINITIONS = [p for p in _modules("workflows") if p.name in {"case_workflow.py", "models.py"}]


@pytest.mark.parametrize("path", WORKFLOW_DEFINITIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_definitions_do_no_io(path: Path) -> None:
    """Workflow code stays deterministic: no rule parser, database, network or clock modules."""
    assert not _imports(path) & {"dsl", "sqlalchemy", "requests", "socket", "time", "random"}


def test_there_are_modules_to_check() -> None:
    """The parametrised checks above are not vacuous."""
    assert len(_modules("engine")) >= 5 and len(_modules("dsl")) >= 1
