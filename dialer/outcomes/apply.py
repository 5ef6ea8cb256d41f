"""Apply stored events to attempts and contacts: a forward-only state machine per attempt.

A final attempt absorbs late, duplicate and out-of-order events (details such as a transfer
leg's duration may still be filled in, but the outcome never changes). An event whose attempt
is not found yet stays an ``orphan`` and is matched when the attempt appears.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from dialer.campaign.config import CampaignConfig
from dialer.campaign.store import config_of
from dialer.channels import channel_for, owner_of
from dialer.channels.base import Effect, OptOut, RequestCallback
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Campaign, Contact, ProviderEvent
from dialer.db.types import utcnow
from dialer.dnc import add_to_dnc
from dialer.outcomes.callbacks import request_callback
from dialer.outcomes.finish import finish_attempt
from dialer.outcomes.inbox import event_from_json, lock_pending_payloads, mark_applied
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.mtt_business_events import MATCH_WINDOW, PlacedCallback, match_notification
from dialer.states import LIVE_ATTEMPT_STATUSES, AttemptStatus

log = logging.getLogger(__name__)


def find_attempt(
    session: Session, event: NormalizedEvent, now: datetime | None = None
) -> Attempt | None:
    """By our attempt id when the event's channel carries it (sb-api ``messId``, the
    CallBack URL's path), then by the provider's id (CallID, ``message_sid``,
    ``callBackCall_id``). The attempt row is locked (``FOR UPDATE``) until the transaction
    ends."""
    if event.attempt_id is not None and owner_of(event.kind).events_carry_attempt_id:
        attempt = session.exec(_attempt_by_id(), params={"attempt_id": event.attempt_id}).first()
        if attempt is not None:
            return attempt
    if event.provider_id:
        attempt = session.exec(
            _attempt_by_provider_id(), params={"provider_id": event.provider_id}
        ).first()
        if attempt is not None:
            return attempt
    if event.kind == EventKind.CALLBACK and event.provider_id:
        earlier = _attempt_of_earlier_events(session, event.provider_id)
        if earlier is not None:
            return earlier
    if event.kind == EventKind.CALLBACK and event.extra.get("contact"):
        return _callback_by_contact(session, event, now or utcnow())
    return None


def _attempt_of_earlier_events(session: Session, provider_id: str) -> Attempt | None:
    """The attempt earlier events with this provider id were matched to (MTT Business's
    ``recorded`` names only the call, which its first events tied to our callback)."""
    attempt_id = session.exec(
        select(ProviderEvent.attempt_id)
        .where(
            ProviderEvent.provider_id == provider_id,
            col(ProviderEvent.attempt_id).is_not(None),
            ProviderEvent.status == "applied",
        )
        .limit(1)
    ).first()
    if attempt_id is None:
        return None
    return session.exec(_attempt_by_id(), params={"attempt_id": attempt_id}).first()


def _callback_by_contact(session: Session, event: NormalizedEvent, now: datetime) -> Attempt | None:
    """A callback whose events do not name it (MTT Business: ``makeCall``'s id never comes
    back): the callback to the event's contact placed shortly before the event, the last
    such (``match_notification``); a finished one absorbs its late events."""
    contact = event.extra["contact"]
    rows = session.exec(
        select(Attempt)
        .where(
            Attempt.channel == "callback",
            Attempt.number == contact,
            col(Attempt.status) != AttemptStatus.CANCELLED,
            col(Attempt.dialing_at) >= now - MATCH_WINDOW,
        )
        .with_for_update()
    ).all()
    placed = [PlacedCallback(a.id or 0, a.number, a.agent or "", a.dialing_at or now) for a in rows]
    chosen = match_notification(event, placed, received_at=now)
    return next((a for a in rows if a.id == chosen), None)


# Built once: constructing a statement per event cost about as much as running it.
@functools.cache
def _attempt_by_id() -> SelectOfScalar[Attempt]:
    return select(Attempt).where(Attempt.id == bindparam("attempt_id")).with_for_update()


@functools.cache
def _attempt_by_provider_id() -> SelectOfScalar[Attempt]:
    return select(Attempt).where(Attempt.provider_id == bindparam("provider_id")).with_for_update()


def apply_event(session: Session, event: NormalizedEvent, now: datetime) -> str:
    """Apply one event. Returns the inbox status: ``applied``, ``orphan`` or ``ignored``."""
    return apply_and_match(session, event, now)[0]


def apply_and_match(
    session: Session, event: NormalizedEvent, now: datetime
) -> tuple[str, int | None]:
    """Apply one event. Returns the inbox status (``applied``, ``orphan`` or ``ignored``)
    and the attempt it was matched to.

    The attempt's channel says what the event does (``Channel.reduce``); this writes it:
    fields, the contact's mirror of its current attempt, a final outcome, and actions."""
    owner = owner_of(event.kind)
    loose = owner.unattached(event)
    if loose is not None:
        if not loose.actions:
            return "ignored", None
        _run_actions(session, None, loose, now)
        return "applied", None
    attempt = find_attempt(session, event, now)
    if attempt is None:
        return "orphan", None
    if event.provider_id and attempt.provider_id is None:
        attempt.provider_id = event.provider_id
    contact = session.get(Contact, attempt.contact_id, with_for_update=True)
    is_current = contact is not None and contact.last_attempt_id == attempt.id

    def config() -> CampaignConfig | None:
        campaign = session.get(Campaign, attempt.campaign_id)
        return config_of(campaign) if campaign is not None else None

    effect = channel_for(attempt.channel).reduce(attempt, event, now, config)
    for name, value in effect.attempt.items():
        setattr(attempt, name, value)
    if effect.started and attempt.status in (AttemptStatus.DIALING, AttemptStatus.UNKNOWN):
        attempt.status = AttemptStatus.SUBMITTED.value
        attempt.submitted_at = attempt.submitted_at or now
    if effect.release_slot and attempt.status in LIVE_ATTEMPT_STATUSES:
        attempt.slot_released_at = attempt.slot_released_at or now
    if effect.settle and attempt.status in LIVE_ATTEMPT_STATUSES:
        attempt.not_before = None  # its result is to be read at once
    if contact is not None and is_current and effect.contact:
        for name, value in effect.contact.items():
            setattr(contact, name, value)
        contact.updated_at = now
    if effect.actions:
        _run_actions(session, attempt, effect, now, contact=contact)
    if effect.outcome is not None:
        finish_attempt(session, attempt, effect.outcome, now=now)
    attempt.updated_at = now
    session.add(attempt)
    if contact is not None:
        session.add(contact)
    return "applied", attempt.id


def _run_actions(
    session: Session,
    attempt: Attempt | None,
    effect: Effect,
    now: datetime,
    *,
    contact: Contact | None = None,
) -> None:
    if attempt is not None:
        session.add(attempt)
        if contact is not None:
            session.add(contact)
        session.flush()
    for action in effect.actions:
        if isinstance(action, OptOut):
            number = action.number or (attempt.number if attempt is not None else None)
            if number:
                add_to_dnc(session, [number], source=action.source, reason=action.reason, now=now)
        elif isinstance(action, RequestCallback) and attempt is not None:
            request_callback(session, attempt, action, now)


def _apply_batch(session: Session, event_ids: list[int], now: datetime) -> dict[str, int]:
    """Apply those of ``event_ids`` still pending, in the given order, in ``session``'s
    transaction. Returns counts by resulting status (events not pending are left out).

    The inbox rows are locked, read and updated with one Core statement each per batch: an
    ORM object per event cost more than applying it.
    """
    connection = session.connection()
    payloads = dict(lock_pending_payloads(connection, event_ids))
    results: list[tuple[int, str, int | None]] = []
    for event_id in event_ids:
        payload = payloads.pop(event_id, None)
        if payload is not None:
            status, attempt_id = apply_and_match(session, event_from_json(payload), now)
            results.append((event_id, status, attempt_id))
    mark_applied(connection, results, now=now)
    counts: dict[str, int] = {}
    for _, status, _ in results:
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
