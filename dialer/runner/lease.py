"""One ``dialer run`` per database: the ``run`` row of the ``leases`` table.

Two embedded runs on one database would each have their own in-process rate limiter and
together exceed the provider's rate. The run that holds the lease refreshes ``seen_at`` every
``REFRESH_SECONDS``; a lease not refreshed for ``STALE_AFTER`` is free (a killed run does not
lock the database for good). Acquiring is one atomic statement on SQLite and PostgreSQL: an
insert that does nothing on conflict, else an update that only matches a stale lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from dialer.db.engine import session_scope
from dialer.db.models import Lease
from dialer.db.types import utcnow
from dialer.errors import UserError

log = logging.getLogger(__name__)

RUN_LEASE = "run"
STALE_AFTER = timedelta(seconds=15)
"""A run lease not refreshed for this long is free."""
REFRESH_SECONDS = 3.0
"""How often the holder refreshes its lease, in seconds (well inside ``STALE_AFTER``)."""


def this_process() -> str:
    """``host:pid``, the holder name a human can find the process by."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Holder:
    holder: str
    seen_at: datetime


def try_acquire(
    engine: Engine, holder: str, now: datetime, *, name: str = RUN_LEASE
) -> Holder | None:
    """Take lease ``name`` for ``holder`` if it is free, stale or already ours. Returns
    ``None`` when taken, else who holds it."""
    with session_scope(engine) as session:
        if _insert_if_absent(session, engine, name, holder, now):
            return None
        taken = session.execute(
            update(Lease)
            .where(
                col(Lease.name) == name,
                (col(Lease.seen_at) < now - STALE_AFTER) | (col(Lease.holder) == holder),
            )
            .values(holder=holder, acquired_at=now, seen_at=now)
        )
        if getattr(taken, "rowcount", 0) == 1:
            return None
        current = session.get(Lease, name)
        if current is None:  # released between our two statements: try again next time
            return Holder("(just released)", now)
        return Holder(current.holder, current.seen_at)


def _insert_if_absent(
    session: Session, engine: Engine, name: str, holder: str, now: datetime
) -> bool:
    values = {"name": name, "holder": holder, "acquired_at": now, "seen_at": now}
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Lease).values(**values).on_conflict_do_nothing()
    return bool(getattr(session.execute(statement), "rowcount", 0) == 1)


def refresh(engine: Engine, holder: str, now: datetime, *, name: str = RUN_LEASE) -> bool:
    """Mark the lease as still held. ``False`` if ``holder`` lost it (it went stale and
    another run took it)."""
    with session_scope(engine) as session:
        result = session.execute(
            update(Lease)
            .where(col(Lease.name) == name, col(Lease.holder) == holder)
            .values(seen_at=now)
        )
        return bool(getattr(result, "rowcount", 0) == 1)


def release(engine: Engine, holder: str, *, name: str = RUN_LEASE) -> None:
    with session_scope(engine) as session:
        session.execute(delete(Lease).where(col(Lease.name) == name, col(Lease.holder) == holder))


class RunLease:
    """The run lease held for a ``with`` block, refreshed by a daemon thread. Raises
    ``UserError`` on entry when another live run holds it."""

    def __init__(self, engine: Engine, holder: str | None = None) -> None:
        self._engine = engine
        self.holder = holder or this_process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = threading.Event()
        """Set when the lease was found taken by another run (this one stalled too long)."""

    def __enter__(self) -> RunLease:
        now = utcnow()
        other = try_acquire(self._engine, self.holder, now)
        if other is not None:
            age = max((now - other.seen_at).total_seconds(), 0.0)
            raise UserError(
                f"another `dialer run` ({other.holder}, seen {age:.0f} s ago) is using this "
                "database; wait for it to finish or stop it (a stopped run frees it after "
                f"{STALE_AFTER.total_seconds():.0f} s)"
            )
        self._thread = threading.Thread(target=self._keep, name="run-lease", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(REFRESH_SECONDS + 5)
        try:
            release(self._engine, self.holder)
        except Exception as exc:  # it goes stale by itself
            log.warning("could not release the run lease: %s", type(exc).__name__)

    def _keep(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            try:
                if not refresh(self._engine, self.holder, utcnow()):
                    log.error("the run lease was taken by another `dialer run`")
                    self.lost.set()
            except Exception as exc:  # a database hiccup: try again next time
                log.warning("could not refresh the run lease: %s", type(exc).__name__)
