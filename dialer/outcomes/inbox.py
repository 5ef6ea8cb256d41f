"""The event inbox: store first (deduplicated), apply later. All inbox SQL lives here."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Insert, Table, Update, bindparam, func
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, select

from dialer.db.models import ProviderEvent
from dialer.providers.base import NormalizedEvent


def event_to_json(event: NormalizedEvent) -> str:
    data = dataclasses.asdict(event)
    data["kind"] = event.kind.value
    if event.occurred_at is not None:
        data["occurred_at"] = event.occurred_at.isoformat()
    return json.dumps(data, ensure_ascii=False)


def event_from_json(payload: str) -> NormalizedEvent:
    from dialer.providers.base import EventKind

    data = json.loads(payload)
    data["kind"] = EventKind(data["kind"])
    if data.get("occurred_at"):
        data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
    return NormalizedEvent(**data)


def inbox_table() -> Table:
    table = SQLModel.metadata.tables["events"]
    return table


def store_event(
    session: Session | Connection,
    *,
    route: str,
    raw: str,
    event: NormalizedEvent | None,
    dedupe_key: str | None,
    error: str | None = None,
    now: datetime,
) -> tuple[int | None, bool]:
    """Insert one received request's event. Returns ``(event_id, is_new)``; an exact
    redelivery (same dedupe key) is not stored again and returns ``(None, False)``.

    One ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id``: only a clash on the
    dedupe key counts as a duplicate; any other integrity error propagates. The caller
    commits, and answers 2xx only after that.
    """
    values = {
        "route": route,
        "raw": raw,
        "received_at": now,
        "dedupe_key": dedupe_key,
        "status": "pending" if event is not None else "invalid",
        "kind": event.kind.value if event else None,
        "attempt_id": event.attempt_id if event else None,
        "provider_id": event.provider_id if event else None,
        "payload_json": event_to_json(event) if event else None,
        "error": error[:500] if error else None,
    }
    dialect = session.dialect if isinstance(session, Connection) else session.get_bind().dialect
    event_id = session.execute(_insert_statement(dialect.name), values).scalar()
    return (int(event_id), True) if event_id is not None else (None, False)


@functools.cache
def _insert_statement(dialect_name: str) -> Insert:
    """The inbox insert, built once per dialect (values come as parameters): building and
    hashing a fresh statement for every webhook cost more than executing it."""
    table = inbox_table()
    insert = sqlite_insert if dialect_name == "sqlite" else pg_insert
    return insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)


def lock_pending_payloads(
    connection: Connection, event_ids: Sequence[int]
) -> list[tuple[int, str]]:
    """``(id, payload_json)`` of those events still ``pending`` with a payload, in id order,
    locked until the transaction ends (``FOR UPDATE``; SQLite's write lock already covers it)."""
    table = inbox_table()
    rows = connection.execute(
        core_select(table.c.id, table.c.payload_json)
        .where(
            table.c.id.in_(event_ids),
            table.c.status == "pending",
            table.c.payload_json.is_not(None),
        )
        .order_by(table.c.id)
        .with_for_update()
    ).all()
    return [(int(row.id), str(row.payload_json)) for row in rows]


def mark_applied(
    connection: Connection,
    results: Sequence[tuple[int, str, int | None]],
    *,
    now: datetime,
) -> None:
    """Record each event's apply status (``applied`` also stamps ``applied_at``) and the
    attempt it was matched to, in one executemany."""
    if results:
        connection.execute(
            _status_statement(),
            [
                {
                    "event_id": event_id,
                    "new_status": status,
                    "new_applied_at": now if status == "applied" else None,
                    "matched_attempt": attempt_id,
                }
                for event_id, status, attempt_id in results
            ],
        )


@functools.cache
def _status_statement() -> Update:
    table = inbox_table()
    return (
        table.update()
        .where(table.c.id == bindparam("event_id"))
        .values(
            status=bindparam("new_status"),
            applied_at=bindparam("new_applied_at"),
            attempt_id=func.coalesce(table.c.attempt_id, bindparam("matched_attempt")),
        )
    )


def pending_event_ids(session: Session, *, older_than: datetime, limit: int = 500) -> list[int]:
    """Events stored but not applied (their collector died after the 2xx)."""
    rows = session.exec(
        select(ProviderEvent.id)
        .where(ProviderEvent.status == "pending", col(ProviderEvent.received_at) < older_than)
        .order_by(col(ProviderEvent.id))
        .limit(limit)
    ).all()
    return [r for r in rows if r is not None]


def orphan_event_ids(
    session: Session, *, attempt_id: int | None = None, provider_id: str | None = None
) -> list[int]:
    query = select(ProviderEvent.id).where(ProviderEvent.status == "orphan")
    if attempt_id is not None:
        query = query.where(ProviderEvent.attempt_id == attempt_id)
    if provider_id is not None:
        query = query.where(ProviderEvent.provider_id == provider_id)
    return [r for r in session.exec(query.order_by(col(ProviderEvent.id))).all() if r is not None]
