"""Agent callbacks in the outcome engine: a contact asking for one from an IVR menu, the
agents missing too many in a row, and settling a callback from MTT's call info.

A callback's events carry no cause. When ``end_side_A`` comes its agent is free at once
(``slot_released_at``) and the scheduler reads ``getCallBackFollowmeCallInfo`` for the
result (``due_for_lookup`` → ``Reconciler.callback_infos`` → ``settle``); when MTT does not
know it yet, it is read again a little later, and past the callback's event timeout the
events decide (``CallbackChannel.without_event``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from dialer.campaign.store import config_of
from dialer.channels import channel_for
from dialer.channels.base import RequestCallback
from dialer.channels.callback import backend
from dialer.db.models import Attempt, Campaign, Contact
from dialer.outcomes.finish import finish_attempt
from dialer.policy.classify import classify_callback
from dialer.providers.mtt_callback_answers import CallbackCallInfo
from dialer.states import (
    FINAL_CONTACT_STATUSES,
    LIVE_ATTEMPT_STATUSES,
    AttemptStatus,
    CampaignState,
    ContactStatus,
    Outcome,
)

log = logging.getLogger(__name__)

LOOKUP_AGAIN = timedelta(seconds=5)
"""How long to wait before asking MTT again for a result it did not have yet."""
NEVER_REOPENED = frozenset(
    {ContactStatus.OPTED_OUT, ContactStatus.SUPPRESSED, ContactStatus.INVALID}
)


def request_callback(
    session: Session, attempt: Attempt, action: RequestCallback, now: datetime
) -> Contact | None:
    """The contact of ``attempt`` pressed a ``callback`` digit: put it into the callback
    campaign, due at once, with its CSV columns (for the agent's whisper).

    Already there and waiting: due at once. There and finished (reached, not reached,
    cancelled): asked again, so pending again with a fresh budget. Opted out, suppressed or
    invalid there: left alone. A campaign that had completed runs again; a draft or paused one
    keeps the contact until it is started. Returns the callback contact, or ``None``."""
    target = session.exec(select(Campaign).where(Campaign.name == action.campaign)).first()
    if target is None or target.channel != "callback":
        log.warning(
            "attempt %s: digit %s asks for callback campaign %r, which is %s",
            attempt.id,
            action.digit,
            action.campaign,
            "missing" if target is None else f"a {target.channel} campaign",
        )
        return None
    source = session.get(Contact, attempt.contact_id)
    origin = session.get(Campaign, attempt.campaign_id)
    where = f"ivr:{origin.name if origin else attempt.campaign_id} digit {action.digit}"
    contact = session.exec(
        select(Contact)
        .where(Contact.campaign_id == target.id, Contact.phone == attempt.number)
        .with_for_update()
    ).first()
    if contact is None:
        contact = Contact(
            campaign_id=target.id or 0,
            phone=attempt.number,
            timezone=source.timezone if source else config_of(target).schedule.timezone,
            timezones=source.timezones if source else "",
            region=source.region if source else "",
            fields_json=source.fields_json if source else "{}",
            status=ContactStatus.PENDING.value,
            next_attempt_at=now,
            source=where[:300],
            reason="asked for a callback",
            updated_at=now,
        )
    elif contact.status in NEVER_REOPENED:
        return contact
    else:
        if contact.status in FINAL_CONTACT_STATUSES:
            contact.status = ContactStatus.PENDING.value
            contact.budget_used = 0
            contact.outcome = None
        if contact.status != ContactStatus.IN_PROGRESS:
            contact.next_attempt_at = now
        contact.source = where[:300]
        contact.reason = "asked for a callback again"
        contact.updated_at = now
    session.add(contact)
    if target.state == CampaignState.COMPLETED:
        target.state = CampaignState.RUNNING.value
        target.state_reason = f"a contact asked for a callback ({where})"
        target.finished_at = None
        target.updated_at = now
        session.add(target)
    session.flush()
    return contact


@dataclass(frozen=True, slots=True)
class Lookup:
    """A callback attempt whose result is to be read: ``call_id`` is MTT's id."""

    attempt_id: int
    call_id: str


def due_for_lookup(session: Session, now: datetime, limit: int = 200) -> list[Lookup]:
    """Live callback attempts whose call is over (``end_side_A`` came) or past their event
    timeout, and not asked about in the last ``LOOKUP_AGAIN``."""
    rows = session.exec(
        select(Attempt)
        .where(
            Attempt.channel == "callback",
            col(Attempt.status).in_([AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN]),
            col(Attempt.provider_id).is_not(None),
            or_(col(Attempt.not_before).is_(None), col(Attempt.not_before) <= now),
        )
        .order_by(col(Attempt.id))
        .limit(limit * 4)
    ).all()
    due: list[Lookup] = []
    campaigns: dict[int, timedelta | None] = {}
    for attempt in rows:
        if attempt.campaign_id not in campaigns:
            campaigns[attempt.campaign_id] = _lookup_timeout(session, attempt.campaign_id)
        timeout = campaigns[attempt.campaign_id]
        if timeout is None:
            continue  # its provider cannot say how a call ended: the events decide
        if attempt.slot_released_at is None:
            started = attempt.submitted_at or attempt.dialing_at or now
            if started >= now - timeout:
                continue
        due.append(Lookup(attempt.id or 0, attempt.provider_id or ""))
        if len(due) >= limit:
            break
    return due


def _lookup_timeout(session: Session, campaign_id: int) -> timedelta | None:
    """The campaign's callback event timeout, or ``None`` when its provider has no way to
    read a result."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    config = config_of(campaign)
    if config.callback is None or not backend(config).reads_results:
        return None
    return channel_for("callback").event_timeout(config)


def settle(
    session: Session,
    infos: Mapping[int, CallbackCallInfo],
    now: datetime,
    asked: list[Lookup] | None = None,
) -> int:
    """Finish the callback attempts whose result MTT gave (``infos`` by attempt id). Those
    asked about (``asked``) with no usable answer are asked again after ``LOOKUP_AGAIN``.
    Returns how many were finished."""
    done = 0
    for lookup in asked or [Lookup(i, "") for i in infos]:
        attempt = session.get(Attempt, lookup.attempt_id, with_for_update=True)
        if attempt is None or attempt.status not in LIVE_ATTEMPT_STATUSES:
            continue
        info = infos.get(lookup.attempt_id)
        outcome = classify_callback(info) if info is not None else None
        if outcome is None or info is None:
            attempt.not_before = now + LOOKUP_AGAIN
            session.add(attempt)
            continue
        _record_info(session, attempt, info, outcome)
        if finish_attempt(session, attempt, outcome, now=now, error=_failure_note(info, outcome)):
            done += 1
    return done


def _record_info(
    session: Session, attempt: Attempt, info: CallbackCallInfo, outcome: Outcome
) -> None:
    agent = _digits(info.agent) or attempt.agent
    attempt.agent = agent
    if outcome == Outcome.CONNECTED:
        attempt.talk_seconds = info.talk_seconds
    if info.cost is not None:
        attempt.cost = str(info.cost)
    contact = session.get(Contact, attempt.contact_id)
    if contact is not None and contact.last_attempt_id == attempt.id:
        contact.agent = agent
        if outcome == Outcome.CONNECTED:
            contact.duration = info.talk_seconds
        session.add(contact)
    session.add(attempt)


def _failure_note(info: CallbackCallInfo, outcome: Outcome) -> str | None:
    return f"MTT: {info.failure}" if info.failure else None


def _digits(number: str | None) -> str | None:
    if not number:
        return None
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits or None
