"""The collector's contract rules over real HTTP: token, size limit, store first, dedupe,
unparseable bodies and storage failures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialer.collector.hooks import INVALID_ANSWER
from dialer.db.engine import make_engine
from tests.collector.conftest import TOKEN, Collector, StartCollector

EVENT = (
    '{"date_time": "2019-03-29-11-37-20", "id": "1255490", '
    '"CallID": "00035c7d92bb0971", "event": "h_79103880489_16_4"}'
)
SMS = (
    "account_sid=acc1&direction=outbound&from=79587625012&message_sid=msg-1"
    "&status=delivered&to=79587643270"
)


WRONG_TOKENS = ["wrong", TOKEN + "x", TOKEN[:-1], TOKEN.upper(), "%20" + TOKEN, "токен", "*"]


@pytest.mark.parametrize("route", ["call", "ivr", "sms"])
def test_wrong_token_is_404_and_stores_nothing(collector: Collector, route: str) -> None:
    body = EVENT if route != "sms" else SMS
    for token in WRONG_TOKENS:
        for method in ("POST", "GET", "PUT"):
            response = collector.client.request(method, collector.hook(route, token), content=body)
            assert response.status_code == 404, (token, method)
    assert collector.rows() == []


def test_empty_configured_token_rejects_everything(start_collector: StartCollector) -> None:
    collector = start_collector(webhook_token="")

    for token in ("x", "", " "):
        assert (
            collector.client.post(collector.hook("call", token), content=EVENT).status_code == 404
        )
    assert collector.rows() == []


def test_wrong_method_with_the_right_token_is_405(collector: Collector) -> None:
    assert collector.client.get(collector.hook("call")).status_code == 405
    assert collector.client.put(collector.hook("sms"), content=SMS).status_code == 405
    assert collector.rows() == []


def _chunks(total: int, size: int = 1000) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


@pytest.mark.parametrize("route", ["call", "ivr", "sms"])
def test_body_over_the_limit_is_413_declared_or_chunked(
    start_collector: StartCollector, route: str
) -> None:
    collector = start_collector(max_body_bytes=2048)
    url = collector.hook(route)

    declared = collector.client.post(url, content=b" " * 2049)
    chunked = collector.client.post(url, content=_chunks(50_000))

    assert declared.status_code == 413
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413
    assert collector.rows() == []
    padded = EVENT.ljust(2048) if route != "sms" else SMS.ljust(2048)
    assert collector.client.post(url, content=padded).status_code == 200  # exactly the limit


def test_a_chunked_body_within_the_limit_is_read_whole(collector: Collector) -> None:
    body = EVENT.encode()
    response = collector.client.post(
        collector.hook("call"), content=iter([body[:10], body[10:50], body[50:]])
    )

    assert response.json() == {"ok": True, "stored": 1, "duplicates": 0}


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("call", "hello"),
        ("call", '{"event": "x_79103880489"}'),
        ("call", '{"date_time": "2019-99-99-11-37-20", "event": "o_79103880489"}'),
        ("ivr", "[]"),
        ("ivr", b"\xff\xfe\x00garbage"),
        ("sms", "direction=outbound&status=sent"),
        ("sms", ""),
    ],
)
def test_unparseable_is_400_and_the_raw_request_is_kept(
    collector: Collector, route: str, body: str | bytes
) -> None:
    response = collector.client.post(
        collector.hook(route), content=body, headers={"content-type": "text/plain"}
    )

    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": INVALID_ANSWER}
    [row] = collector.rows()
    assert (row.route, row.status, row.dedupe_key, row.kind) == (route, "invalid", None, None)
    assert row.error
    assert row.raw.startswith("POST text/plain\n?\n")
    assert "\x00" not in row.raw


@pytest.mark.parametrize(
    "body",
    [
        '{"event": "x_79103880489"}',
        '{"date_time": "2019-99-99-11-37-20", "event": "o_79103880489"}',
    ],
)
def test_a_400_never_echoes_the_parser_text(collector: Collector, body: str) -> None:
    response = collector.client.post(collector.hook("call"), content=body)

    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": INVALID_ANSWER}
    assert "79103880489" not in response.text
    [row] = collector.rows()
    assert row.error  # the detail is kept, on our side
    assert row.error != INVALID_ANSWER


def test_raw_text_is_truncated(start_collector: StartCollector) -> None:
    collector = start_collector(max_body_bytes=100_000)
    response = collector.client.post(collector.hook("call"), content="x" * 90_000)

    assert response.status_code == 400
    [row] = collector.rows()
    assert 16 * 1024 <= len(row.raw) < 16 * 1024 + 100


def test_exact_duplicate_is_stored_once(collector: Collector) -> None:
    first = collector.client.post(collector.hook("call"), content=EVENT)
    again = collector.client.post(collector.hook("call"), content=EVENT)
    reshaped = collector.client.post(
        collector.hook("call"),
        content="date_time=2019-03-29-11-37-20&id=1255490&CallID=00035c7d92bb0971"
        "&event=h_79103880489_16_4",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert first.json() == {"ok": True, "stored": 1, "duplicates": 0}
    assert again.json() == {"ok": True, "stored": 0, "duplicates": 1}
    assert reshaped.json() == {"ok": True, "stored": 0, "duplicates": 1}
    assert len(collector.rows()) == 1


def test_duplicates_inside_one_body_are_stored_once(collector: Collector) -> None:
    response = collector.client.post(collector.hook("call"), content=f"[{EVENT}, {EVENT}]")

    assert response.json() == {"ok": True, "stored": 1, "duplicates": 1}
    assert len(collector.rows()) == 1


def test_sms_get_query_and_post_body_are_the_same_event(collector: Collector) -> None:
    posted = collector.client.post(
        collector.hook("sms"),
        content=SMS,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    got = collector.client.get(f"{collector.hook('sms')}?{SMS}")

    assert posted.json()["stored"] == 1
    assert got.json() == {"ok": True, "stored": 0, "duplicates": 1}


def test_events_are_applied_after_the_answer(collector: Collector) -> None:
    collector.client.post(collector.hook("call"), content=EVENT)

    deadline = time.monotonic() + 10
    while collector.rows()[0].status == "pending" and time.monotonic() < deadline:
        time.sleep(0.02)
    [row] = collector.rows()
    assert row.status == "orphan"  # applied: no attempt 1255490 exists (yet)


def test_without_inline_apply_events_stay_pending(start_collector: StartCollector) -> None:
    collector = start_collector(apply_inline=False)
    collector.client.post(collector.hook("call"), content=EVENT)

    [row] = collector.rows()
    assert row.status == "pending"


def test_database_failure_is_503(start_collector: StartCollector, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")  # never migrated
    try:
        collector = start_collector(engine=engine)
        for route, body in (("call", EVENT), ("call", "garbage"), ("sms", SMS)):
            response = collector.client.post(collector.hook(route), content=body)
            assert response.status_code == 503
            assert response.json() == {"ok": False, "error": "storage unavailable"}
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("call", EVENT.replace("00035c7d92bb0971", "\\ud800")),
        ("sms", '{"message_sid": "\\udfff", "status": "received", "direction": "inbound"}'),
    ],
)
def test_lone_surrogates_are_kept_as_invalid(collector: Collector, route: str, body: str) -> None:
    response = collector.client.post(collector.hook(route), content=body)

    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": INVALID_ANSWER}
    [row] = collector.rows()
    assert row.status == "invalid"
    assert "not valid Unicode" in (row.error or "")
    assert body in row.raw


@pytest.mark.integration
def test_values_postgresql_cannot_hold_are_kept_as_invalid(
    start_collector: StartCollector, collector_pg_url: str
) -> None:
    collector = start_collector(url=collector_pg_url)
    too_big_id = EVENT.replace('"1255490"', '"123456789012345678"')
    long_call_id = EVENT.replace("00035c7d92bb0971", "c" * 150)
    nul_call_id = EVENT.replace("00035c7d92bb0971", "a\\u0000b")

    for body in (too_big_id, long_call_id, nul_call_id):
        response = collector.client.post(collector.hook("call"), content=body)
        assert response.status_code == 400, response.text
        # The driver's text (psycopg's error class and message) stays on our side.
        assert response.json() == {"ok": False, "error": INVALID_ANSWER}
    rows = collector.rows()
    assert [row.status for row in rows] == ["invalid"] * 3
    assert all((row.error or "").startswith("event not storable: ") for row in rows)
    assert collector.client.post(collector.hook("call"), content=EVENT).status_code == 200
