"""The scheduler's heartbeat: a ``leases`` row ``scheduler/<host>:<pid>`` whose ``seen_at``
each running scheduler refreshes every ``HEARTBEAT_SECONDS``.

``dialer status`` reads the newest ``seen_at`` to tell "no scheduler is running" apart from
"in line for the rate limit". Whoever runs the scheduler loop writes it: ``dialer scheduler``
and the embedded ``dialer run`` alike.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.db.engine import session_scope
from dialer.db.models import Lease

PREFIX = "scheduler/"
HEARTBEAT_SECONDS = 5.0
"""How often a running scheduler refreshes its row."""
STALE_AFTER = timedelta(seconds=30)
"""A heartbeat older than this means no scheduler is running (several missed beats)."""
FORGET_AFTER = timedelta(days=1)
"""Rows of schedulers gone this long are deleted (each process writes its own row)."""


def heartbeat_name(host: str | None = None, pid: int | None = None) -> str:
    """``scheduler/<host>:<pid>`` for this process by default."""
    return f"{PREFIX}{host or socket.gethostname()}:{pid or os.getpid()}"


def beat(engine: Engine, name: str, now: datetime) -> None:
    """Record that the scheduler ``name`` is alive at ``now`` (one short transaction)."""
    with session_scope(engine) as session:
        found = session.execute(
            update(Lease).where(col(Lease.name) == name).values(seen_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if not found:
            holder = name.removeprefix(PREFIX)
            session.add(Lease(name=name, holder=holder, acquired_at=now, seen_at=now))
            session.execute(
                delete(Lease).where(
                    col(Lease.name).startswith(PREFIX), col(Lease.seen_at) < now - FORGET_AFTER
                )
            )


def forget(engine: Engine, name: str) -> None:
    """Remove the row of a scheduler that stops cleanly."""
    with session_scope(engine) as session:
        session.execute(delete(Lease).where(col(Lease.name) == name))


def last_seen(session: Session) -> datetime | None:
    """When any scheduler was last seen alive, or ``None`` if none ever was."""
    return session.exec(
        select(func.max(Lease.seen_at)).where(col(Lease.name).startswith(PREFIX))
    ).one()
