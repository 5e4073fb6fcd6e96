"""Decision records: profile families, record each decision hash-chained, explain, replay, diff.

Modules, in the order a decision lives through them:

- :mod:`.evaluate`  evaluate many families with one compiled framework (sorted, optionally in workers)
- :mod:`.profile`   ``profile(engine, framework, as_of, known_at)``: one run, one decision per family
- :mod:`.records`   the append-only, hash-chained ``decisions`` table and ``verify_chain``
- :mod:`.store`     frameworks stored by content hash, so replay never reads the working tree
- :mod:`.overrides` human overrides with who/when/why, in force between set and revoked
- :mod:`.replay`    ``replay_decision``: re-evaluate from the stored framework and knowledge state
- :mod:`.lookup`    ``explain_family``: the latest decision (or a fresh evaluation), explained
- :mod:`.diff`      ``diff_snapshot`` / ``diff_frameworks``: which families two frameworks decide differently, and why
- :mod:`.compact`   the stored record formats (facts, parameters and sources once per record)
- :mod:`.framework_text` the framework's citations and rule sources, which format 3 records refer to
- :mod:`.rehydrate` stored result JSON back into the evaluator's ``FamilyResult``
"""

import importlib

#: the package's surface, each name imported from its module when first used: ``hearth explain`` and
#: ``hearth replay`` need neither diff's nor profile's machinery
_MODULE_OF = {
    "diff_frameworks": "diff", "explain_family": "lookup", "list_overrides": "overrides",
    "overrides_in_force": "overrides", "revoke_override": "overrides", "set_override": "overrides",
    "profile": "profile", "verify_chain": "records", "replay_decision": "replay",
    "load_stored_framework": "store", "store_framework": "store",
}

__all__ = (
    "diff_frameworks",
    "explain_family",
    "list_overrides",
    "load_stored_framework",
    "overrides_in_force",
    "profile",
    "replay_decision",
    "revoke_override",
    "set_override",
    "store_framework",
    "verify_chain",
)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
