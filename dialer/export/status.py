"""A campaign's live status: state, counts by contact status and outcome, DTMF choices."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.campaign.store import config_of
from dialer.db.models import Attempt, Campaign, Contact, Load
from dialer.db.types import utcnow
from dialer.states import FINAL_CONTACT_STATUSES, ContactStatus


def campaign_status(
    engine: Engine, campaign: Campaign, now: datetime | None = None
) -> dict[str, Any]:
    """Everything ``dialer status`` shows, as plain data (also the ``--json`` payload)."""
    now = now or utcnow()
    config = config_of(campaign)
    with Session(engine) as session:
        by_status = dict(
            session.exec(
                select(Contact.status, func.count())
                .where(Contact.campaign_id == campaign.id)
                .group_by(col(Contact.status))
            ).all()
        )
        by_outcome = dict(
            session.exec(
                select(Contact.outcome, func.count())
                .where(Contact.campaign_id == campaign.id, col(Contact.outcome).is_not(None))
                .group_by(col(Contact.outcome))
            ).all()
        )
        by_dtmf = dict(
            session.exec(
                select(Contact.dtmf, func.count())
                .where(Contact.campaign_id == campaign.id, col(Contact.dtmf).is_not(None))
                .group_by(col(Contact.dtmf))
            ).all()
        )
        attempts = session.exec(
            select(func.count()).select_from(Attempt).where(Attempt.campaign_id == campaign.id)
        ).one()
        recent = session.exec(
            select(func.count())
            .select_from(Attempt)
            .where(
                Attempt.campaign_id == campaign.id,
                col(Attempt.dialing_at) >= now.replace(microsecond=0) - _MINUTE,
            )
        ).one()
        load_rows = session.exec(select(Load).where(Load.campaign_id == campaign.id)).all()
        loads = [
            sum(getattr(row, name) for row in load_rows)
            for name in ("rows", "loaded", "rejected", "duplicates", "suppressed")
        ]
        waiting = session.exec(
            select(Contact.reason, func.count())
            .where(
                Contact.campaign_id == campaign.id,
                col(Contact.status).in_([ContactStatus.PENDING, ContactStatus.RETRY_WAIT]),
            )
            .group_by(col(Contact.reason))
        ).all()
    counts = {status.value: int(by_status.get(status.value, 0)) for status in ContactStatus}
    total = sum(counts.values())
    final = sum(counts[s.value] for s in FINAL_CONTACT_STATUSES)
    dtmf = {
        str(digit): {"count": int(n), "label": config.menu_label(digit)}
        for digit, n in sorted(by_dtmf.items())
    }
    return {
        "campaign": campaign.name,
        "channel": campaign.channel,
        "state": campaign.state,
        "state_reason": campaign.state_reason,
        "contacts": total,
        "final": final,
        "counts": counts,
        "outcomes": {str(k): int(v) for k, v in sorted(by_outcome.items())},
        "dtmf": dtmf,
        "attempts": int(attempts),
        "rate_per_min": int(recent),
        "loads": dict(
            zip(
                ("rows", "loaded", "rejected", "duplicates", "suppressed"),
                map(int, loads),
                strict=True,
            )
        ),
        "waiting": {str(reason or "due"): int(n) for reason, n in waiting},
    }


_MINUTE = timedelta(minutes=1)
