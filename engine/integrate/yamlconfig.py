"""Read a YAML file into a pydantic model, turning every problem into ``file:line:col: key: message``.

Positions come from YAML node marks, so an unknown key or a bad value points at the exact place in the
file; all problems are reported in one :class:`ConfigError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from engine.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)
Marks = dict[tuple[Any, ...], tuple[int, int]]


def _collect_marks(node: yaml.Node, path: tuple[Any, ...], marks: Marks) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            _collect_marks(value, child, marks)
            # the key's own position is more useful than the value's for "unknown key" errors
            marks[child] = (key.start_mark.line + 1, key.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_marks(item, (*path, index), marks)


def position(loc: tuple[Any, ...], marks: Marks) -> tuple[tuple[Any, ...], tuple[int, int]]:
    """The deepest YAML node along a pydantic ``loc`` (union/type tags in the loc are skipped)."""
    found: tuple[Any, ...] = ()
    for part in loc:
        if (*found, part) in marks:
            found = (*found, part)
    return found, marks.get(found, (1, 1))


def describe(path: tuple[Any, ...]) -> str:
    """``("feeds", 0, "source")`` -> ``feeds[0].source``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top level)"


def load_yaml_model(path: str | Path, model: type[Model], what: str, docs: str) -> tuple[Model, Marks]:
    """Parse ``path`` as YAML and validate it as ``model``; ``what`` and ``docs`` go into messages."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    marks: Marks = {}
    if root is not None:
        _collect_marks(root, (), marks)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1:1: a {what} is a YAML mapping (see {docs})")
    try:
        return model.model_validate(data), marks
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            found, (line, col) = position(tuple(error["loc"]), marks)
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown key {error['loc'][-1]!r} (check the spelling; see {docs})"
            elif error["type"] == "missing":
                message = f"missing key {error['loc'][-1]!r}"
            elif isinstance(error.get("input"), (str, int, float, bool)):
                message = f"{message} (given {error['input']!r})"
            problems.append(f"{path}:{line}:{col}: {describe(found)}: {message}")
        raise ConfigError(f"{what} has errors:\n  " + "\n  ".join(dict.fromkeys(problems))) from None
