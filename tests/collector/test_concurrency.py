"""Redeliveries racing each other against a real uvicorn server still store one row."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.collector.conftest import StartCollector

THREADS = 20
EVENT = (
    '{"date_time": "2019-03-29-11-37-20", "id": "1255490", '
    '"CallID": "00035c7d92bb0971", "event": "h_79103880489_16_4"}'
)


def test_concurrent_duplicates_store_exactly_one_row(
    start_collector: StartCollector, collector_db_url: str
) -> None:
    collector = start_collector(url=collector_db_url)
    url = collector.url + collector.hook("call")
    barrier = threading.Barrier(THREADS)

    def post(_: int) -> httpx.Response:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            return client.post(url, content=EVENT)

    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(post, range(THREADS)))

    assert [response.status_code for response in responses] == [200] * THREADS
    answers = [response.json() for response in responses]
    assert sum(answer["stored"] for answer in answers) == 1
    assert sum(answer["duplicates"] for answer in answers) == THREADS - 1
    assert len(collector.rows()) == 1


def test_concurrent_distinct_events_are_all_stored(
    start_collector: StartCollector, collector_db_url: str
) -> None:
    collector = start_collector(url=collector_db_url)
    url = collector.url + collector.hook("call")
    barrier = threading.Barrier(THREADS)

    def post(index: int) -> httpx.Response:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            return client.post(url, content=EVENT.replace("1255490", str(1000 + index)))

    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(post, range(THREADS)))

    assert all(response.json()["stored"] == 1 for response in responses)
    assert len(collector.rows()) == THREADS
