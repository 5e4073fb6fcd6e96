"""Probabilistic person matching (Fellegi-Sunter): blocking, ordered comparison levels, m/u by EM,
term-frequency adjusted weights, guarded clustering and stable person ids. See docs/matching.md.

Database entry points live in :mod:`engine.matching.pipeline` (``run_matching``) and
:mod:`engine.matching.store` (``current_assignments``).
"""

from engine.matching.linker import Constraints, LinkerSettings, LinkResult, link
from engine.matching.records import IDENTITY_FIELDS, RecordTable

__all__ = ["IDENTITY_FIELDS", "Constraints", "LinkResult", "LinkerSettings", "RecordTable", "link"]
