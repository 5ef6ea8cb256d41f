"""The gates an attempt passes at dial time (pure): campaign state, window, DNC, budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialer.campaign.config import CampaignConfig
from dialer.policy.windows import next_open
from dialer.states import CampaignState, ContactStatus


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """``open`` or why not; ``retry_at`` is when the contact may be tried again."""

    open: bool
    reason: str = ""
    retry_at: datetime | None = None
    final_status: ContactStatus | None = None
    """Set when the contact is done for good (DNC, budget) instead of waiting."""


OPEN = GateVerdict(True)


def check_gates(
    *,
    campaign_state: str,
    config: CampaignConfig,
    zones: list[str],
    on_dnc: bool,
    budget_used: int,
    now: datetime,
) -> GateVerdict:
    """Whether a contact may be dialled ``now``. Checked again by the worker right before the
    HTTP call, because anything may have changed since the scheduler queued the attempt."""
    if campaign_state != CampaignState.RUNNING:
        return GateVerdict(False, f"campaign {campaign_state}")
    if on_dnc:
        return GateVerdict(False, "on the do-not-call list", final_status=ContactStatus.OPTED_OUT)
    if budget_used >= config.retry.max_attempts:
        return GateVerdict(False, "attempt budget used", final_status=ContactStatus.NOT_REACHED)
    schedule = config.schedule
    due = next_open(schedule.window, schedule.days, zones, now, strict=schedule.strict)
    if due is None:
        return GateVerdict(
            False, "calling window never open in all zones", final_status=ContactStatus.NOT_REACHED
        )
    if due > now:
        return GateVerdict(False, "outside calling window", retry_at=due)
    return OPEN
