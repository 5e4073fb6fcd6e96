"""Column-wise evaluation: a framework's rules over a whole batch of families at once (NumPy arrays),
filling in what the per-family evaluator (:mod:`engine.rules.evaluator`) would compute, exactly.

The per-family evaluator stays the definition of every result; this package only computes some of them
faster and hands them to it: :mod:`engine.columns.person` (one row per member), :mod:`engine.columns.family`
(one row per family) and :mod:`engine.columns.summary` (a family's values, for ``hearth diff``)."""
