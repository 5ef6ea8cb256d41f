"""Attempt SQL for dispatch: read the dial context, claim, and record what the provider did."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from dialer.campaign.config import CampaignConfig
from dialer.campaign.store import stored_config
from dialer.db.models import Attempt, Campaign, Contact, DncEntry
from dialer.outcomes.finish import finish_attempt
from dialer.policy.windows import zones_of
from dialer.states import AttemptStatus, CampaignState, ContactStatus, Outcome


@dataclass(frozen=True, slots=True)
class DialContext:
    """Everything a worker needs to dial one attempt, read in one transaction."""

    attempt_id: int
    attempt_status: str
    not_before: datetime | None
    channel: str
    number: str
    campaign_id: int
    campaign_state: str
    config: CampaignConfig
    fields: dict[str, str]
    zones: list[str]
    budget_used: int
    on_dnc: bool


def read_dial_context(session: Session, attempt_id: int) -> DialContext | None:
    """The attempt, its contact, its campaign and whether its number is on the DNC list, in
    one joined SELECT (four lookups were a large share of a worker's database time)."""
    row = session.execute(
        sa_select(
            col(Attempt.status),
            col(Attempt.not_before),
            col(Attempt.channel),
            col(Attempt.number),
            col(Attempt.campaign_id),
            col(Campaign.state),
            col(Campaign.config_json),
            col(Contact.fields_json),
            col(Contact.timezone),
            col(Contact.timezones),
            col(Contact.budget_used),
            col(DncEntry.phone),
        )
        .join(Contact, col(Contact.id) == col(Attempt.contact_id))
        .join(Campaign, col(Campaign.id) == col(Attempt.campaign_id))
        .outerjoin(DncEntry, col(DncEntry.phone) == col(Attempt.number))
        .where(col(Attempt.id) == attempt_id)
    ).one_or_none()
    if row is None:
        return None
    (status, not_before, channel, number, campaign_id, state, config_json, fields_json,
     timezone, timezones, budget_used, listed) = row  # fmt: skip
    return DialContext(
        attempt_id=attempt_id,
        attempt_status=status,
        not_before=not_before,
        channel=channel,
        number=number,
        campaign_id=campaign_id,
        campaign_state=state,
        config=stored_config(config_json),
        fields=json.loads(fields_json),
        zones=zones_of(timezone, timezones),
        budget_used=budget_used,
        on_dnc=listed is not None,
    )


def claim(session: Session, attempt_id: int, now: datetime) -> bool:
    """Compare-and-set ``queued`` → ``dialing``. ``False`` means someone else has it (a
    duplicate message) or it was cancelled: do nothing."""
    result = session.execute(
        update(Attempt)
        .where(col(Attempt.id) == attempt_id, col(Attempt.status) == AttemptStatus.QUEUED)
        .values(
            status=AttemptStatus.DIALING,
            dialing_at=now,
            tries=Attempt.tries + 1,
            updated_at=now,
        )
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def unclaim(session: Session, attempt_id: int, now: datetime) -> bool:
    """Undo a claim whose request was never sent (the worker is stopping): ``dialing`` →
    ``queued``, the try not counted, and marked overdue so that the scheduler's lost-message
    sweep sends it again at once. Nothing is spent; the contact stays ``in_progress`` with
    this attempt. ``False`` if the attempt was not ``dialing`` any more."""
    result = session.execute(
        update(Attempt)
        .where(col(Attempt.id) == attempt_id, col(Attempt.status) == AttemptStatus.DIALING)
        .values(
            status=AttemptStatus.QUEUED,
            dialing_at=None,
            tries=Attempt.tries - 1,
            enqueued_at=now - timedelta(days=1),
            error="not dialled: worker stopped before its rate token",
            updated_at=now,
        )
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def release_undialled(
    session: Session,
    attempt_id: int,
    *,
    reason: str,
    retry_at: datetime | None,
    final_status: ContactStatus | None,
    now: datetime,
) -> None:
    """A gate closed before dialling: the attempt is cancelled (it never reached the
    provider, so it is not an attempt made) and the contact waits again, or ends."""
    attempt = session.get(Attempt, attempt_id, with_for_update=True)
    if attempt is None or attempt.status not in (AttemptStatus.QUEUED, AttemptStatus.DIALING):
        return
    attempt.status = AttemptStatus.CANCELLED.value
    attempt.error = f"not dialled: {reason}"
    attempt.counts_budget = False
    attempt.slot_released_at = now
    attempt.updated_at = now
    contact = session.get(Contact, attempt.contact_id, with_for_update=True)
    if contact is None or contact.last_attempt_id != attempt.id:
        return
    contact.attempts = max(contact.attempts - 1, 0)
    contact.updated_at = now
    contact.reason = reason
    if contact.status == ContactStatus.IN_PROGRESS:
        if final_status is not None:
            contact.status = final_status.value
            contact.next_attempt_at = None
            if final_status == ContactStatus.OPTED_OUT:
                contact.outcome = Outcome.OPTED_OUT.value
        elif _campaign_cancelled(session, attempt.campaign_id):
            contact.status = ContactStatus.CANCELLED.value
            contact.reason = "campaign cancelled"
            contact.next_attempt_at = None
        else:
            waiting = ContactStatus.RETRY_WAIT if contact.budget_used else ContactStatus.PENDING
            contact.status = waiting.value
            contact.next_attempt_at = retry_at or now
    session.add_all([attempt, contact])


def release_queued(session: Session, campaign_id: int, reason: str, now: datetime) -> int:
    """Release every ``queued`` attempt of a campaign that is not running (never dialled:
    nothing spent); their contacts wait again, or end ``cancelled`` in a cancelled campaign.
    Used when ``dialer run`` stops: its in-process queue dies with it."""
    ids = session.exec(
        select(Attempt.id).where(
            Attempt.campaign_id == campaign_id, Attempt.status == AttemptStatus.QUEUED
        )
    ).all()
    for attempt_id in ids:
        if attempt_id is not None:
            release_undialled(
                session, attempt_id, reason=reason, retry_at=now, final_status=None, now=now
            )
    return len(ids)


def settle_unfinished(session: Session, campaign_id: int, error: str, now: datetime) -> int:
    """Finish as ``unknown`` the attempts of a campaign that were sent (or may have been)
    but have no final event: for a cancelled campaign whose ``dialer run`` is stopping, so
    that every contact ends in a final state. Returns how many."""
    attempts = session.exec(
        select(Attempt).where(
            Attempt.campaign_id == campaign_id,
            col(Attempt.status).in_(
                [AttemptStatus.DIALING, AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN]
            ),
        )
    ).all()
    return sum(
        finish_attempt(session, attempt, Outcome.UNKNOWN, now=now, error=attempt.error or error)
        for attempt in attempts
    )


def live_attempts(session: Session, campaign_id: int) -> int:
    """Attempts of a campaign with the provider or about to be (dialing, submitted, unknown)."""
    return session.exec(
        select(func.count()).where(
            Attempt.campaign_id == campaign_id,
            col(Attempt.status).in_(
                [AttemptStatus.DIALING, AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN]
            ),
        )
    ).one()


def _campaign_cancelled(session: Session, campaign_id: int) -> bool:
    campaign = session.get(Campaign, campaign_id)
    return campaign is not None and campaign.state == CampaignState.CANCELLED


def record_submitted(session: Session, attempt_id: int, provider_id: str, now: datetime) -> None:
    """The provider accepted the request. Never moves an attempt backwards: its events may
    already have arrived (and finished it) while the HTTP response was on its way."""
    attempt = session.get(Attempt, attempt_id, with_for_update=True)
    if attempt is None:
        return
    attempt.provider_id = attempt.provider_id or provider_id
    attempt.submitted_at = attempt.submitted_at or now
    if attempt.status in (AttemptStatus.DIALING, AttemptStatus.UNKNOWN):
        attempt.status = AttemptStatus.SUBMITTED.value
    attempt.updated_at = now
    session.add(attempt)


def record_transient(
    session: Session, attempt_id: int, error: str, not_before: datetime, now: datetime
) -> None:
    """Not processed by the provider: back to ``queued`` until ``not_before`` (the budget is
    not spent; the scheduler or a delayed message sends it again)."""
    session.execute(
        update(Attempt)
        .where(col(Attempt.id) == attempt_id, col(Attempt.status) == AttemptStatus.DIALING)
        .values(
            status=AttemptStatus.QUEUED,
            not_before=not_before,
            enqueued_at=not_before,
            error=error[:2000],
            updated_at=now,
        )
    )


def record_unknown(session: Session, attempt_id: int, error: str, now: datetime) -> None:
    """Sent, but no answer: the call may have happened. Wait for its events (never re-dial)."""
    session.execute(
        update(Attempt)
        .where(col(Attempt.id) == attempt_id, col(Attempt.status) == AttemptStatus.DIALING)
        .values(status=AttemptStatus.UNKNOWN, error=error[:2000], updated_at=now)
    )


def record_failed(
    session: Session, attempt_id: int, outcome: Outcome, error: str, now: datetime
) -> None:
    """The provider refused the request: the attempt is final with ``outcome``."""
    attempt = session.get(Attempt, attempt_id, with_for_update=True)
    if attempt is not None:
        finish_attempt(session, attempt, outcome, now=now, status=AttemptStatus.FAILED, error=error)


def pause_campaign(session: Session, campaign_id: int, reason: str, now: datetime) -> None:
    """Stop a running campaign (auth or campaign-level refusal): nothing more is dialled."""
    session.execute(
        update(Campaign)
        .where(col(Campaign.id) == campaign_id, col(Campaign.state) == "running")
        .values(state="paused", state_reason=reason[:500], updated_at=now)
    )


def queued_attempt_ids(session: Session, limit: int) -> list[int]:
    rows = session.exec(
        select(Attempt.id).where(Attempt.status == AttemptStatus.QUEUED).limit(limit)
    ).all()
    return [r for r in rows if r is not None]
