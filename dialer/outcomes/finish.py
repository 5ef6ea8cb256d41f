"""Ending an attempt: record its outcome and let the retry policy move its contact on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from dialer.campaign.store import config_of
from dialer.db.models import Attempt, Campaign, Contact
from dialer.outcomes.agent_misses import pause_after_agent_misses
from dialer.policy.retry import decide, spends_budget
from dialer.policy.windows import zones_of
from dialer.states import (
    FINAL_CONTACT_STATUSES,
    LIVE_ATTEMPT_STATUSES,
    AttemptStatus,
    CampaignState,
    ContactStatus,
    Outcome,
)

_OUTCOMES = frozenset(o.value for o in Outcome)


def finish_attempt(
    session: Session,
    attempt: Attempt,
    outcome: Outcome,
    *,
    now: datetime,
    status: AttemptStatus = AttemptStatus.COMPLETED,
    error: str | None = None,
) -> bool:
    """Make a live attempt final with ``outcome`` and decide its contact's next step.

    Returns ``False`` (and changes nothing) when the attempt is already final: a final state
    absorbs late and duplicate results. Frees the attempt's concurrency slot.
    """
    if attempt.status not in LIVE_ATTEMPT_STATUSES:
        return False
    attempt.status = status.value
    attempt.outcome = outcome.value
    attempt.counts_budget = spends_budget(outcome)
    attempt.finished_at = now
    attempt.slot_released_at = attempt.slot_released_at or now
    attempt.updated_at = now
    if error is not None:
        attempt.error = error[:2000]
    session.add(attempt)
    session.flush()

    if outcome == Outcome.AGENT_NO_ANSWER:
        pause_after_agent_misses(session, attempt, now)
    contact = session.get(Contact, attempt.contact_id, with_for_update=True)
    campaign = session.get(Campaign, attempt.campaign_id)
    if contact is None or campaign is None:  # pragma: no cover - FKs forbid it
        return True
    contact.updated_at = now
    if attempt.counts_budget:
        contact.budget_used += 1
    if contact.status in FINAL_CONTACT_STATUSES or contact.last_attempt_id != attempt.id:
        # Opted out (or cancelled) while the call was in flight: the contact keeps that
        # final state and outcome; the attempt records what happened.
        session.add(contact)
        return True
    contact.outcome = outcome.value
    counts = dict(
        session.exec(
            select(Attempt.outcome, func.count())
            .where(Attempt.contact_id == contact.id, col(Attempt.outcome).is_not(None))
            .group_by(col(Attempt.outcome))
        ).all()
    )
    decision = decide(
        outcome,
        config=config_of(campaign),
        budget_used=contact.budget_used,
        attempts_made=contact.attempts,
        outcome_counts={Outcome(k): int(v) for k, v in counts.items() if k in _OUTCOMES},
        zones=zones_of(contact.timezone, contact.timezones),
        now=now,
    )
    new_status = decision.status
    if new_status == ContactStatus.RETRY_WAIT and campaign.state == CampaignState.CANCELLED:
        new_status, decision_reason = ContactStatus.CANCELLED, "campaign cancelled"
    else:
        decision_reason = decision.reason
    contact.status = new_status.value
    contact.next_attempt_at = (
        decision.next_attempt_at if new_status == ContactStatus.RETRY_WAIT else None
    )
    contact.reason = decision_reason
    session.add(contact)
    return True
