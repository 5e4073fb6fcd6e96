"""Reading and writing match results and review decisions.

Other areas use :func:`current_assignments` (``record_key -> person_id`` as of a knowledge time).
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from engine.errors import ConfigError, NotFoundError
from engine.matching.linker import Constraints
from engine.storage import tables_matching as t

DECISIONS = ("confirm", "reject")


def utcnow() -> datetime:
    """Naive UTC, as every Hearth timestamp column stores it."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def latest_run(conn: sa.Connection, known_at: datetime | None = None) -> sa.Row | None:
    """The last run that finished at or before ``known_at`` (default: now)."""
    query = sa.select(t.match_runs).where(t.match_runs.c.finished_at.is_not(None))
    if known_at is not None:
        query = query.where(t.match_runs.c.finished_at <= known_at)
    query = query.order_by(t.match_runs.c.finished_at.desc(), t.match_runs.c.run_id.desc()).limit(1)
    return conn.execute(query).first()


def current_assignments(conn: sa.Connection, known_at: datetime | None = None) -> dict[str, str]:
    """``record_key -> person_id`` from the latest match run finished at or before ``known_at``."""
    run = latest_run(conn, known_at)
    if run is None:
        return {}
    keys, persons = fetch_columns(conn, sa.select(t.person_links.c.record_key, t.person_links.c.person_id)
                                  .where(t.person_links.c.run_id == run.run_id))
    return dict(zip(keys, persons))


def next_person_number(conn: sa.Connection) -> int:
    """One more than the highest person number ever issued (ids are never reused)."""
    (numbers,) = fetch_columns(conn, sa.select(t.persons.c.person_id))
    return max((int(pid[1:]) for pid in numbers if pid[1:].isdigit()), default=0) + 1


def fetch_columns(conn: sa.Connection, query: sa.Select, *, as_stored: tuple[str, ...] = ()) -> list[list]:
    """Each column ``query`` selects as a list, read through the driver in this connection's
    transaction: a match run reads a row per source record and per link (900k each at 300,000
    residents), and SQLAlchemy's row objects and per-row type conversion cost more than the
    database's own work. A column whose type converts what the driver returns (SQLite keeps dates
    as text) is converted once per distinct value, exactly as SQLAlchemy would; columns named in
    ``as_stored`` are left as the driver returns them. Parameters are rendered inline, so the query
    must bind only plain values (numbers, strings)."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    selected = list(query.selected_columns)
    columns = [list(column) for column in zip(*rows)] if rows else [[] for _ in selected]
    del rows
    for index, column in enumerate(selected):
        kind = column.type.dialect_impl(conn.dialect)
        convert = None if column.name in as_stored else kind.result_processor(conn.dialect, None)
        if convert is not None:
            columns[index] = _converted(columns[index], convert)
    return columns


def _converted(values: list, convert) -> list:
    done: dict = {}
    try:
        return [done[v] if v in done else done.setdefault(v, convert(v)) for v in values]
    except TypeError:  # a value the driver already decoded into something unhashable (a dict)
        return [convert(v) for v in values]


def ordered_pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def record_decision(conn: sa.Connection, a: str, b: str, decision: str, reviewer: str, reason: str,
                    at: datetime | None = None) -> None:
    """Store a reviewer's decision on a pair; the latest decision on a pair wins."""
    if decision not in DECISIONS:
        raise ConfigError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if a == b:
        raise ConfigError(f"a record cannot be reviewed against itself ({a!r}); give two different record keys")
    if not reviewer.strip() or not reason.strip():
        raise ConfigError("a review decision needs a reviewer name and a reason (--reviewer NAME --reason TEXT)")
    known = _known_records(conn, [a, b])
    missing = [key for key in (a, b) if key not in known]
    if missing:
        raise NotFoundError(
            f"record key(s) {', '.join(repr(m) for m in missing)} not found in source_records; "
            "record keys look like '<feed>:<record_id>' (see `hearth review list`)"
        )
    first, second = ordered_pair(a, b)
    conn.execute(sa.insert(t.review_decisions).values(
        record_key_a=first, record_key_b=second, decision=decision, reviewer=reviewer.strip(),
        reason=reason.strip(), at=at or utcnow()))


def _known_records(conn: sa.Connection, keys: list[str]) -> set[str]:
    from engine.storage.tables_ingest import source_records

    rows = conn.execute(sa.select(source_records.c.record_key).where(source_records.c.record_key.in_(keys)))
    return set(rows.scalars())


def decisions(conn: sa.Connection) -> dict[tuple[str, str], sa.Row]:
    """The latest decision per pair."""
    latest: dict[tuple[str, str], sa.Row] = {}
    rows = conn.execute(sa.select(t.review_decisions).order_by(t.review_decisions.c.at, t.review_decisions.c.id))
    for row in rows:
        latest[(row.record_key_a, row.record_key_b)] = row
    return latest


def constraints(conn: sa.Connection) -> Constraints:
    """Reviewers' decisions as linker constraints."""
    result = Constraints()
    for pair, row in decisions(conn).items():
        (result.confirmed if row.decision == "confirm" else result.rejected).add(pair)
    return result


def open_reviews(conn: sa.Connection) -> list[sa.Row]:
    """The latest run's review queue without the pairs already decided, most likely matches first."""
    run = latest_run(conn)
    if run is None:
        return []
    decided = decisions(conn)
    rows = conn.execute(
        sa.select(t.review_queue).where(t.review_queue.c.run_id == run.run_id)
        .order_by(t.review_queue.c.probability.desc())
    )
    return [row for row in rows if (row.record_key_a, row.record_key_b) not in decided]
