"""Bulk insert of contacts: the only SQL of the loader.

SQLite: ``executemany`` on the raw DB-API connection. PostgreSQL: ``COPY`` (psycopg 3), the
fastest path the server has. Deduplication happens before (in memory, against the numbers
the campaign already has), so every row sent here is new; the unique constraint stays the
final guard against a concurrent load of the same campaign.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.db.engine import is_sqlite
from dialer.db.models import Contact

CONTACT_INSERT_COLUMNS = (
    "campaign_id",
    "phone",
    "status",
    "reason",
    "attempts",
    "budget_used",
    "next_attempt_at",
    "timezone",
    "timezones",
    "region",
    "line_no",
    "fields_json",
    "updated_at",
)

ContactRow = tuple[Any, ...]
"""Values in ``CONTACT_INSERT_COLUMNS`` order."""


def existing_phones(engine: Engine, campaign_id: int) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(Contact.phone).where(Contact.campaign_id == campaign_id)))


def db_timestamp(engine: Engine, moment: datetime) -> object:
    """A timestamp as the raw driver wants it: SQLite stores naive UTC text (the same format
    SQLAlchemy's DateTime writes), PostgreSQL takes the aware datetime."""
    if is_sqlite(engine):
        return (
            moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )
    return moment


def insert_contacts(engine: Engine, rows: Sequence[ContactRow]) -> None:
    """Insert one batch in its own transaction."""
    if not rows:
        return
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if is_sqlite(engine):
            marks = ", ".join("?" for _ in CONTACT_INSERT_COLUMNS)
            cursor.executemany(
                f"INSERT INTO contacts ({', '.join(CONTACT_INSERT_COLUMNS)}) VALUES ({marks})",
                rows,
            )
        else:
            statement = f"COPY contacts ({', '.join(CONTACT_INSERT_COLUMNS)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()
