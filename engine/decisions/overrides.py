"""Human overrides of a criterion's result for a family, recorded with who, when and why.

An override is in force at time T when it was created at or before T and not revoked by T. Profiling
applies the overrides in force at the run's knowledge time, so replaying a decision at that same time
applies exactly the same ones, whatever was set or revoked later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Iterable

import sqlalchemy as sa

from engine.decisions.records import utc_naive, utc_now
from engine.errors import ConfigError, NotFoundError
from engine.rules.results import acted_by
from engine.storage.tables_decisions import overrides

OVERRIDE_VALUES = ("met", "not_met")


@dataclass(frozen=True)
class OverrideRecord:
    override_id: int
    family_id: str
    person_id: str | None
    rule: str
    value: str
    reason: str
    actor: str
    created_at: datetime
    revoked_at: datetime | None = None
    #: the role ``actor`` acted in (None: made before Hearth recorded roles)
    role: str | None = None
    revoked_by: str | None = None
    revoked_role: str | None = None
    revoke_reason: str | None = None

    def describe(self) -> str:
        who = f" for person {self.person_id}" if self.person_id else ""
        return (f"override #{self.override_id}: {self.rule}{who} set to {self.value} by "
                f"{acted_by(self.actor, self.role)} on {self.created_at:%Y-%m-%d %H:%M} UTC, because {self.reason}")

    def to_dict(self) -> dict[str, Any]:
        """Every field, times as ISO text (UTC)."""
        return {name: value.isoformat() if isinstance(value, datetime) else value
                for name, value in asdict(self).items()}

    def describe_revocation(self) -> str:
        """Who revoked it, when and why ("" while it is in force)."""
        if self.revoked_at is None:
            return ""
        by = f" by {acted_by(self.revoked_by, self.revoked_role)}" if self.revoked_by else ""
        why = f", because {self.revoke_reason}" if self.revoke_reason else ""
        return f"revoked{by} on {self.revoked_at:%Y-%m-%d %H:%M} UTC{why}"


def _required(value: str, what: str) -> str:
    if not value.strip():
        raise ConfigError(f"an override needs {what}")
    return value.strip()


def set_override(
    conn: sa.Connection,
    *,
    family_id: str,
    rule: str,
    value: str,
    reason: str,
    actor: str,
    role: str,
    person_id: str | None = None,
    at: datetime | None = None,
) -> OverrideRecord:
    """Record an override (checking the value, reason, actor and role are given) and return it. Whether
    ``role`` may override is the framework's to say: :func:`engine.decisions.lookup.check_override_target`."""
    if value not in OVERRIDE_VALUES:
        raise ConfigError(f"override value {value!r} is not valid; use one of: {', '.join(OVERRIDE_VALUES)}")
    reason = _required(reason, "a reason: pass --reason \"why the rule's result is wrong\"")
    actor = _required(actor, "the name of the person making it: pass --actor NAME")
    role = _required(role, "the role its maker acts in: pass --role ROLE (one the framework's lifecycle "
                           "names in `overrides by`)")
    created = utc_naive(at) if at else utc_now()
    override_id = conn.execute(
        overrides.insert().values(
            family_id=family_id, person_id=person_id, rule=rule, value=value, reason=reason, actor=actor,
            role=role, created_at=created,
        )
    ).inserted_primary_key[0]
    return OverrideRecord(int(override_id), family_id, person_id, rule, value, reason, actor, created, role=role)


def find_override(conn: sa.Connection, override_id: int) -> OverrideRecord:
    """The override recorded as ``override_id``, revoked or not."""
    row = conn.execute(sa.select(overrides).where(overrides.c.override_id == override_id)).first()
    if row is None:
        raise NotFoundError(f"no override #{override_id}; list them with `hearth override list`")
    return _record(row)


def overrides_by_id(conn: sa.Connection, override_ids: Iterable[int]) -> list[OverrideRecord]:
    """The overrides recorded under these ids (revoked ones included), oldest first."""
    wanted = sorted(set(override_ids))
    if not wanted:
        return []
    query = sa.select(overrides).where(overrides.c.override_id.in_(wanted)).order_by(overrides.c.override_id)
    return [_record(row) for row in conn.execute(query)]


def revoke_override(conn: sa.Connection, override_id: int, *, actor: str, role: str, reason: str,
                    at: datetime | None = None) -> None:
    """Mark an override revoked from ``at`` (now by default), by ``actor`` acting as ``role``, because
    ``reason``; the row itself is kept for the record."""
    actor = _required(actor, "the name of the person revoking it: pass --actor NAME")
    role = _required(role, "the role the person revoking it acts in: pass --role ROLE")
    reason = _required(reason, "a reason to be revoked: pass --reason \"why it no longer holds\"")
    done = conn.execute(
        overrides.update()
        .where(overrides.c.override_id == override_id, overrides.c.revoked_at.is_(None))
        .values(revoked_at=utc_naive(at) if at else utc_now(), revoked_by=actor, revoked_role=role,
                revoke_reason=reason)
    )
    if done.rowcount == 0:
        raise NotFoundError(f"no override #{override_id} is in force; list them with `hearth override list`")


def _record(row: sa.Row) -> OverrideRecord:
    return OverrideRecord(int(row.override_id), row.family_id, row.person_id, row.rule, row.value, row.reason,
                          row.actor, row.created_at, row.revoked_at, row.role, row.revoked_by, row.revoked_role,
                          row.revoke_reason)


def list_overrides(conn: sa.Connection, family_id: str | None = None) -> list[OverrideRecord]:
    """Every override ever recorded (revoked ones included), oldest first."""
    query = sa.select(overrides).order_by(overrides.c.override_id)
    if family_id is not None:
        query = query.where(overrides.c.family_id == family_id)
    return [_record(row) for row in conn.execute(query)]


def overrides_in_force(
    conn: sa.Connection, at: datetime, family_ids: Iterable[str] | None = None
) -> dict[str, tuple[OverrideRecord, ...]]:
    """family id -> overrides in force at ``at``, in the order they were made."""
    moment = utc_naive(at)
    query = (
        sa.select(overrides)
        .where(overrides.c.created_at <= moment)
        .where(sa.or_(overrides.c.revoked_at.is_(None), overrides.c.revoked_at > moment))
        .order_by(overrides.c.override_id)
    )
    wanted = None if family_ids is None else set(family_ids)
    by_family: dict[str, list[OverrideRecord]] = {}
    for row in conn.execute(query):
        if wanted is None or row.family_id in wanted:
            by_family.setdefault(row.family_id, []).append(_record(row))
    return {family: tuple(records) for family, records in by_family.items()}
