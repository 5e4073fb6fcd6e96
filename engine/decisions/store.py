"""Frameworks stored by content hash, so a decision can be replayed without the working tree.

The stored text is ``Framework.canonical_json()``, which includes the framework's source files; the key
is its sha256. Loading checks the text still hashes to its key, so an edited framework row is reported
rather than silently replayed.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from engine.decisions.records import utc_now
from engine.errors import IntegrityError, NotFoundError
from engine.rules.ir import Framework
from engine.storage.tables_decisions import frameworks_store


def store_framework(conn: sa.Connection, framework: Framework) -> str:
    """Store ``framework`` (once per content hash) and return its hash."""
    text = framework.canonical_json()
    digest = framework.content_hash()
    exists = conn.execute(
        sa.select(frameworks_store.c.framework_hash).where(frameworks_store.c.framework_hash == digest)
    ).first()
    if exists is None:
        header = framework.header
        conn.execute(
            frameworks_store.insert().values(
                framework_hash=digest, framework_id=header.id, version=header.version, phase=header.phase,
                ir_json=text, stored_at=utc_now(),
            )
        )
    return digest


#: frameworks parsed from the store, by hash: explaining or replaying a decision loads its framework
#: twice or more (about 7 ms each for Phase 3); a hit is still re-read and re-hashed, so an altered row is
#: never served from here
_LOADED: dict[str, Framework] = {}
_LOADED_KEEP = 4


def load_stored_framework(conn: sa.Connection, framework_hash: str) -> Framework:
    """The framework stored under ``framework_hash`` (a full hash, or a unique prefix of 6+ characters)."""
    query = sa.select(frameworks_store.c.framework_hash, frameworks_store.c.ir_json)
    if len(framework_hash) < 64:
        if len(framework_hash) < 6:
            raise NotFoundError(
                f"framework hash prefix {framework_hash!r} is too short; give at least 6 hex characters"
            )
        rows = conn.execute(query.where(frameworks_store.c.framework_hash.startswith(framework_hash))).all()
    else:
        rows = conn.execute(query.where(frameworks_store.c.framework_hash == framework_hash)).all()
    if not rows:
        raise NotFoundError(
            f"no stored framework has hash {framework_hash!r}; `hearth profile` stores the frameworks it "
            "runs (list them with a query on the frameworks_store table)"
        )
    if len(rows) > 1:
        raise NotFoundError(f"framework hash prefix {framework_hash!r} matches {len(rows)} frameworks; "
                            "give more characters")
    key, text = rows[0]
    if hashlib.sha256(text.encode()).hexdigest() == key:  # the text is exactly what was stored under key
        found = _LOADED.get(key)
        if found is None:
            if len(_LOADED) >= _LOADED_KEEP:
                _LOADED.pop(next(iter(_LOADED)))
            found = _LOADED[key] = Framework.model_validate_json(text)
        return found
    framework = Framework.model_validate_json(text)
    if framework.content_hash() != key:
        raise IntegrityError(
            f"stored framework {key[:12]}... no longer hashes to its key (now {framework.content_hash()[:12]}...): "
            "the frameworks_store row was altered; restore it from a backup before replaying"
        )
    return framework
