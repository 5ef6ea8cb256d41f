"""The event inbox: store first (deduplicated), apply later. All inbox SQL lives here."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

from sqlalchemy import Connection, Table
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
    table = inbox_table()
    dialect = session.dialect if isinstance(session, Connection) else session.get_bind().dialect
    insert = sqlite_insert if dialect.name == "sqlite" else pg_insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    event_id = session.execute(statement).scalar()
    return (int(event_id), True) if event_id is not None else (None, False)


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
