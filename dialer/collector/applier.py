"""One background applier per collector: events are applied in batches, off the request path.

Requests only store (and commit) their events, then hand the new ids here and answer. A single
thread drains whatever has accumulated and applies it, so under a burst the applier takes
bigger batches instead of competing with the requests for the CPU. Anything it has not applied
when the process stops stays ``pending`` in the inbox; the scheduler's sweep applies it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from dialer.outcomes.apply import apply_events
from dialer.supervise import Supervisor

log = logging.getLogger(__name__)

MAX_BATCH = 500
"""Most events applied in one pass."""

Gate = Callable[..., object]


class Applier:
    def __init__(self, engine: Engine, gate: Gate) -> None:
        self._engine = engine
        self._gate = gate
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor = Supervisor("applier")

    def submit(self, event_ids: tuple[int, ...]) -> None:
        """Queue stored events for applying (never blocks)."""
        self._ensure_started()
        for event_id in event_ids:
            self._queue.put(event_id)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the events already queued (seconds to wait for them)."""
        if self._thread is None:
            return
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._stopping.clear()
                self._thread = threading.Thread(target=self._run, name="applier", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            try:
                self._gate(apply_events, self._engine, batch, datetime.now(UTC))
            except Exception as exc:
                # Left pending for the scheduler's sweep. Back off so a database that is away
                # is not hammered; events queued meanwhile make the next batch bigger.
                self._stopping.wait(self._supervisor.failed(exc))
            else:
                self._supervisor.succeeded()
            if stopping:
                return
