"""Rule evaluation: the compiled framework IR in, three-valued results with evidence out.

Modules, in pipeline order:
- ``ir``: the compiled framework (produced by :mod:`dsl`); ``inputs``: one family's members and facts.
- ``evaluator``: ``compile_framework(fw).evaluate(family, as_of)`` -> ``results.FamilyResult``.
  Built on ``expressions`` (IR -> closures), ``aggregates`` (facts over windows, coverage, periods),
  ``outcomes`` (identified needs, claim helpers), ``scoring`` (headlines, scores, RAG),
  ``calendar`` (terms and windows), ``functions`` (built-ins), ``values`` (unknown and ranges).
- ``explain``: plain-English and JSON why / why-not trees; ``describe``: expressions back to text.
"""
