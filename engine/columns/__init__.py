"""Column-wise evaluation: a framework's rules over a whole batch of families at once (NumPy arrays),
filling in what the per-family evaluator (:mod:`engine.rules.evaluator`) would compute, exactly.

The per-family evaluator stays the definition of every result; this package only computes some of them
faster and hands them to it (see :mod:`engine.columns.person`)."""
