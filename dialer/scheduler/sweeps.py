"""Housekeeping the scheduler does each tick: expired leases, event timeouts, lost messages.

Redis carries work but never owns it: whatever the queue lost, these sweeps find in the
database and put right.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from dialer.campaign.store import config_of
from dialer.channels import channel_for
from dialer.db.models import Attempt, Campaign, Contact
from dialer.outcomes.finish import finish_attempt
from dialer.outcomes.reconcile import Candidate, Reconciled
from dialer.policy.classify import classify_call
from dialer.states import AttemptStatus

DIAL_LEASE = timedelta(seconds=90)
"""Default: how long an attempt may stay ``dialing`` (claimed, HTTP in flight) before its worker is
presumed dead; longer than the provider clients' connect + read timeouts."""

REQUEUE_AFTER = timedelta(seconds=20)
"""Default: a ``queued`` attempt whose message should have been consumed by now is sent again
(the queue lost it, e.g. Redis was flushed); duplicates are harmless (claim is a CAS)."""


def expire_dial_leases(session: Session, now: datetime, lease: timedelta = DIAL_LEASE) -> int:
    """``dialing`` past its lease → ``unknown``: the request may have gone out, so the
    attempt waits for events instead of being dialled again."""
    result = session.execute(
        update(Attempt)
        .where(
            col(Attempt.status) == AttemptStatus.DIALING,
            col(Attempt.dialing_at) < now - lease,
        )
        .values(status=AttemptStatus.UNKNOWN, error="worker lease expired", updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def timed_out_attempts(session: Session, now: datetime, *, lock: bool = True) -> list[Attempt]:
    """Live, sent attempts with no final event after their campaign's ``event_timeout``."""
    stale: list[Attempt] = []
    campaigns = session.exec(
        select(Campaign).where(
            col(Campaign.id).in_(
                select(Attempt.campaign_id)
                .where(col(Attempt.status).in_([AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN]))
                .distinct()
            )
        )
    ).all()
    for campaign in campaigns:
        timeout = channel_for(campaign.channel).event_timeout(config_of(campaign))
        started = func.coalesce(Attempt.submitted_at, Attempt.dialing_at)
        query = select(Attempt).where(
            Attempt.campaign_id == campaign.id,
            col(Attempt.status).in_([AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN]),
            started < now - timeout,
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        stale.extend(session.exec(query).all())
    return stale


def timed_out_candidates(session: Session, now: datetime) -> list[Candidate]:
    """The timed-out call attempts, for a call-history lookup before they are written off."""
    return timed_out_lookups(session, now)[0]


def timed_out_lookups(session: Session, now: datetime) -> tuple[list[Candidate], list[str]]:
    """The timed-out attempts to look up before they are written off: call attempts (for
    ``getCallHistory``) and the ``message_sid`` of SMS attempts (for msapi's message list)."""
    calls: list[Candidate] = []
    messages: list[str] = []
    for attempt in timed_out_attempts(session, now, lock=False):
        lookup = channel_for(attempt.channel).timeout_lookup
        if lookup == "call_history":
            calls.append(Candidate(attempt.id or 0, attempt.number, attempt.dialing_at or now))
        elif lookup == "sms_message" and attempt.provider_id:
            messages.append(attempt.provider_id)
    return calls, messages


def finish_timed_out(
    session: Session,
    attempts: list[Attempt],
    now: datetime,
    reconciled: Mapping[int, Reconciled] | None = None,
) -> int:
    """No final event in time. If MTT's call history knows the call, its cause and duration
    settle the attempt; otherwise its channel judges by what did come (``unknown`` for a
    call or message; a callback by its events). Either way the slot is freed."""
    done = 0
    for attempt in attempts:
        found = (reconciled or {}).get(attempt.id or 0)
        if found is not None:
            attempt.cause, attempt.duration = found.cause, found.duration
            outcome = classify_call(found.cause, found.duration)
            error = "no final event; settled from getCallHistory"
            contact = session.get(Contact, attempt.contact_id)
            if contact is not None and contact.last_attempt_id == attempt.id:
                contact.last_cause, contact.duration = found.cause, found.duration
                session.add(contact)
        else:
            outcome, fields = channel_for(attempt.channel).without_event(attempt)
            for name, value in fields.items():
                setattr(attempt, name, value)
            error = attempt.error or "no final event within event_timeout"
        if finish_attempt(session, attempt, outcome, now=now, error=error):
            done += 1
    return done


def lost_queued_attempts(
    session: Session, now: datetime, requeue_after: timedelta = REQUEUE_AFTER, limit: int = 1000
) -> list[Attempt]:
    """``queued`` attempts that are due and whose message is overdue: send them again."""
    return list(
        session.exec(
            select(Attempt)
            .where(
                Attempt.status == AttemptStatus.QUEUED,
                col(Attempt.enqueued_at) < now - requeue_after,
                or_(col(Attempt.not_before).is_(None), col(Attempt.not_before) <= now),
            )
            .order_by(col(Attempt.id))
            .limit(limit)
        ).all()
    )
