"""The retry policy: from an attempt's outcome to the contact's next state and time.

One attempt budget per contact (``retry.max_attempts``). ``network`` failures do not spend
it; ``rejected`` gets at most one more try, a day later; ``invalid_number`` is never retried;
``unknown`` (no final event in time) is retried once, after ``retry.unknown``; an agent
callback no agent took (``agent_no_answer``) is retried after ``retry.agent_no_answer``
without spending the budget (the contact was never rung). Every retry
lands inside the next open calling window in the contact's local time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer.campaign.config import CampaignConfig
from dialer.policy.windows import next_open
from dialer.states import ContactStatus, Outcome

NETWORK_RETRY_CAP = 5
"""Extra tries allowed for network failures beyond the budget, so a broken route can't loop."""
AGENT_MISS_CAP = 20
"""Callbacks no agent took, per contact, before the contact is given up on (the campaign
normally pauses long before: ``callback.pause_after_misses`` in a row)."""

_FINAL: dict[Outcome, ContactStatus] = {
    Outcome.ANSWERED: ContactStatus.REACHED,
    Outcome.DELIVERED: ContactStatus.REACHED,
    Outcome.CONNECTED: ContactStatus.REACHED,
    Outcome.INVALID_NUMBER: ContactStatus.INVALID,
    Outcome.OPTED_OUT: ContactStatus.OPTED_OUT,
    Outcome.PROVIDER_ERROR: ContactStatus.NOT_REACHED,
}


@dataclass(frozen=True, slots=True)
class Decision:
    status: ContactStatus
    next_attempt_at: datetime | None
    reason: str


def spends_budget(outcome: Outcome) -> bool:
    """Whether an attempt with this outcome counts against ``max_attempts``."""
    return outcome not in (Outcome.NETWORK, Outcome.PROVIDER_ERROR, Outcome.AGENT_NO_ANSWER)


def retry_delay(outcome: Outcome, config: CampaignConfig) -> timedelta:
    retry = config.retry
    return {
        Outcome.BUSY: retry.busy,
        Outcome.NO_ANSWER: retry.no_answer,
        Outcome.UNREACHABLE: retry.unreachable,
        Outcome.REJECTED: retry.rejected,
        Outcome.NETWORK: retry.network,
        Outcome.UNDELIVERED: retry.undelivered,
        Outcome.EXPIRED: retry.undelivered,
        Outcome.UNKNOWN: retry.unknown,
        Outcome.AGENT_NO_ANSWER: retry.agent_no_answer,
    }.get(outcome, retry.no_answer)


def decide(
    outcome: Outcome,
    *,
    config: CampaignConfig,
    budget_used: int,
    attempts_made: int,
    outcome_counts: Mapping[Outcome, int],
    zones: Sequence[str],
    now: datetime,
) -> Decision:
    """Decide what happens to a contact after an attempt ended with ``outcome``.

    ``budget_used`` and ``attempts_made`` include the attempt that just ended;
    ``outcome_counts`` counts this contact's attempts by outcome, this one included.
    """
    if outcome in _FINAL:
        return Decision(_FINAL[outcome], None, f"final: {outcome.value}")
    max_attempts = config.retry.max_attempts
    if outcome == Outcome.REJECTED and outcome_counts.get(Outcome.REJECTED, 0) >= 2:
        return Decision(ContactStatus.NOT_REACHED, None, "rejected twice")
    if outcome == Outcome.UNKNOWN and outcome_counts.get(Outcome.UNKNOWN, 0) >= 2:
        return Decision(ContactStatus.NOT_REACHED, None, "outcome unknown twice")
    agent_misses = outcome_counts.get(Outcome.AGENT_NO_ANSWER, 0)
    if outcome == Outcome.AGENT_NO_ANSWER and agent_misses >= AGENT_MISS_CAP:
        return Decision(ContactStatus.NOT_REACHED, None, f"no agent took {agent_misses} callbacks")
    if budget_used >= max_attempts and outcome != Outcome.AGENT_NO_ANSWER:
        return Decision(
            ContactStatus.NOT_REACHED, None, f"{max_attempts} attempts used ({outcome.value})"
        )
    if attempts_made - agent_misses >= max_attempts + NETWORK_RETRY_CAP:
        return Decision(
            ContactStatus.NOT_REACHED, None, f"{attempts_made} attempts made ({outcome.value})"
        )
    due = next_open(
        config.schedule.window,
        config.schedule.days,
        zones,
        now + retry_delay(outcome, config),
        strict=config.schedule.strict,
    )
    if due is None:
        return Decision(ContactStatus.NOT_REACHED, None, "calling window never open in all zones")
    return Decision(ContactStatus.RETRY_WAIT, due, f"retry after {outcome.value}")
