"""Files and folders -> one merged :class:`Model`: parsing, ``extends``, overrides and duplicates.

A framework is a folder of ``.hearth`` files (or one file with a ``framework`` header). A local plan's
header says ``extends ID from "FOLDER"``: that framework is loaded first, then the plan's
declarations are laid over it. Redefining an inherited name needs ``override ... label "..."``; two
overrides of one name need a ``priority`` each; every conflict names both source lines.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsl import ast as a
from dsl.errors import Diagnostic, DslError, Related, did_you_mean, source_line_of
from dsl.parser import parse_text, read_source

#: declaration kinds with one instance per framework
SINGLETONS = ("family definition", "eligibility", "claim", "lifecycle")


def key_of(decl: Any) -> tuple[str, str]:
    """``(kind, name)``: what a declaration defines; two declarations with one key conflict."""
    if isinstance(decl, a.ParameterDecl):
        return ("parameter", decl.name)
    if isinstance(decl, a.FactDecl):
        return ("fact", decl.name)
    if isinstance(decl, a.RoleDecl):
        return ("role", decl.name)
    if isinstance(decl, a.RuleDecl):
        return ("rule", decl.name)
    if isinstance(decl, a.HeadlineDecl):
        return ("headline", decl.code)
    if isinstance(decl, a.NeedDecl):
        return ("need", decl.code)
    if isinstance(decl, a.OutcomeDecl):
        return ("outcome", decl.need.name)
    if isinstance(decl, a.ScoreDecl):
        return ("score", decl.name)
    if isinstance(decl, a.FamilyDefinitionDecl):
        return ("family definition", "")
    if isinstance(decl, a.EligibilityDecl):
        return ("eligibility", "")
    if isinstance(decl, a.ClaimDecl):
        return ("claim", "")
    if isinstance(decl, a.LifecycleDecl):
        return ("lifecycle", "")
    raise TypeError(f"not a declaration: {type(decl).__name__}")


def describe_key(key: tuple[str, str]) -> str:
    kind, name = key
    if kind == "outcome":
        return f"outcome for {name}"
    return f"{kind} `{name}`" if name else kind


@dataclass
class Entry:
    decl: Any
    #: the override label when this declaration replaced an inherited one
    label: str | None = None
    inherited: bool = False


@dataclass
class Model:
    """A framework's declarations after composition, plus the texts they came from."""

    header: a.Header | None
    entries: dict[tuple[str, str], Entry]
    #: display path -> source text, for every file read (including an extended framework's)
    sources: dict[str, str]
    #: display path -> file on disk
    files: dict[str, Path]
    root: Path
    base: Model | None = None
    modules: list[a.Module] = field(default_factory=list)

    def of_kind(self, kind: str) -> dict[str, Any]:
        return {name: e.decl for (k, name), e in self.entries.items() if k == kind}

    def get(self, kind: str, name: str = "") -> Any:
        entry = self.entries.get((kind, name))
        return entry.decl if entry else None

    def label(self, kind: str, name: str = "") -> str | None:
        entry = self.entries.get((kind, name))
        return entry.label if entry else None

    def source_line(self, span: a.Span) -> str:
        return source_line_of(self.sources.get(span.file, ""), span.line)


def display_path(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when it is near it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    # a path climbing far out of the working directory is clearer written in full
    return str(path) if rel.startswith(os.path.join(*[".."] * 3)) else rel


def framework_files(path: Path) -> list[Path]:
    """The ``.hearth`` files of a framework: a file with a header alone, otherwise its whole folder."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.hearth") if p.is_file())
    return [path]


def load_model(path: Path, _chain: tuple[Path, ...] = ()) -> tuple[Model | None, list[Diagnostic]]:
    """Parse and compose the framework at ``path``; returns the model (None if unusable) and problems."""
    path = path.resolve()
    diagnostics: list[Diagnostic] = []
    files = framework_files(path)
    shown = display_path(path)
    if not path.exists():
        return None, [Diagnostic("error", f"{shown}: no such file or folder")]
    if not files:
        return None, [Diagnostic("error", f"{shown}: no .hearth files in this folder")]
    root = path if path.is_dir() else path.parent
    sources: dict[str, str] = {}
    file_map: dict[str, Path] = {}
    modules: list[a.Module] = []
    for file in files:
        display = display_path(file)
        file_map[display] = file
        try:
            text = read_source(file, display)
            sources[display] = text
            modules.append(parse_text(text, display))
        except DslError as exc:
            diagnostics.extend(exc.diagnostics)
    model = Model(None, {}, sources, file_map, root, modules=modules)
    headers = [d for m in modules for d in m.declarations if isinstance(d, a.Header)]
    for extra in headers[1:]:
        diagnostics.append(_conflict(model, "a framework has one `framework` header; this is a second",
                                     extra.span, headers[0].span, "the first header"))
    header = headers[0] if headers else None
    model.header = header
    if header is None and modules and not any(d.is_error for d in diagnostics):
        first = modules[0].file
        diagnostics.append(Diagnostic(
            "error", 'no `framework` header: add `framework ID "Title" ... end` to one of the files (a folder of '
            "shared declarations is not a framework: check the frameworks that `include` it)",
            a.Span(first, 1, 1, 1, 2), model.source_line(a.Span(first, 1, 1, 1, 2))))
    if header is not None and header.includes and not _include(model, header, diagnostics):
        return None, diagnostics  # without the shared declarations every later check would be noise
    if header is not None and header.extends_path is not None:
        base_path = (Path(model.files[header.span.file]).parent / header.extends_path).resolve()
        if base_path in _chain or base_path == root:
            diagnostics.append(_diag(model, "error", f"`extends` makes a loop: {header.extends_path} extends this "
                                     "framework again", header.span))
        elif not base_path.exists():
            diagnostics.append(_diag(model, "error", f"cannot extend `{header.extends}`: no folder "
                                     f"{header.extends_path!r} (looked in {display_path(base_path)})", header.span))
        else:
            base, base_diags = load_model(base_path, (*_chain, root))
            diagnostics.extend(base_diags)
            if base is not None:
                model.base = base
                model.sources.update(base.sources)
                model.files.update(base.files)
                if base.header is not None and base.header.id != header.extends:
                    diagnostics.append(_diag(
                        model, "error", f"`extends {header.extends}` but the framework in {header.extends_path!r} "
                        f"is `{base.header.id}`", header.span))
    _merge(model, diagnostics)
    return model, diagnostics


def _include(model: Model, header: a.Header, diagnostics: list[Diagnostic]) -> bool:
    """Add the files each ``include "PATH"`` names (a file, or a folder's ``.hearth`` files) to the
    framework's own, as if they were in its folder: shared declarations such as the fact catalogue.
    False when an include could not be read."""
    before = len(diagnostics)
    here = Path(model.files[header.span.file]).parent
    own = {p.resolve() for p in model.files.values()}
    for included in header.includes:
        target = (here / included.value).resolve()
        files = framework_files(target) if target.exists() else []
        if not files:
            what = "no .hearth files in that folder" if target.is_dir() else "no such file or folder"
            diagnostics.append(_diag(model, "error", f"cannot include {included.value!r}: {what} (looked in "
                                     f"{display_path(target)}); give a .hearth file or a folder of them, "
                                     "relative to this file", included.span))
            continue
        for file in files:
            if file.resolve() in own:
                diagnostics.append(_diag(model, "error", f"include {included.value!r} names {display_path(file)}, "
                                         "which is already part of this framework; remove the include or move "
                                         "the file out of the framework's folder", included.span))
                continue
            own.add(file.resolve())
            display = display_path(file)
            model.files[display] = file
            try:
                text = read_source(file, display)
                model.sources[display] = text
                module = parse_text(text, display)
            except DslError as exc:
                diagnostics.extend(exc.diagnostics)
                continue
            for decl in module.declarations:
                if isinstance(decl, a.Header):
                    diagnostics.append(_conflict(
                        model, f"{display} is included, so it holds declarations only: a `framework` header here "
                        "would make it a framework of its own", decl.span, included.span, "included here"))
            model.modules.append(dataclasses.replace(
                module, declarations=tuple(d for d in module.declarations if not isinstance(d, a.Header))))
    return not any(d.is_error for d in diagnostics[before:])


def _merge(model: Model, diagnostics: list[Diagnostic]) -> None:
    base = model.base
    if base is not None:
        model.entries = {k: Entry(e.decl, e.label, inherited=True) for k, e in base.entries.items()}
    local: dict[tuple[str, str], Any] = {}
    overrides: dict[tuple[str, str], list[Any]] = {}
    for module in model.modules:
        for decl in module.declarations:
            if isinstance(decl, a.Header):
                continue
            key = key_of(decl)
            override: a.Override | None = getattr(decl, "override", None)
            if override is not None and not override.keyword:
                diagnostics.append(_diag(model, "error", f"`label` belongs to an override: write `override` before "
                                         f"this {key[0]} to replace the inherited one", override.span))
                continue
            if override is not None:
                if override.label is None:
                    diagnostics.append(_diag(model, "error", f"override of {describe_key(key)} needs a label saying "
                                             'why, e.g. label "Local: stricter attendance from April 2023"', decl.span))
                if base is None or key not in base.entries:
                    where = f"`{base.header.id}`" if base is not None and base.header else "an extended framework"
                    known = [n for (k, n) in (base.entries if base else {}) if k == key[0]]
                    hint = did_you_mean(key[1], known)
                    diagnostics.append(_diag(model, "error", f"override of {describe_key(key)}, but {where} has no "
                                             f"such {key[0]} to override{hint}", decl.span))
                    continue
                overrides.setdefault(key, []).append(decl)
                continue
            if key in local:
                diagnostics.append(_conflict(model, f"{describe_key(key)} is defined twice", decl.span,
                                             local[key].span, "first defined here"))
                continue
            if base is not None and key in base.entries:
                inherited = base.entries[key].decl
                diagnostics.append(_conflict(
                    model, f"{describe_key(key)} is already defined by `{base.header.id if base.header else 'base'}`"
                    f"; to replace it write `override` and a label, e.g. {_override_example(key, decl)}",
                    decl.span, inherited.span, "the inherited definition"))
                continue
            local[key] = decl
            model.entries[key] = Entry(decl)
    for key, decls in overrides.items():
        winner = _pick_override(model, key, decls, diagnostics)
        inherited = model.entries[key].decl
        if isinstance(winner, a.ParameterDecl) and winner.unit is None:
            winner = dataclasses.replace(winner, unit=inherited.unit)
        elif isinstance(winner, a.ParameterDecl) and winner.unit != inherited.unit:
            diagnostics.append(_conflict(
                model, f"the override of parameter `{key[1]}` is in {winner.unit}, but the inherited parameter is "
                f"in {inherited.unit}; an override keeps the unit", winner.span, inherited.span,
                "the inherited parameter"))
        model.entries[key] = Entry(winner, label=winner.override.label)
    _check_name_clashes(model, diagnostics)


def _override_example(key: tuple[str, str], decl: Any) -> str:
    kind, name = key
    if isinstance(decl, a.NeedDecl):
        return f'override need {name} "{decl.title}" under {decl.headline.name} label "..."'
    if kind == "outcome":
        return f'override outcome for {name} label "..."'
    if isinstance(decl, a.RuleDecl):
        return f'override rule {name} about {decl.subject} label "..."'
    return f'override {kind} {name} label "..."'.replace("  ", " ")


def _pick_override(model: Model, key: tuple[str, str], decls: list[Any], diagnostics: list[Diagnostic]) -> Any:
    """The override that applies: the only one, or the one with the highest stated priority."""
    if len(decls) == 1:
        return decls[0]
    ranked = sorted(decls, key=lambda d: (d.override.priority is not None, d.override.priority or 0), reverse=True)
    top, second = ranked[0], ranked[1]
    if top.override.priority is None or second.override.priority == top.override.priority:
        diagnostics.append(_conflict(
            model, f"two overrides of {describe_key(key)} apply and neither has a higher stated priority; add "
            "`priority N` after the labels (the higher number wins)", second.span, top.span, "the other override"))
    return top


def _check_name_clashes(model: Model, diagnostics: list[Diagnostic]) -> None:
    """One name must mean one thing in an expression: parameters, roles, rules and needs share names."""
    seen: dict[str, tuple[str, Any]] = {}
    for (kind, name), entry in model.entries.items():
        if kind not in ("parameter", "role", "rule", "need", "fact"):
            continue
        if name in seen:
            other_kind, other = seen[name]
            diagnostics.append(_conflict(model, f"`{name}` names both a {other_kind} and a {kind}; rename one",
                                         entry.decl.span, other.span, f"the {other_kind}"))
        else:
            seen[name] = (kind, entry.decl)


def _diag(model: Model, severity: str, message: str, span: a.Span) -> Diagnostic:
    return Diagnostic(severity, message, span, model.source_line(span))  # type: ignore[arg-type]


def _conflict(model: Model, message: str, span: a.Span, other: a.Span, note: str) -> Diagnostic:
    """An error at ``span`` that also names the other line, in the message and as a note."""
    return Diagnostic("error", f"{message} (the other is at {other.file}:{other.line})", span, model.source_line(span),
                      (Related(note, other, model.source_line(other)),))
