"""The do-not-call list and opt-outs. All DNC SQL lives here.

An opt-out (``dnc add``, an inbound STOP, an opt-out menu digit) puts the number on the list
and turns every contact with that number, in every campaign, into ``opted_out``; future loads
store the number as ``suppressed``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import JSON, String, bindparam, cast, func, update
from sqlmodel import Session, col, select

from dialer.db.models import Attempt, Contact, DncChange, DncEntry
from dialer.db.types import utcnow
from dialer.states import AttemptStatus, ContactStatus, Outcome

OPT_OUT_WORDS = frozenset({"STOP", "СТОП", "ОТПИСКА", "UNSUBSCRIBE", "ОТПИСАТЬСЯ"})


def is_opt_out_text(text: str | None) -> bool:
    """Whether an inbound SMS asks to stop: STOP, СТОП, ОТПИСКА or UNSUBSCRIBE, with case,
    spaces and trailing punctuation ignored."""
    if not text:
        return False
    word = "".join(text.split()).strip(".!,;:-").upper().replace("Ё", "Е")
    return word in OPT_OUT_WORDS


def add_to_dnc(
    session: Session,
    phones: Iterable[str],
    *,
    source: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> int:
    """Put numbers on the DNC list and opt out their contacts everywhere.

    Returns how many numbers were new to the list. Numbers already listed keep their entry.
    Each new number gets an ``add`` row in the audit trail (``dnc_audit``).
    """
    now = now or utcnow()
    unique = sorted(set(phones))
    if not unique:
        return 0
    known = set(session.exec(select(DncEntry.phone).where(col(DncEntry.phone).in_(unique))).all())
    new = [phone for phone in unique if phone not in known]
    for phone in new:
        session.add(DncEntry(phone=phone, source=source, reason=reason, created_at=now))
        session.add(
            DncChange(phone=phone, action="add", source=source, reason=reason, created_at=now)
        )
    session.flush()
    opt_out_contacts(session, unique, reason=f"opted out ({source})", now=now)
    return len(new)


def opt_out_contacts(session: Session, phones: list[str], *, reason: str, now: datetime) -> None:
    """Every contact with these numbers becomes ``opted_out`` (this overrides ``reached``;
    the SMS status stays as it was). Queued attempts are dropped before they dial."""
    contact_ids = select(Contact.id).where(
        col(Contact.phone).in_(phones), col(Contact.status) != ContactStatus.SUPPRESSED
    )
    session.execute(
        update(Attempt)
        .where(
            col(Attempt.contact_id).in_(contact_ids.scalar_subquery()),
            col(Attempt.status) == AttemptStatus.QUEUED,
        )
        .values(status=AttemptStatus.CANCELLED, error="opted out", updated_at=now)
    )
    session.execute(
        update(Contact)
        .where(col(Contact.phone).in_(phones), col(Contact.status) != ContactStatus.SUPPRESSED)
        .values(
            status=ContactStatus.OPTED_OUT,
            outcome=Outcome.OPTED_OUT,
            reason=reason,
            next_attempt_at=None,
            updated_at=now,
        )
    )


def dnc_numbers_among(session: Session, phones: list[str]) -> set[str]:
    """The subset of ``phones`` that is on the DNC list (one query, an index lookup each).

    The numbers go as one JSON array parameter, not one bound parameter each: a loader batch
    of 20,000 would cost SQLAlchemy about 2 microseconds per number to compile (and the
    driver as much to send) and could pass SQLite's limit on parameters."""
    if not phones:
        return set()
    given = bindparam("phones", json.dumps(phones), type_=String)
    if session.get_bind().dialect.name == "sqlite":
        elements = func.json_each(given)
    else:
        elements = func.json_array_elements_text(cast(given, JSON))
    listed = col(DncEntry.phone).in_(select(elements.table_valued("value").c.value))
    return set(session.exec(select(DncEntry.phone).where(listed)).all())


def remove_from_dnc(
    session: Session,
    phones: Iterable[str],
    *,
    reason: str,
    source: str = "cli",
    now: datetime | None = None,
) -> list[str]:
    """Take numbers off the DNC list; returns those that were on it (each gets a ``remove``
    row in the audit trail). Contacts already ``opted_out`` stay so: nobody is dialled again
    because of a removal; only later loads stop storing the number as ``suppressed``."""
    now = now or utcnow()
    unique = sorted(set(phones))
    listed = list(session.exec(select(DncEntry).where(col(DncEntry.phone).in_(unique))).all())
    for entry in listed:
        session.delete(entry)
        session.add(
            DncChange(
                phone=entry.phone, action="remove", source=source, reason=reason, created_at=now
            )
        )
    session.flush()
    return sorted(entry.phone for entry in listed)


def dnc_history(session: Session, phone: str | None = None) -> list[DncChange]:
    """The audit trail, oldest first; only ``phone``'s changes when given."""
    query = select(DncChange).order_by(col(DncChange.created_at), col(DncChange.id))
    if phone is not None:
        query = query.where(DncChange.phone == phone)
    return list(session.exec(query).all())


def list_dnc(session: Session) -> list[DncEntry]:
    return list(session.exec(select(DncEntry).order_by(col(DncEntry.created_at))).all())
