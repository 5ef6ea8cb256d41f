"""Housekeeping the scheduler does each tick: expired leases, event timeouts, lost messages.

Redis carries work but never owns it: whatever the queue lost, these sweeps find in the
database and put right.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from dialer.campaign.store import config_of
from dialer.db.models import Attempt, Campaign
from dialer.outcomes.finish import finish_attempt
from dialer.states import AttemptStatus, Outcome

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


def timed_out_attempts(session: Session, now: datetime) -> list[Attempt]:
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
        timeout = config_of(campaign).retry.event_timeout
        started = func.coalesce(Attempt.submitted_at, Attempt.dialing_at)
        stale.extend(
            session.exec(
                select(Attempt)
                .where(
                    Attempt.campaign_id == campaign.id,
                    col(Attempt.status).in_([AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN]),
                    started < now - timeout,
                )
                .with_for_update(skip_locked=True)
            ).all()
        )
    return stale


def finish_timed_out(session: Session, attempts: list[Attempt], now: datetime) -> int:
    """No final event in time: the attempt's outcome is ``unknown`` (its slot is freed)."""
    done = 0
    for attempt in attempts:
        error = attempt.error or "no final event within event_timeout"
        if finish_attempt(session, attempt, Outcome.UNKNOWN, now=now, error=error):
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
