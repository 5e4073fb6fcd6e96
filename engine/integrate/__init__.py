"""Data integration: feeds in, standardised records, facts and families out, every row accounted for.

Pipeline, one module per stage: :mod:`feeds` (declarations) -> :mod:`readers` (raw rows) ->
:mod:`rowmap` (validate, standardise) -> :mod:`ingest` (batches, quarantine, fact versions) ->
:mod:`persons` (matcher or one person per record) -> :mod:`grouping` / :mod:`families` (stable family
ids) -> :mod:`snapshot` (``FamilyInput`` for the rules engine). See docs/feeds.md.
"""

import importlib

#: the package's surface, each name imported from its module when first used: a command importing one
#: stage (``hearth explain`` reads snapshots) does not pay for the others' libraries (NumPy, jsonschema)
_MODULE_OF = {
    "build_families": "families", "describe_family": "families", "ingest": "ingest",
    "load_families": "snapshot", "load_feeds": "feeds", "load_grouping": "grouping",
}

__all__ = ("build_families", "describe_family", "ingest", "load_families", "load_feeds", "load_grouping")


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
