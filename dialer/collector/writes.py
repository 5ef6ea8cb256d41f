"""One writer at a time on SQLite, queued in-process instead of in SQLite's busy handler.

SQLite takes one writer; concurrent writers wait in its busy handler, which sleeps in steps of
up to 100 ms. Under a burst of webhooks that sleeping, not the work, set the pace (a third of
the serial throughput, p99 near a second). Queuing the collector's own writers on a lock keeps
them back to back. PostgreSQL locks rows, so there the gate lets everything through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import ParamSpec, TypeVar

from sqlalchemy.engine import Engine

from dialer.db.engine import is_sqlite

P = ParamSpec("P")
R = TypeVar("R")


class WriteGate:
    """Serialises the collector's write transactions on a SQLite engine; a no-op otherwise.

    Other processes' writers (scheduler, workers) still meet ours in SQLite's busy handler.
    """

    def __init__(self, engine: Engine) -> None:
        self._lock: AbstractContextManager[object] = (
            threading.Lock() if is_sqlite(engine) else nullcontext()
        )

    def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``function(*args, **kwargs)`` with the gate held (blocks: call from a thread)."""
        with self._lock:
            return function(*args, **kwargs)
