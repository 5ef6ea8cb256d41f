"""Slow senders, over real sockets: a body that trickles in is cut off with 408 (nothing
stored); while some trickle, a fast sender is answered at once; past the cap on slow bodies
in progress, a new slow request gets 503 at once (MTT delivers it again) while a fast one is
still answered."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from tests.collector.conftest import TOKEN, Collector, StartCollector

EVENT = (
    '{"date_time": "2019-03-29-11-37-20", "id": "1255490", '
    '"CallID": "00035c7d92bb0971", "event": "h_79103880489_16_4"}'
)


class Trickler:
    """One client that sends headers for a 1000-byte body, then one byte every 0.2 s."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10)
        self.sock.sendall(
            f"POST /hooks/{TOKEN}/mtt/call HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(0.2):
            try:
                self.sock.sendall(b" ")
            except OSError:
                return

    def status(self) -> int:
        """The status line's code, once the server answers (waits up to the socket timeout)."""
        head = self.sock.recv(64).decode("latin-1")
        return int(head.split()[1])

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(2)


@contextmanager
def tricklers(collector: Collector, count: int) -> Iterator[list[Trickler]]:
    clients = [Trickler(collector.url) for _ in range(count)]
    try:
        time.sleep(0.8)  # every one of them is past the grace period: a slow body, in a slot
        yield clients
    finally:
        for client in clients:
            client.close()


def test_a_slow_body_times_out_with_408_and_nothing_stored(
    start_collector: StartCollector,
) -> None:
    collector = start_collector(body_timeout_seconds=1.0)
    started = time.monotonic()
    with tricklers(collector, 1) as [slow]:
        assert slow.status() == 408
    assert 0.9 <= time.monotonic() - started < 8
    assert collector.rows() == []


def test_slow_senders_do_not_block_a_fast_one(start_collector: StartCollector) -> None:
    collector = start_collector(body_timeout_seconds=2.0, max_body_reads=16)
    with tricklers(collector, 8) as slow:
        started = time.monotonic()
        response = collector.client.post(collector.hook("call"), content=EVENT)
        elapsed = time.monotonic() - started

        assert response.status_code == 200
        assert elapsed < 1.5  # well before any slow body's timeout
        assert [client.status() for client in slow] == [408] * 8
    assert len(collector.rows()) == 1


def test_past_the_cap_on_slow_bodies_a_slow_one_gets_503_at_once_and_a_fast_one_200(
    start_collector: StartCollector,
) -> None:
    collector = start_collector(body_timeout_seconds=5.0, max_body_reads=3)
    with tricklers(collector, 3):
        started = time.monotonic()
        fast = collector.client.post(collector.hook("call"), content=EVENT)
        fast_seconds = time.monotonic() - started
        fourth = Trickler(collector.url)
        try:
            started = time.monotonic()
            fourth_status = fourth.status()
            fourth_seconds = time.monotonic() - started
        finally:
            fourth.close()

    # MTT's bodies arrive at once: slow senders holding every slot cannot lock it out.
    assert fast.status_code == 200
    assert fast_seconds < 1.5
    assert fourth_status == 503
    assert fourth_seconds < 2.5  # at once (after the grace period), not after the 5 s timeout
    assert len(collector.rows()) == 1
