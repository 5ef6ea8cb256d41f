"""Bulk insert of contacts: the only SQL of the loader.

SQLite: ``executemany`` on the raw DB-API connection. PostgreSQL: binary ``COPY`` (psycopg 3),
the fastest path the server has, fed while the next batch is read (``ContactWriter``). Each
batch is one transaction. Deduplication happens before (in memory, against the numbers the
campaign already has), so every row sent here is normally new. A concurrent load of the same
campaign may have stored some of them since: the unique constraint refuses that batch, and it
is inserted again row by row with ``ON CONFLICT DO NOTHING``, the numbers the other load got
first counted as duplicates (``conflicts``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.db.engine import is_sqlite
from dialer.db.models import Contact
from dialer.dnc import dnc_numbers_among
from dialer.states import ContactStatus

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
_PHONE: Final = CONTACT_INSERT_COLUMNS.index("phone")
_STATUS: Final = CONTACT_INSERT_COLUMNS.index("status")
_REASON: Final = CONTACT_INSERT_COLUMNS.index("reason")
_NEXT_ATTEMPT: Final = CONTACT_INSERT_COLUMNS.index("next_attempt_at")
_FIELDS: Final = CONTACT_INSERT_COLUMNS.index("fields_json")
BATCH_CHARS = 8 * 1024 * 1024
"""A batch also ends once its rows' CSV fields reach this many characters, so a file of wide
rows (long notes, many columns) holds a few MB per batch, not ``batch_size`` wide rows."""
_COLUMNS: Final = ", ".join(CONTACT_INSERT_COLUMNS)

LOAD_CACHE_KIB = 32 * 1024
"""SQLite page cache of the loader's connection while it inserts (KiB; SQLite's default is
2 MiB). Holds both phone indexes of a campaign of about 500,000 contacts."""
SUPPRESSED_REASON = "on the do-not-call list"

ContactRow = tuple[Any, ...]
"""Values in ``CONTACT_INSERT_COLUMNS`` order, status ``pending``."""


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


class ContactWriter:
    """One load's inserts, on one connection held from ``__enter__`` to ``__exit__``:
    ``add(row)`` for each new contact, ``finish()`` at the end.

    Every ``batch_size`` rows make a batch: its numbers are looked up on the DNC list (those
    become ``suppressed``) and it is inserted in its own transaction. On SQLite that happens
    at once (``executemany``). On PostgreSQL the batch is COPYed one row per ``add`` of the
    next batch, so the server checks and indexes it while the next rows are read; it commits
    when that batch is full, at ``finish``, or when the writer closes on an exception (as it
    would have on SQLite). Either way a batch commits whole or not at all; rows added since
    the last full batch are dropped if ``finish`` is not reached. ``inserted`` and
    ``suppressed`` count committed rows.

    On SQLite the connection's page cache is raised to ``LOAD_CACHE_KIB`` for the load and put
    back after: the two indexes on ``phone`` take the numbers in random order, and a cache
    that holds them saves reading their pages again for every batch. Durability is the
    engine's (WAL with ``synchronous=NORMAL``; PostgreSQL's own).
    """

    def __init__(self, engine: Engine, batch_size: int) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._sqlite = is_sqlite(engine)
        self._batch: list[ContactRow] = []
        self._batch_chars = 0
        self.inserted = 0
        self.suppressed = 0
        """Of ``inserted``, the rows stored as ``suppressed``."""
        self.conflicts = 0
        """Rows another load of the campaign stored first (not inserted: duplicates)."""
        # PostgreSQL: the batch being COPYed, how much of it is written, and its COPY.
        self._sending: list[ContactRow] = []
        self._sent = 0
        self._sending_suppressed = 0
        self._copy: Any = None
        self._copy_scope = ExitStack()
        self._column_types: list[int] = []
        self._restore_cache: str | None = None

    def __enter__(self) -> ContactWriter:
        self._connection = self._engine.raw_connection()
        cursor = self._connection.cursor()
        try:
            if self._sqlite:
                cursor.execute("PRAGMA cache_size")
                (cache_size,) = cursor.fetchone() or (-2000,)
                self._restore_cache = f"PRAGMA cache_size={int(cache_size)}"
                cursor.execute(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
            else:
                # Binary COPY needs each column's type; the table's own catalog says it.
                cursor.execute(
                    "SELECT attname, atttypid FROM pg_attribute "
                    "WHERE attrelid = 'contacts'::regclass AND attnum > 0 AND NOT attisdropped"
                )
                type_of = dict(cursor.fetchall())
                self._column_types = [type_of[name] for name in CONTACT_INSERT_COLUMNS]
                self._connection.commit()
        finally:
            cursor.close()
        return self

    def add(self, row: ContactRow) -> bool:
        """Add a row; True when it completed a batch (see the class)."""
        batch = self._batch
        batch.append(row)
        self._batch_chars += len(row[_FIELDS])
        if self._sent < len(self._sending):
            self._copy.write_row(self._sending[self._sent])
            self._sent += 1
        if len(batch) < self._batch_size and self._batch_chars < BATCH_CHARS:
            return False
        self._end_batch()
        return True

    def finish(self) -> None:
        """End the last batch and commit everything."""
        self._end_batch()
        self._commit_sending()

    def _end_batch(self) -> None:
        if not self._batch:
            return
        batch, self._batch, self._batch_chars = self._batch, [], 0
        with Session(self._engine) as session:
            listed = dnc_numbers_among(session, [row[_PHONE] for row in batch])
        if listed:
            for index, row in enumerate(batch):
                if row[_PHONE] in listed:
                    batch[index] = _suppressed(row)
        if self._sqlite:
            marks = ", ".join("?" for _ in CONTACT_INSERT_COLUMNS)
            cursor = self._connection.cursor()
            try:
                with self._transaction():
                    cursor.executemany(f"INSERT INTO contacts ({_COLUMNS}) VALUES ({marks})", batch)
            except self._integrity_errors():
                self._insert_one_by_one(batch)
                return
            self.inserted += len(batch)
            self.suppressed += len(listed)
            return
        self._commit_sending()
        psycopg_cursor: Any = self._connection.cursor()
        self._copy_scope.enter_context(psycopg_cursor)
        self._copy = self._copy_scope.enter_context(
            psycopg_cursor.copy(f"COPY contacts ({_COLUMNS}) FROM STDIN (FORMAT BINARY)")
        )
        self._copy.set_types(self._column_types)
        self._sending, self._sent, self._sending_suppressed = batch, 0, len(listed)

    def _commit_sending(self) -> None:
        sending, self._sending = self._sending, []
        if not sending:
            return
        try:
            with self._transaction():
                for row in sending[self._sent :]:
                    self._copy.write_row(row)
                self._copy_scope.close()  # ends the COPY: the server's errors show here
        except self._integrity_errors():
            self._sent, self._copy = 0, None
            self._insert_one_by_one(sending)
            return
        self.inserted += len(sending)
        self.suppressed += self._sending_suppressed
        self._sent, self._copy = 0, None

    def _integrity_errors(self) -> type[Exception]:
        """The driver's unique-violation error (the batch was rolled back)."""
        if self._sqlite:
            import sqlite3

            return sqlite3.IntegrityError
        import psycopg

        return psycopg.errors.UniqueViolation

    def _insert_one_by_one(self, batch: list[ContactRow]) -> None:
        """A batch the unique constraint refused, in one transaction, skipping the numbers
        already stored; each skipped row counts in ``conflicts``."""
        mark = "?" if self._sqlite else "%s"
        statement = (
            f"INSERT INTO contacts ({_COLUMNS}) VALUES ({', '.join(mark for _ in batch[0])}) "
            "ON CONFLICT (phone, campaign_id) DO NOTHING"
        )
        cursor = self._connection.cursor()
        inserted = suppressed = 0
        with self._transaction():
            for row in batch:
                cursor.execute(statement, row)
                if cursor.rowcount == 1:
                    inserted += 1
                    suppressed += row[_STATUS] == ContactStatus.SUPPRESSED
        cursor.close()
        self.inserted += inserted
        self.suppressed += suppressed
        self.conflicts += len(batch) - inserted

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Commit what the block did, or roll it back and raise."""
        try:
            yield
            self._connection.commit()
        except BaseException as error:
            # A COPY still open must fail before the transaction can roll back.
            self._copy_scope.__exit__(type(error), error, error.__traceback__)
            self._connection.rollback()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc is not None and self._sending:
                # The batch being COPYed was complete: commit it as SQLite, which inserts a
                # batch at once, already has, so a load stopped by its file (or by Ctrl-C)
                # leaves the same contacts behind on both.
                self._commit_sending()
            self._copy_scope.__exit__(exc_type, exc, traceback)
            self._connection.rollback()  # whatever was not committed
            if self._restore_cache is not None:
                cursor = self._connection.cursor()
                cursor.execute(self._restore_cache)
                cursor.close()
        finally:
            self._connection.close()


class CountingWriter:
    """``ContactWriter``'s counts without its inserts: a dry run (the console's preview).
    Each batch's numbers are looked up on the DNC list as a load would; nothing is written."""

    def __init__(self, engine: Engine, batch_size: int) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._batch: list[str] = []
        self.inserted = 0
        self.suppressed = 0
        self.conflicts = 0

    def __enter__(self) -> CountingWriter:
        return self

    def add(self, row: ContactRow) -> bool:
        self._batch.append(row[_PHONE])
        if len(self._batch) < self._batch_size:
            return False
        self._end_batch()
        return True

    def finish(self) -> None:
        self._end_batch()

    def _end_batch(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        with Session(self._engine) as session:
            self.suppressed += len(dnc_numbers_among(session, batch))
        self.inserted += len(batch)

    def __exit__(self, *exc_info: object) -> None:
        self._batch = []


def _suppressed(row: ContactRow) -> ContactRow:
    """``row`` for a number on the DNC list: status ``suppressed``, no next attempt."""
    values = list(row)
    values[_STATUS] = ContactStatus.SUPPRESSED.value
    values[_REASON] = SUPPRESSED_REASON
    values[_NEXT_ATTEMPT] = None
    return tuple(values)
