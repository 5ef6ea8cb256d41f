"""Contacts-level rows: one per contact, the contract columns then the original CSV columns."""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.db.models import Campaign, Contact, Load
from dialer.export.cursor import Window
from dialer.export.table import ExportTable, Value, changed_in, stream_rows

CONTACT_COLUMNS = (
    "campaign",
    "phone",
    "status",
    "outcome",
    "attempts",
    "last_cause",
    "dtmf",
    "dtmf_label",
    "duration",
    "transfer_duration",
    "last_attempt_at",
    "next_attempt_at",
    "sms_status",
    "reason",
    "timezone",
    "line",
    "agent",
    "source",
)


def _source_headers(session: Session, campaign_id: int) -> tuple[str, ...]:
    """Union of the original CSV headers of a campaign's loads, in load order. Loads record
    their header; a campaign with contacts no load accounts for (loaded before headers were
    recorded, or a load that stopped half way) is scanned contact by contact instead."""
    loads = session.exec(
        select(Load.columns_json, Load.loaded, Load.suppressed)
        .where(Load.campaign_id == campaign_id)
        .order_by(col(Load.id))
    ).all()
    contacts = session.exec(
        select(func.count()).select_from(Contact).where(Contact.campaign_id == campaign_id)
    ).one()
    recorded = all(columns is not None for columns, _, _ in loads)
    if recorded and sum(loaded + suppressed for _, loaded, suppressed in loads) == contacts:
        headers = (json.loads(columns or "[]") for columns, _, _ in loads)
    else:
        query = (
            select(Contact.fields_json)
            .where(Contact.campaign_id == campaign_id)
            .order_by(col(Contact.id))
        )
        headers = (
            json.loads(fields) for fields in session.exec(query.execution_options(yield_per=5000))
        )
    seen: dict[str, None] = {}
    for header in headers:
        for key in header:
            seen.setdefault(key, None)
    return tuple(seen)


def export_header(source: str) -> str:
    """A source column's export header: its own name, unless a contract column has it (the
    file's raw ``phone`` column must not vanish behind the normalised one)."""
    return f"{source} (csv)" if source in CONTACT_COLUMNS else source


def contact_table(
    engine: Engine, campaign: Campaign, window: Window | None = None, batch: int = 5000
) -> ExportTable:
    """Stream a campaign's contacts in id order with bounded memory; with a ``window``, only
    those whose last change falls in it. The original CSV columns are those of every contact,
    so incremental exports of one campaign share one header."""
    assert campaign.id is not None
    with Session(engine) as session:
        sources = _source_headers(session, campaign.id)
    statement = (
        sa_select(*(col(column) for column in SOURCE_COLUMNS), col(Contact.fields_json))
        .where(col(Contact.campaign_id) == campaign.id, *changed_in(Contact, window))
        .order_by(col(Contact.id))
    )
    name = campaign.name

    def rows() -> Iterator[tuple[Value, ...]]:
        loads = json.loads
        for row in stream_rows(engine, statement, batch):
            fields = loads(row[-1])
            yield (name, *row[:-1], *map(fields.get, sources))

    extras = tuple(export_header(source) for source in sources)
    return ExportTable(CONTACT_COLUMNS + extras, extras, rows())


SOURCE_COLUMNS = (
    Contact.phone,
    Contact.status,
    Contact.outcome,
    Contact.attempts,
    Contact.last_cause,
    Contact.dtmf,
    Contact.dtmf_label,
    Contact.duration,
    Contact.transfer_duration,
    Contact.last_attempt_at,
    Contact.next_attempt_at,
    Contact.sms_status,
    Contact.reason,
    Contact.timezone,
    Contact.line_no,
    Contact.agent,
    Contact.source,
)
"""The columns read for ``CONTACT_COLUMNS`` after ``campaign``, in that order."""
