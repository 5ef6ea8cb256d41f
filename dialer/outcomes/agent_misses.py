"""Agent callbacks: pause a campaign whose agents keep missing its callbacks."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from dialer.campaign.store import config_of
from dialer.db.models import Attempt, Campaign
from dialer.states import CampaignState, Outcome

log = logging.getLogger(__name__)


def pause_after_agent_misses(session: Session, attempt: Attempt, now: datetime) -> bool:
    """After an ``agent_no_answer``: when the campaign's last ``pause_after_misses``
    callbacks all went unanswered by the agents, pause it and say why. Returns whether it
    paused."""
    campaign = session.get(Campaign, attempt.campaign_id)
    if campaign is None or campaign.state != CampaignState.RUNNING:
        return False
    config = config_of(campaign)
    if config.callback is None:
        return False
    limit = config.callback.pause_after_misses
    recent = session.exec(
        select(Attempt.outcome)
        .where(Attempt.campaign_id == campaign.id, col(Attempt.outcome).is_not(None))
        .order_by(col(Attempt.finished_at).desc(), col(Attempt.id).desc())
        .limit(limit)
    ).all()
    if len(recent) < limit or any(o != Outcome.AGENT_NO_ANSWER for o in recent):
        return False
    reason = (
        f"the agents missed {limit} callbacks in a row: check that they are at their "
        "phones, then resume"
    )
    session.execute(
        update(Campaign)
        .where(col(Campaign.id) == campaign.id, col(Campaign.state) == CampaignState.RUNNING)
        .values(state=CampaignState.PAUSED.value, state_reason=reason, updated_at=now)
    )
    log.warning("campaign %s paused: %s", campaign.name, reason)
    return True
