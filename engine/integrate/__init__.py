"""Data integration: feeds in, standardised records, facts and families out, every row accounted for.

Pipeline, one module per stage: :mod:`feeds` (declarations) -> :mod:`readers` (raw rows) ->
:mod:`rowmap` (validate, standardise) -> :mod:`ingest` (batches, quarantine, fact versions) ->
:mod:`persons` (matcher or one person per record) -> :mod:`grouping` / :mod:`families` (stable family
ids) -> :mod:`snapshot` (``FamilyInput`` for the rules engine). See docs/feeds.md.
"""

from engine.integrate.families import build_families, describe_family
from engine.integrate.feeds import load_feeds
from engine.integrate.grouping import load_grouping
from engine.integrate.ingest import ingest
from engine.integrate.snapshot import load_families

__all__ = ("build_families", "describe_family", "ingest", "load_families", "load_feeds", "load_grouping")
