"""Issue 10.1: a database error on a webhook or on an apply logs a traceback; with the real
logging configuration no line of it shows a full phone number or the webhook token (the
engine hides statement parameters, the formatter masks the whole text)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from tests.collector.conftest import TOKEN, StartCollector
from tests.support.logs import captured_logs

PHONE = "79103880489"
CALL_EVENT = (
    '{"date_time": "2019-03-29-11-37-20", "id": "1255490", '
    f'"CallID": "00035c7d92bb0971", "event": "h_{PHONE}_16_4"}}'
)
INBOUND_STOP = (
    "account_sid=acc1&direction=inbound&from=" + PHONE + "&message_sid=msg-stop-1"
    "&status=received&text=STOP&to=79587625012"
)


def _wait_for(predicate: object, seconds: float = 10.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _assert_clean(log_text: str) -> None:
    assert "Traceback" in log_text  # the error was logged, with its traceback
    assert PHONE not in log_text
    assert PHONE[1:] not in log_text
    assert TOKEN not in log_text


@pytest.mark.parametrize("route", ["call", "sms"])
def test_a_database_error_on_a_webhook_leaks_nothing(
    start_collector: StartCollector, route: str
) -> None:
    with captured_logs(secrets=(TOKEN,)) as logs:
        collector = start_collector()
        with collector.engine.begin() as connection:
            connection.execute(text("DROP TABLE events"))
        body = CALL_EVENT if route == "call" else INBOUND_STOP
        response = collector.client.post(
            collector.hook(route),
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"} if route == "sms" else {},
        )
        assert response.status_code == 503
        collector.server.stop()

    _assert_clean(logs.getvalue())


def test_a_database_error_on_an_apply_leaks_nothing(start_collector: StartCollector) -> None:
    with captured_logs(secrets=(TOKEN,)) as logs:
        collector = start_collector()
        with collector.engine.begin() as connection:
            connection.execute(text("DROP TABLE dnc"))  # the STOP's insert into dnc fails
        response = collector.client.post(
            collector.hook("sms"),
            content=INBOUND_STOP,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text
        _wait_for(lambda: "dialer.outcomes.apply" in logs.getvalue())
        collector.server.stop()

    _assert_clean(logs.getvalue())
