"""Hearth's rule language: framework files -> checked AST -> compiled :class:`engine.rules.ir.Framework`."""
