"""Orphans: events that arrived before their attempt was known. Matched when it appears."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from dialer.db.engine import session_scope
from dialer.db.models import ProviderEvent
from dialer.outcomes.apply import apply_events
from dialer.outcomes.inbox import orphan_event_ids


def match_orphans(
    engine: Engine,
    *,
    now: datetime,
    attempt_id: int | None = None,
    provider_id: str | None = None,
) -> dict[str, int]:
    """Re-apply orphan events for this attempt / provider id (or all orphans when neither
    is given). Those still unmatched stay orphans."""
    with session_scope(engine) as session:
        ids = orphan_event_ids(session, attempt_id=attempt_id, provider_id=provider_id)
        if not ids:
            return {}
        session.execute(
            update(ProviderEvent).where(col(ProviderEvent.id).in_(ids)).values(status="pending")
        )
    return apply_events(engine, ids, now)
