"""Hearth's case lifecycle on Temporal, and the ``hearth`` command line (the composition root).

Workflow definitions (:mod:`workflows.case_workflow`) are deterministic and import only
:mod:`engine` models; activities do the I/O. The CLI in :mod:`workflows.cli` is the one place that
wires :mod:`dsl`, :mod:`engine` and the workflows together.
"""
