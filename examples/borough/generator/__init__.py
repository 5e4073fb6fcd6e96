"""Seeded generator of a synthetic borough's source feeds and their ground truth.

>>> from borough.generator import generate          # with examples/ on sys.path
"""

from .generate import Summary, extract_days, generate

__all__ = ["Summary", "extract_days", "generate"]
