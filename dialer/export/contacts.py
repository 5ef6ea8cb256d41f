"""Contacts-level rows: one per contact, the contract columns then the original CSV columns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.db.models import Attempt, Campaign, Contact
from dialer.export.cursor import Window

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
)

ContactValue = str | int | datetime | None


@dataclass(frozen=True)
class ContactTable:
    """The header (contract columns + the CSV's own columns) and a row iterator."""

    columns: tuple[str, ...]
    extra_columns: tuple[str, ...]
    rows: Iterator[tuple[ContactValue, ...]]


def _source_headers(session: Session, campaign_id: int) -> tuple[str, ...]:
    """Union of the original CSV headers of a campaign's contacts, in first-seen order."""
    seen: dict[str, None] = {}
    query = (
        select(Contact.fields_json)
        .where(Contact.campaign_id == campaign_id)
        .order_by(col(Contact.id))
    )
    for fields_json in session.exec(query.execution_options(yield_per=5000)):
        for key in json.loads(fields_json):
            seen.setdefault(key, None)
    return tuple(seen)


def export_header(source: str) -> str:
    """A source column's export header: its own name, unless a contract column has it (the
    file's raw ``phone`` column must not vanish behind the normalised one)."""
    return f"{source} (csv)" if source in CONTACT_COLUMNS else source


def changed_in(table: type[Contact] | type[Attempt], window: Window | None) -> list[Any]:
    """WHERE terms for rows whose ``updated_at`` falls in the window (none: every row)."""
    if window is None:
        return []
    terms = [col(table.updated_at) <= window.until]
    if window.since is not None:
        terms.append(col(table.updated_at) > window.since)
    return terms


def contact_table(
    engine: Engine, campaign: Campaign, window: Window | None = None, batch: int = 5000
) -> ContactTable:
    """Stream a campaign's contacts in id order with bounded memory; with a ``window``, only
    those whose last change falls in it. The original CSV columns are those of every contact,
    so incremental exports of one campaign share one header."""
    assert campaign.id is not None
    with Session(engine) as session:
        sources = _source_headers(session, campaign.id)

    def rows() -> Iterator[tuple[ContactValue, ...]]:
        with Session(engine) as session:
            query = (
                select(Contact)
                .where(Contact.campaign_id == campaign.id, *changed_in(Contact, window))
                .order_by(col(Contact.id))
                .execution_options(yield_per=batch)
            )
            for contact in session.exec(query):
                fields = json.loads(contact.fields_json)
                yield (
                    campaign.name,
                    contact.phone,
                    contact.status,
                    contact.outcome,
                    contact.attempts,
                    contact.last_cause,
                    contact.dtmf,
                    contact.dtmf_label,
                    contact.duration,
                    contact.transfer_duration,
                    contact.last_attempt_at,
                    contact.next_attempt_at,
                    contact.sms_status,
                    contact.reason,
                    contact.timezone,
                    contact.line_no,
                    *(fields.get(key) for key in sources),
                )

    extras = tuple(export_header(source) for source in sources)
    return ContactTable(CONTACT_COLUMNS + extras, extras, rows())
