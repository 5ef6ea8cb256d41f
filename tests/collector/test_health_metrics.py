"""``/healthz`` and ``/metrics``: on the internal listener only, database gauges cached."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event
from sqlmodel import Session

from dialer.collector import health
from dialer.collector.gauges import DatabaseGauges
from dialer.collector.metrics import dispatch_latency
from dialer.db.engine import make_engine
from dialer.db.models import Attempt, Campaign, Contact
from tests.collector.conftest import Collector, StartCollector

EVENT = (
    '{"date_time": "2019-03-29-11-37-20", "id": "1255490", '
    '"CallID": "00035c7d92bb0971", "event": "h_79103880489_16_4"}'
)


def internal(collector: Collector) -> httpx.Client:
    assert collector.internal is not None
    return collector.internal


def test_healthz_ok_without_a_broker(start_collector: StartCollector) -> None:
    collector = start_collector(metrics=True)
    response = internal(collector).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": True, "broker": None}


def test_healthz_ok_with_a_broker(start_collector: StartCollector) -> None:
    collector = start_collector(broker_ping=lambda: True, metrics=True)

    assert internal(collector).get("/healthz").json() == {
        "status": "ok",
        "db": True,
        "broker": True,
    }


def _raises() -> bool:
    raise ConnectionError("redis down")


@pytest.mark.parametrize("ping", [lambda: False, _raises], ids=["false", "raises"])
def test_healthz_503_when_the_broker_fails(start_collector: StartCollector, ping: object) -> None:
    collector = start_collector(broker_ping=ping, metrics=True)

    response = internal(collector).get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "db": True, "broker": False}


def test_healthz_503_when_the_broker_hangs(
    start_collector: StartCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.2)
    release = threading.Event()
    collector = start_collector(broker_ping=lambda: release.wait(5), metrics=True)
    try:
        response = internal(collector).get("/healthz")
    finally:
        release.set()

    assert response.status_code == 503
    assert response.json()["broker"] is False


def test_healthz_503_when_the_database_is_unreachable(
    start_collector: StartCollector, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'dialer.db'}")
    try:
        collector = start_collector(engine=engine, broker_ping=lambda: True, metrics=True)
        response = internal(collector).get("/healthz")
    finally:
        engine.dispose()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "db": False, "broker": True}


def _seed_contacts(collector: Collector) -> None:
    with Session(collector.engine) as session:
        campaign = Campaign(name="c", channel="tts", config_json="{}")
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        contacts = [
            Contact(campaign_id=campaign.id, phone=f"7910000000{i}", timezone="Europe/Moscow")
            for i in range(3)
        ]
        contacts[0].status, contacts[0].outcome = "reached", "answered"
        session.add_all(contacts)
        session.flush()
        assert contacts[1].id is not None
        session.add(
            Attempt(
                campaign_id=campaign.id,
                contact_id=contacts[1].id,
                channel="tts",
                number=contacts[1].phone,
            )
        )
        session.commit()


def test_metrics_expose_counters_and_database_gauges(start_collector: StartCollector) -> None:
    collector = start_collector(metrics=True)
    _seed_contacts(collector)
    dispatch_latency().observe(0.25)
    collector.client.post(collector.hook("call"), content=EVENT)
    collector.client.post(collector.hook("call"), content=EVENT)
    collector.client.post(collector.hook("ivr"), content="nonsense")
    collector.client.post(collector.hook("sms", "bad-token"), content="x")

    response = internal(collector).get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in (
        'dialer_events_total{kind="call_ended",route="call"} 1.0',
        'dialer_events_duplicate_total{route="call"} 1.0',
        'dialer_events_invalid_total{route="ivr"} 1.0',
        'dialer_webhook_requests_total{route="call",status="200"} 2.0',
        'dialer_webhook_requests_total{route="ivr",status="400"} 1.0',
        'dialer_webhook_requests_total{route="sms",status="404"} 1.0',
        'dialer_webhook_latency_seconds_count{route="call"} 2.0',
        'dialer_contacts{status="pending"} 2.0',
        'dialer_contacts{status="reached"} 1.0',
        'dialer_outcomes{outcome="answered"} 1.0',
        "dialer_queue_depth 1.0",
    ):
        assert line in text.splitlines(), line
    assert "dialer_dispatch_latency_seconds_count" in text


def test_metrics_survive_a_database_outage(start_collector: StartCollector, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")
    try:
        collector = start_collector(engine=engine, metrics=True)
        response = internal(collector).get("/metrics")
    finally:
        engine.dispose()

    assert response.status_code == 200
    assert "dialer_webhook_latency_seconds" in response.text
    assert "dialer_queue_depth " not in response.text


def test_each_app_has_its_own_registry(start_collector: StartCollector) -> None:
    first, second = start_collector(metrics=True), start_collector(metrics=True)
    first.client.post(first.hook("call"), content=EVENT)

    assert (
        'dialer_events_total{kind="call_ended",route="call"} 1.0'
        in internal(first).get("/metrics").text
    )
    assert "dialer_events_total{" not in internal(second).get("/metrics").text


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_the_public_port_does_not_serve_internals(
    start_collector: StartCollector, path: str
) -> None:
    collector = start_collector(metrics=True)

    assert collector.client.get(path).status_code == 404
    assert internal(collector).get(path).status_code == 200


def test_without_a_metrics_port_there_is_no_internal_listener(collector: Collector) -> None:
    assert collector.server.metrics_url == ""
    assert collector.client.get("/metrics").status_code == 404


def test_database_gauges_are_read_once_per_interval_however_many_scrapes(
    start_collector: StartCollector,
) -> None:
    collector = start_collector(metrics=True)
    _seed_contacts(collector)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(collector.engine, "before_cursor_execute", count)
    try:
        texts = [internal(collector).get("/metrics").text for _ in range(40)]
    finally:
        event.remove(collector.engine, "before_cursor_execute", count)

    assert len(statements) == 3  # contacts by status, by outcome, queue depth: once
    assert all('dialer_contacts{status="reached"} 1.0' in text for text in texts)


def test_database_gauges_are_read_again_after_the_interval() -> None:
    now = [0.0]
    reads: list[int] = []

    engine = make_engine("sqlite://")
    event.listen(engine, "before_cursor_execute", lambda *args: reads.append(1))
    try:
        gauges = DatabaseGauges(engine, cache_seconds=15.0, clock=lambda: now[0])
        for moment in (0.0, 5.0, 14.9, 15.0, 20.0, 31.0):
            now[0] = moment
            list(gauges.collect())
    finally:
        engine.dispose()

    # No tables: each read fails at its first query, once per interval (0, 15, 31).
    assert len(reads) == 3
