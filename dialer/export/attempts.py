"""Attempts-level rows: one per attempt with its provider ids, times, cause and DTMF."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.db.models import Attempt, Campaign
from dialer.export.contacts import ContactTable, ContactValue, changed_in
from dialer.export.cursor import Window
from dialer.providers.causes import cause_text

ATTEMPT_COLUMNS = (
    "campaign",
    "attempt_id",
    "phone",
    "channel",
    "status",
    "outcome",
    "provider_id",
    "counts_budget",
    "cause",
    "cause_text",
    "duration",
    "dtmf",
    "dtmf_label",
    "transfer_number",
    "transfer_cause",
    "transfer_duration",
    "sms_status",
    "error",
    "created_at",
    "dialing_at",
    "submitted_at",
    "answered_at",
    "finished_at",
    "updated_at",
)


def attempt_table(
    engine: Engine, campaign: Campaign, window: Window | None = None, batch: int = 5000
) -> ContactTable:
    """Stream a campaign's attempts in id order with bounded memory; with a ``window``, only
    those whose last change falls in it."""

    def rows() -> Iterator[tuple[ContactValue, ...]]:
        with Session(engine) as session:
            query = (
                select(Attempt)
                .where(Attempt.campaign_id == campaign.id, *changed_in(Attempt, window))
                .order_by(col(Attempt.id))
                .execution_options(yield_per=batch)
            )
            for a in session.exec(query):
                yield (
                    campaign.name,
                    a.id,
                    a.number,
                    a.channel,
                    a.status,
                    a.outcome,
                    a.provider_id,
                    "true" if a.counts_budget else "false",
                    a.cause,
                    cause_text(a.cause) if a.cause is not None else None,
                    a.duration,
                    a.dtmf,
                    a.dtmf_label,
                    a.transfer_number,
                    a.transfer_cause,
                    a.transfer_duration,
                    a.sms_status,
                    a.error,
                    a.created_at,
                    a.dialing_at,
                    a.submitted_at,
                    a.answered_at,
                    a.finished_at,
                    a.updated_at,
                )

    return ContactTable(ATTEMPT_COLUMNS, (), rows())
