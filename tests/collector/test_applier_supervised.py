"""The collector's applier thread survives failing batches: logs, backs off, carries on."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from dialer.collector.applier import Applier
from dialer.supervise import Backoff, Supervisor


def test_a_failing_batch_is_logged_and_later_batches_still_apply(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    faults: list[Exception] = [
        OperationalError("SELECT", {}, Exception("server closed the connection")),
        IntegrityError("INSERT", {}, Exception("duplicate key")),
        RuntimeError("bug"),
    ]
    applied: list[list[int]] = []
    done = threading.Event()

    def gate(fn: Any, engine: Engine, batch: list[int], now: object) -> None:
        if faults:
            raise faults.pop(0)
        applied.append(batch)
        done.set()

    applier = Applier(sqlite_engine, gate)
    applier._supervisor = Supervisor("applier", Backoff(first=0.01, cap=0.02))
    for event_id in (1, 2, 3, 4):
        applier.submit((event_id,))
        if event_id < 4:
            threading.Event().wait(0.05)  # one batch each
    assert done.wait(10)
    applier.stop()

    assert not faults
    assert applied
    assert applied[-1][-1] == 4
    warnings = [r.getMessage() for r in caplog.records if r.name == "dialer.supervise"]
    assert len(warnings) == 3
    assert all("applier failed" in w for w in warnings)
