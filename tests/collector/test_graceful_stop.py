"""A stop drains: the events handed to the applier are applied before ``stop()`` returns,
not left ``pending`` for a scheduler sweep that may never come."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from dialer.collector import applier
from dialer.outcomes.apply import apply_events
from tests.collector.conftest import StartCollector

EVENT = (
    '{{"date_time": "2019-03-29-11-37-20", "id": "{id}", '
    '"CallID": "c{id}", "event": "h_79103880489_16_4"}}'
)


def test_stop_applies_what_the_applier_was_handed(
    start_collector: StartCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_apply(engine: Engine, event_ids: Iterable[int], now: datetime) -> dict[str, int]:
        time.sleep(0.3)  # a busy database: the applier falls behind the requests
        return apply_events(engine, event_ids, now)

    monkeypatch.setattr(applier, "apply_events", slow_apply)
    collector = start_collector()
    for n in range(6):
        response = collector.client.post(collector.hook("call"), content=EVENT.format(id=n))
        assert response.json()["stored"] == 1
    assert any(row.status == "pending" for row in collector.rows())  # still behind

    collector.server.stop()

    assert [row.status for row in collector.rows()] == ["orphan"] * 6
