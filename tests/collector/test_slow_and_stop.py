"""Slow senders (issue 10.4) and a graceful stop (issue 10.11), with real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from dialer.collector import applier as applier_module
from tests.collector.conftest import TOKEN, Collector, StartCollector

EVENT = (
    '{{"date_time": "2019-03-29-11-37-20", "id": "{id}", '
    '"CallID": "00035c7d92bb0971", "event": "h_79103880489_16_4"}}'
)


def _slow_post(collector: Collector, statuses: list[int], seconds: float = 8.0) -> None:
    """POST a 200-byte body one byte every 0.2 s; record the status line's code."""
    host, port = collector.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=seconds) as sock:
        sock.sendall(
            f"POST /hooks/{TOKEN}/mtt/call HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n".encode()
        )
        sock.settimeout(0.2)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                answer = sock.recv(64)
            except TimeoutError:
                try:
                    sock.sendall(b" ")
                except OSError:
                    break
                continue
            if answer:
                statuses.append(int(answer.split()[1]))
            return
    statuses.append(0)  # no answer at all


def _start_threads(count: int, target: Callable[[], None]) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def test_slow_senders_neither_block_a_fast_one_nor_hold_on(
    start_collector: StartCollector,
) -> None:
    collector = start_collector(body_read_timeout=3.0, max_slow_bodies=3)
    statuses: list[int] = []
    slow = _start_threads(6, lambda: _slow_post(collector, statuses))
    time.sleep(1.0)  # every slow body is past the grace period, three of them hold a slot

    started = time.monotonic()
    response = collector.client.post(collector.hook("call"), content=EVENT.format(id=1))
    fast_seconds = time.monotonic() - started
    for thread in slow:
        thread.join(15)

    assert response.status_code == 200
    assert fast_seconds < 2.0
    # three read until the timeout (408), three found no free slot (503 at once)
    assert Counter(statuses) == {408: 3, 503: 3}
    assert len(collector.rows()) == 1  # nothing stored for a slow sender


def test_a_stop_applies_what_was_handed_to_the_applier(
    start_collector: StartCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = applier_module.apply_events

    def slow_apply(engine: Engine, ids: list[int], now: datetime) -> dict[str, int]:
        time.sleep(0.3)
        return real_apply(engine, ids, now)

    monkeypatch.setattr(applier_module, "apply_events", slow_apply)
    collector = start_collector()
    for event_id in range(1, 6):
        response = collector.client.post(collector.hook("call"), content=EVENT.format(id=event_id))
        assert response.status_code == 200

    collector.server.stop()

    statuses = [row.status for row in collector.rows()]
    assert len(statuses) == 5
    assert "pending" not in statuses  # applied (as orphans: no such attempts), none left
