"""Recovering SMS events the collector never stored, from msapi's message history.

While the collector is down, msapi's status events and inbound messages are lost (it does not
promise to retry). Its message list (``GET .../messages``) still knows each message's current
status and every inbound message, so the scheduler reads it: the messages of SMS attempts past
their event timeout before they are written off, and, every ``INBOUND_SCAN_EVERY``, the inbound
messages since the last look (a STOP sent meanwhile still opts its sender out).

Each message is turned into exactly the event its webhook would have carried and goes through
the inbox like one: stored under the same dedupe key (a webhook that did arrive, or arrives
later, is the same row), then applied by the one outcome engine. An inbound message already
in the inbox under its ``message_sid`` is skipped, whatever shape its webhook had.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.db.engine import session_scope
from dialer.db.models import Campaign, ProviderEvent
from dialer.outcomes.apply import apply_events
from dialer.outcomes.inbox import store_event
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.events import dedupe_key, parse_sms_event
from dialer.providers.msapi_models import MsapiMessage

ROUTE = "history/msapi"
"""The inbox ``route`` of events recovered from the message history."""

INBOUND_SCAN_EVERY = timedelta(seconds=30)
"""How often the inbound messages are read while an SMS campaign exists."""
INBOUND_FIRST_LOOKBACK = timedelta(hours=24)
"""How far back the first scan of a scheduler process looks."""
INBOUND_SLACK = timedelta(minutes=5)
"""Overlap between scans (clocks differ; an overlap costs nothing: duplicates are skipped)."""


def event_from_history(message: MsapiMessage) -> NormalizedEvent | None:
    """The webhook event ``message`` stands for (``None`` without a status or for a direction
    we do not know).

    msapi's list names the account's number ``number`` and the subscriber's
    ``external_number`` (its examples; its field table says the reverse, the simulator and
    these examples agree); the webhook's ``from``/``to`` follow the direction."""
    direction = message.direction.strip().lower()
    if not message.status.strip():
        return None
    if direction == "outbound":
        sender, recipient = message.number, message.external_number
    elif direction == "inbound":
        sender, recipient = message.external_number, message.number
    else:
        return None
    return parse_sms_event(
        {
            "account_sid": message.account_sid,
            "direction": direction,
            "from": sender,
            "to": recipient,
            "message_sid": message.message_sid,
            "status": message.status,
            "text": message.text,
        }
    )


def recover_from_history(engine: Engine, messages: Iterable[MsapiMessage], now: datetime) -> int:
    """Store the events of ``messages`` that the inbox lacks and apply them. Returns how many
    were new. Inbound messages already stored (by ``message_sid``) are skipped."""
    events = [(m, e) for m in messages if (e := event_from_history(m)) is not None]
    if not events:
        return 0
    new_ids: list[int] = []
    with session_scope(engine) as session:
        inbound_sids = [e.provider_id or "" for _, e in events if e.kind == EventKind.SMS_INBOUND]
        stored = _stored_inbound(session, inbound_sids)
        for message, event in events:
            if event.kind == EventKind.SMS_INBOUND and event.provider_id in stored:
                continue
            event_id, is_new = store_event(
                session,
                route=ROUTE,
                raw=json.dumps(message.model_dump(), ensure_ascii=False),
                event=event,
                dedupe_key=dedupe_key(event),
                now=now,
            )
            if is_new and event_id is not None:
                new_ids.append(event_id)
                stored.add(event.provider_id or "")
    if new_ids:
        apply_events(engine, new_ids, now)
    return len(new_ids)


def _stored_inbound(session: Session, message_sids: Sequence[str]) -> set[str]:
    if not message_sids:
        return set()
    rows = session.exec(
        select(ProviderEvent.provider_id).where(
            ProviderEvent.kind == EventKind.SMS_INBOUND.value,
            col(ProviderEvent.provider_id).in_(message_sids),
        )
    ).all()
    return {row for row in rows if row is not None}


def has_sms_campaign(session: Session) -> bool:
    """Whether any SMS campaign exists (else inbound messages are none of our business)."""
    return (
        session.exec(select(Campaign.id).where(Campaign.channel == "sms").limit(1)).first()
        is not None
    )


class InboundScan:
    """When to read the inbound messages next, and from when (one per scheduler process).
    A failed read is tried again after ``every`` and still looks back to the last good one."""

    def __init__(self, every: timedelta | None = None) -> None:
        self.every = every or INBOUND_SCAN_EVERY
        self.last_try: datetime | None = None
        self.last_ok: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.last_try is None or now - self.last_try >= self.every

    def since(self, now: datetime) -> datetime:
        """Messages created from this moment on are read."""
        if self.last_ok is None:
            return now - INBOUND_FIRST_LOOKBACK
        return self.last_ok - INBOUND_SLACK

    def tried(self, now: datetime, *, ok: bool) -> None:
        self.last_try = now
        if ok:
            self.last_ok = now
