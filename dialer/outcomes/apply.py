"""Apply stored events to attempts and contacts: a forward-only state machine per attempt.

A final attempt absorbs late, duplicate and out-of-order events (details such as a transfer
leg's duration may still be filled in, but the outcome never changes). An event whose attempt
is not found yet stays an ``orphan`` and is matched when the attempt appears.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from dialer.campaign.store import config_of
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Campaign, Contact, ProviderEvent
from dialer.dnc import add_to_dnc, is_opt_out_text
from dialer.outcomes.finish import finish_attempt
from dialer.outcomes.inbox import event_from_json, lock_pending_payloads, mark_applied
from dialer.policy.classify import classify_call, classify_sms, sms_status_advances
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.states import AttemptStatus

log = logging.getLogger(__name__)

_CALL_KINDS = frozenset(
    {
        EventKind.CALL_STARTED,
        EventKind.CALL_ENDED,
        EventKind.DTMF,
        EventKind.TRANSFER_STARTED,
        EventKind.TRANSFER_ENDED,
    }
)


def find_attempt(session: Session, event: NormalizedEvent) -> Attempt | None:
    """Calls by ``messId`` (our attempt id), then by CallID; SMS by ``message_sid``.
    The attempt row is locked (``FOR UPDATE``) until the transaction ends."""
    if event.kind in _CALL_KINDS and event.attempt_id is not None:
        attempt = session.exec(_attempt_by_id(), params={"attempt_id": event.attempt_id}).first()
        if attempt is not None:
            return attempt
    if event.provider_id:
        return session.exec(
            _attempt_by_provider_id(), params={"provider_id": event.provider_id}
        ).first()
    return None


# Built once: constructing a statement per event cost about as much as running it.
@functools.cache
def _attempt_by_id() -> SelectOfScalar[Attempt]:
    return select(Attempt).where(Attempt.id == bindparam("attempt_id")).with_for_update()


@functools.cache
def _attempt_by_provider_id() -> SelectOfScalar[Attempt]:
    return select(Attempt).where(Attempt.provider_id == bindparam("provider_id")).with_for_update()


def apply_event(session: Session, event: NormalizedEvent, now: datetime) -> str:
    """Apply one event. Returns the inbox status: ``applied``, ``orphan`` or ``ignored``."""
    if event.kind == EventKind.SMS_INBOUND:
        if event.sender and is_opt_out_text(event.text):
            add_to_dnc(session, [event.sender], source="sms", reason="inbound SMS stop", now=now)
            return "applied"
        return "ignored"
    attempt = find_attempt(session, event)
    if attempt is None:
        return "orphan"
    if event.provider_id and attempt.provider_id is None:
        attempt.provider_id = event.provider_id
    contact = session.get(Contact, attempt.contact_id, with_for_update=True)
    is_current = contact is not None and contact.last_attempt_id == attempt.id
    if event.kind == EventKind.CALL_STARTED:
        if attempt.status in (AttemptStatus.DIALING, AttemptStatus.UNKNOWN):
            attempt.status = AttemptStatus.SUBMITTED.value
            attempt.submitted_at = attempt.submitted_at or now
    elif event.kind in (EventKind.DTMF, EventKind.TRANSFER_STARTED, EventKind.TRANSFER_ENDED):
        _apply_ivr_detail(session, attempt, contact if is_current else None, event, now)
    elif event.kind == EventKind.CALL_ENDED:
        attempt.cause, attempt.duration = event.cause, event.duration
        if event.occurred_at is not None and event.duration:
            attempt.answered_at = event.occurred_at - timedelta(seconds=event.duration)
        if contact is not None and is_current and attempt.status in _LIVE:
            contact.last_cause, contact.duration = event.cause, event.duration
        finish_attempt(session, attempt, classify_call(event.cause, event.duration), now=now)
    elif (
        event.kind == EventKind.SMS_STATUS
        and event.status
        and sms_status_advances(attempt.sms_status, event.status)
    ):
        attempt.sms_status = event.status
        if contact is not None and is_current:
            contact.sms_status = event.status
        outcome = classify_sms(event.status)
        if outcome is not None:
            finish_attempt(session, attempt, outcome, now=now)
    attempt.updated_at = now
    session.add(attempt)
    if contact is not None:
        session.add(contact)
    return "applied"


_LIVE = frozenset(
    {AttemptStatus.QUEUED, AttemptStatus.DIALING, AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN}
)


def _apply_ivr_detail(
    session: Session,
    attempt: Attempt,
    contact: Contact | None,
    event: NormalizedEvent,
    now: datetime,
) -> None:
    """DTMF choices and transfer legs enrich the attempt (even a final one)."""
    campaign = session.get(Campaign, attempt.campaign_id)
    config = config_of(campaign) if campaign is not None else None
    if event.dtmf is not None:
        attempt.dtmf = str(event.dtmf)
        attempt.dtmf_label = config.menu_label(event.dtmf) if config else None
    elif event.kind == EventKind.DTMF and attempt.dtmf is None:
        attempt.dtmf_label = "no choice"
    if event.kind == EventKind.TRANSFER_STARTED:
        attempt.transfer_number = event.number
    if event.kind == EventKind.TRANSFER_ENDED:
        attempt.transfer_number = attempt.transfer_number or event.number
        attempt.transfer_cause, attempt.transfer_duration = event.cause, event.duration
    if contact is not None:
        contact.dtmf, contact.dtmf_label = attempt.dtmf, attempt.dtmf_label
        contact.transfer_duration = attempt.transfer_duration
        contact.updated_at = now
    if config is not None and event.dtmf is not None:
        item = next((m for m in config.menu if m.digit == event.dtmf), None)
        if item is not None and item.action == "optout":
            session.add(attempt)
            if contact is not None:
                session.add(contact)
            session.flush()
            add_to_dnc(session, [attempt.number], source="ivr", reason="opt-out digit", now=now)


def _apply_batch(session: Session, event_ids: list[int], now: datetime) -> dict[str, int]:
    """Apply those of ``event_ids`` still pending, in the given order, in ``session``'s
    transaction. Returns counts by resulting status (events not pending are left out).

    The inbox rows are locked, read and updated with one Core statement each per batch: an
    ORM object per event cost more than applying it.
    """
    connection = session.connection()
    payloads = dict(lock_pending_payloads(connection, event_ids))
    results: list[tuple[int, str]] = []
    for event_id in event_ids:
        payload = payloads.pop(event_id, None)
        if payload is not None:
            results.append((event_id, apply_event(session, event_from_json(payload), now)))
    mark_applied(connection, results, now=now)
    counts: dict[str, int] = {}
    for _, status in results:
        counts[status] = counts.get(status, 0) + 1
    return counts


def apply_events(engine: Engine, event_ids: Iterable[int], now: datetime) -> dict[str, int]:
    """Apply stored events. Returns counts by resulting status.

    A batch is applied in one transaction; if anything in it fails, it is rolled back and
    applied again one transaction per event, so one poison event cannot block the rest. A
    database hiccup leaves an event ``pending`` (the scheduler sweeps it again); any other
    failure marks it ``error`` with the message.
    """
    ids = list(event_ids)
    counts: dict[str, int] = {}
    if len(ids) > 1:
        try:
            with session_scope(engine) as session:
                return _apply_batch(session, ids, now)
        except Exception:
            log.info("batch of %d events failed; applying one by one", len(ids), exc_info=True)
    for event_id in ids:
        try:
            with session_scope(engine) as session:
                applied = _apply_batch(session, [event_id], now)
                status = next(iter(applied), "skipped")
        except OperationalError:
            log.warning("event %s left pending: database busy", event_id, exc_info=True)
            status = "pending"
        except Exception as exc:
            log.exception("event %s failed to apply", event_id)
            with session_scope(engine) as session:
                row = session.get(ProviderEvent, event_id)
                if row is not None:
                    row.status, row.error = "error", f"{type(exc).__name__}: {exc}"[:500]
                    session.add(row)
            status = "error"
        if status != "skipped":
            counts[status] = counts.get(status, 0) + 1
    return counts
