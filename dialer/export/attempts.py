"""Attempts-level rows: one per attempt with its provider ids, times, cause and DTMF, and
for an agent callback its agent, talk time and cost."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import col

from dialer.db.models import Attempt, Campaign
from dialer.export.cursor import Window
from dialer.export.table import ExportTable, Value, changed_in, stream_rows
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
    "agent",
    "talk_seconds",
    "cost",
)


def attempt_table(
    engine: Engine, campaign: Campaign, window: Window | None = None, batch: int = 5000
) -> ExportTable:
    """Stream a campaign's attempts in id order with bounded memory; with a ``window``, only
    those whose last change falls in it."""
    statement = (
        sa_select(*(col(column) for column in SOURCE_COLUMNS))
        .where(col(Attempt.campaign_id) == campaign.id, *changed_in(Attempt, window))
        .order_by(col(Attempt.id))
    )
    name = campaign.name

    def rows() -> Iterator[tuple[Value, ...]]:
        for row in stream_rows(engine, statement, batch):
            cause = row[7]
            yield (
                name,
                *row[:6],
                "true" if row[6] else "false",
                cause,
                cause_text(cause) if cause is not None else None,
                *row[8:],
            )

    return ExportTable(ATTEMPT_COLUMNS, (), rows())


SOURCE_COLUMNS = (
    Attempt.id,
    Attempt.number,
    Attempt.channel,
    Attempt.status,
    Attempt.outcome,
    Attempt.provider_id,
    Attempt.counts_budget,
    Attempt.cause,
    Attempt.duration,
    Attempt.dtmf,
    Attempt.dtmf_label,
    Attempt.transfer_number,
    Attempt.transfer_cause,
    Attempt.transfer_duration,
    Attempt.sms_status,
    Attempt.error,
    Attempt.created_at,
    Attempt.dialing_at,
    Attempt.submitted_at,
    Attempt.answered_at,
    Attempt.finished_at,
    Attempt.updated_at,
    Attempt.agent,
    Attempt.talk_seconds,
    Attempt.cost,
)
"""The columns read for ``ATTEMPT_COLUMNS``: ``campaign`` and ``cause_text`` are added."""
