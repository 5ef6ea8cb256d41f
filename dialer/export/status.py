"""A campaign's live status: state, counts by contact status and outcome, DTMF choices."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.campaign.config import CampaignConfig
from dialer.campaign.store import config_of
from dialer.db.models import Attempt, Campaign, Contact, Load
from dialer.db.types import utcnow
from dialer.export.progress import (
    WaitGroup,
    current_rate,
    estimate_finish,
    explain_waiting,
    scheduler_silence,
)
from dialer.scheduler import heartbeat
from dialer.states import (
    FINAL_CONTACT_STATUSES,
    LIVE_ATTEMPT_STATUSES,
    CampaignState,
    ContactStatus,
)


class DtmfCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    count: int
    label: str | None


class WaitingLine(BaseModel):
    """One reason contacts wait, how many, and the earliest time any of them is due."""

    model_config = ConfigDict(frozen=True)

    reason: str
    count: int
    next_at: str | None
    """ISO 8601 UTC, to the second; ``None`` for contacts due now."""


class LoadTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: int
    loaded: int
    rejected: int
    duplicates: int
    suppressed: int


class CampaignStatus(BaseModel):
    """Everything ``dialer status`` shows. ``model_dump(mode="json")`` is the ``--json``
    payload; times are ISO 8601 UTC strings to the second."""

    model_config = ConfigDict(frozen=True)

    campaign: str
    channel: str
    state: CampaignState
    state_reason: str | None
    contacts: int
    final: int
    counts: dict[ContactStatus, int]
    """Every contact status, zeros included, in the order of ``ContactStatus``."""
    outcomes: dict[str, int]
    dtmf: dict[str, DtmfCount]
    attempts: int
    rate_per_min: int
    rate_per_s: float
    live_attempts: int
    eta: str | None
    eta_basis: str
    loads: LoadTotals
    scheduler_seen_at: str | None
    waiting: list[WaitingLine]
    generated_at: str


def campaign_status(
    engine: Engine, campaign: Campaign, now: datetime | None = None
) -> CampaignStatus:
    """Everything ``dialer status`` shows (also the ``--json`` payload)."""
    now = now or utcnow()
    config = config_of(campaign)
    with Session(engine) as session:
        # One pass over the campaign's contacts for all three tallies.
        tallies = session.exec(
            select(Contact.status, Contact.outcome, Contact.dtmf, func.count())
            .where(Contact.campaign_id == campaign.id)
            .group_by(col(Contact.status), col(Contact.outcome), col(Contact.dtmf))
        ).all()
        attempts = session.exec(
            select(func.count()).select_from(Attempt).where(Attempt.campaign_id == campaign.id)
        ).one()
        since = now.replace(microsecond=0) - _MINUTE
        recent = session.exec(
            select(func.count())
            .select_from(Attempt)
            .where(
                Attempt.campaign_id == campaign.id,
                # Implied by the next term (an attempt changes when it is dialled); it lets
                # the (campaign_id, updated_at) index find the last minute's attempts.
                col(Attempt.updated_at) >= since,
                col(Attempt.dialing_at) >= since,
            )
        ).one()
        load_rows = session.exec(select(Load).where(Load.campaign_id == campaign.id)).all()
        loads = [
            sum(getattr(row, name) for row in load_rows)
            for name in ("rows", "loaded", "rejected", "duplicates", "suppressed")
        ]
        due = (col(Contact.next_attempt_at) <= now).label("due")
        waiting = session.execute(
            sa_select(
                col(Contact.status),
                col(Contact.reason),
                due,
                func.count(),
                func.min(Contact.next_attempt_at),
                func.max(Contact.next_attempt_at),
            )
            .where(
                col(Contact.campaign_id) == campaign.id,
                col(Contact.status).in_([ContactStatus.PENDING, ContactStatus.RETRY_WAIT]),
            )
            .group_by(col(Contact.status), col(Contact.reason), due)
        ).all()
        live = session.exec(
            select(func.count())
            .select_from(Attempt)
            .where(
                Attempt.campaign_id == campaign.id,
                col(Attempt.status).in_(LIVE_ATTEMPT_STATUSES),
            )
        ).one()
        scheduler_seen_at = heartbeat.last_seen(session)
    by_status: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter()
    by_dtmf: Counter[str] = Counter()
    for status, outcome, digit, n in tallies:
        by_status[status] += n
        if outcome is not None:
            by_outcome[outcome] += n
        if digit is not None:
            by_dtmf[digit] += n
    counts = {status: int(by_status.get(status.value, 0)) for status in ContactStatus}
    total = sum(counts.values())
    final = sum(counts[s] for s in FINAL_CONTACT_STATUSES)
    groups = [
        WaitGroup(status, reason, bool(due) or first is None, int(n), first)
        for status, reason, due, n, first, _ in waiting
    ]
    last_scheduled = max((last for *_, last in waiting if last is not None), default=None)
    rate = current_rate(int(recent), campaign.started_at, now)
    eta = estimate_finish(
        state=campaign.state,
        finished_at=campaign.finished_at,
        to_dial=counts[ContactStatus.PENDING] + counts[ContactStatus.RETRY_WAIT],
        in_progress=counts[ContactStatus.IN_PROGRESS],
        rate=rate,
        last_scheduled=last_scheduled,
        now=now,
    )
    explained = explain_waiting(
        groups,
        state=campaign.state,
        state_reason=campaign.state_reason,
        live=int(live),
        max_concurrent=live_limit(config),
        slots="agents" if config.callback is not None else "call slots",
        rps=config.limits.rps,
        scheduler_silent=scheduler_silence(scheduler_seen_at, now, heartbeat.STALE_AFTER),
    )
    dtmf = {
        str(digit): DtmfCount(count=int(n), label=config.menu_label(digit))
        for digit, n in sorted(by_dtmf.items())
    }
    rows, loaded, rejected, duplicates, suppressed = map(int, loads)
    return CampaignStatus(
        campaign=campaign.name,
        channel=campaign.channel,
        state=CampaignState(campaign.state),
        state_reason=campaign.state_reason,
        contacts=total,
        final=final,
        counts=counts,
        outcomes={str(k): int(v) for k, v in sorted(by_outcome.items())},
        dtmf=dtmf,
        attempts=int(attempts),
        rate_per_min=int(recent),
        rate_per_s=round(rate, 2),
        live_attempts=int(live),
        eta=_iso(eta.at),
        eta_basis=eta.basis,
        loads=LoadTotals(
            rows=rows,
            loaded=loaded,
            rejected=rejected,
            duplicates=duplicates,
            suppressed=suppressed,
        ),
        scheduler_seen_at=_iso(scheduler_seen_at),
        waiting=[
            WaitingLine(reason=line.reason, count=line.count, next_at=_iso(line.next_at))
            for line in explained
        ],
        generated_at=_iso(now) or "",
    )


def live_limit(config: CampaignConfig) -> int | None:
    """The most attempts live at once: one callback per agent, ``limits.max_concurrent``
    calls, no limit for SMS."""
    if config.callback is not None:
        return len(config.callback.agents)
    if config.channel == "sms":
        return None
    return config.limits.max_concurrent


def _iso(moment: object) -> str | None:
    return moment.isoformat(timespec="seconds") if isinstance(moment, datetime) else None


_MINUTE = timedelta(minutes=1)
