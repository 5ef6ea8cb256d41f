"""Store first: one webhook request into the inbox, deduplicated, committed before the answer.

All writes go through ``dialer.outcomes.inbox.store_event``; this module only decides what to
store and in which transaction. Sync (SQLAlchemy): call it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError

from dialer.channels.base import Parser
from dialer.collector.parsing import HookRoute, parse_webhook
from dialer.collector.raw import clean_text
from dialer.collector.writes import WriteGate
from dialer.db.engine import session_scope
from dialer.errors import EventParseError, EventRejectedError
from dialer.outcomes.inbox import store_event
from dialer.providers.base import NormalizedEvent
from dialer.providers.events import dedupe_key


@dataclass(frozen=True, slots=True)
class Intake:
    """What one request left in the inbox.

    ``event_ids`` are the new rows to apply, ``kinds`` their event kinds (same order);
    ``duplicates`` counts events already stored. ``invalid`` is the reason the request was kept
    only as raw text (the answer is then 400).
    """

    event_ids: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()
    duplicates: int = 0
    invalid: str | None = None
    forbidden: str | None = None
    """Why the request was refused unstored (a provider's own token did not match)."""


def take_in(
    engine: Engine,
    gate: WriteGate,
    *,
    route: HookRoute,
    body: bytes,
    content_type: str | None,
    query: Mapping[str, str],
    raw: str,
    now: datetime,
    parsers: Mapping[str, Parser] | None = None,
) -> Intake:
    """Parse the request (with ``parsers``, the routes' parsers bound to the collector's
    settings) and store its events (or, unparseable, its raw text) and commit.
    Only the writes hold ``gate``: parsing runs beside the other requests' writes.

    An event the schema cannot hold (``DataError``: a value too long, out of range, or with
    NUL on PostgreSQL; a lone surrogate from a JSON escape) is treated like an unparseable
    body: kept raw, answered 400, never retried forever. Raises
    ``sqlalchemy.exc.SQLAlchemyError`` when the database cannot take the write (the caller
    answers 503 so MTT sends it again).
    """
    try:
        events = parse_webhook(route, body, content_type, query, parsers)
    except EventRejectedError as exc:
        return Intake(forbidden=str(exc))
    except EventParseError as exc:
        return gate.run(keep_invalid, engine, route=route, raw=raw, reason=str(exc), now=now)
    try:
        return gate.run(store_events, engine, route=route, raw=raw, events=events, now=now)
    except DataError as exc:
        reason = f"event not storable: {type(exc.orig).__name__}: {exc.orig}"
        return gate.run(keep_invalid, engine, route=route, raw=raw, reason=reason, now=now)
    except UnicodeEncodeError:
        # A JSON "\ud800" escape decodes to a lone surrogate that no database text can hold.
        reason = "event not storable: a field is not valid Unicode (lone surrogate)"
        return gate.run(keep_invalid, engine, route=route, raw=raw, reason=reason, now=now)


def store_events(
    engine: Engine,
    *,
    route: HookRoute,
    raw: str,
    events: list[NormalizedEvent],
    now: datetime,
) -> Intake:
    """Store every event of one request in one transaction; an exact redelivery (same dedupe
    key, also twice in one body) is counted as a duplicate, not stored. Raises
    ``SQLAlchemyError`` (nothing committed) on database failure."""
    ids: list[int] = []
    kinds: list[str] = []
    duplicates = 0
    with engine.begin() as connection:
        for event in events:
            event_id, is_new = store_event(
                connection, route=route, raw=raw, event=event, dedupe_key=dedupe_key(event), now=now
            )
            if is_new and event_id is not None:
                ids.append(event_id)
                kinds.append(event.kind.value)
            else:
                duplicates += 1
    return Intake(event_ids=tuple(ids), kinds=tuple(kinds), duplicates=duplicates)


def keep_invalid(
    engine: Engine, *, route: HookRoute, raw: str, reason: str, now: datetime
) -> Intake:
    """Keep an unreadable request's raw text (status ``invalid``) for inspection.
    Raises ``SQLAlchemyError`` on database failure."""
    reason = clean_text(reason) or "unparseable"
    with session_scope(engine) as session:
        store_event(
            session, route=route, raw=raw, event=None, dedupe_key=None, error=reason, now=now
        )
    return Intake(invalid=reason)
