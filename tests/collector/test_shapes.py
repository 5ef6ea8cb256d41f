"""Every event example of the MTT reference, sent over HTTP, lands in the inbox parsed.

Bodies are copied from ``reference/mtt-telecom-api.txt``: sb-api informer events (brace-wrapped
``k=v`` strings, a ``{"data": ...}`` wrapper), ivr-api events (JSON objects back to back), and
msapi status/inbound events (form bodies, sent by POST and as a GET query string).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

import pytest

from dialer.outcomes.inbox import event_from_json
from dialer.providers.base import EventKind
from tests.collector.conftest import Collector

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# (kind, attempt_id, provider_id, number, cause, duration, dtmf, status)
Row = tuple[
    EventKind, int | None, str | None, str | None, int | None, int | None, int | None, str | None
]

INFORMER_ANSWERED = """
{"date_time=2019-03-29-11-37-13&id=1255490&CallID=00035c7d92bb0971&event=o_7910000000"},
{"date_time=2019-03-29-11-37-27&id=1255490&CallID=00035c7d92bb0971&event=h_7910000000_16_4"}
"""
INFORMER_BUSY = """
{"date_time=2019-03-29-09-33-46&id=1255490&CallID=00035c7d92bb0935&event=o_7910000000"},
{"date_time=2019-03-29-09-33-53&id=1255490&CallID=00035c7d92bb0935&event=h_7910000000_17_0"}
"""
INFORMER_UNREACHABLE_START = """
{"data":{"date_time=2019-03-29-09-41-18&id=1255490&CallID=00035c7d92bb093b&event=o_7910000000"}},
"""
INFORMER_UNREACHABLE_END = """
{"date_time=2019-03-29-09-41-38&id=1255490&CallID=00035c7d92bb093b&event=h_7910000000_20_0"}
"""
INFORMER_BARE_KV = (
    "date_time=2019-03-29-11-37-27&id=1255490&CallID=00035c7d92bb0971&event=h_7910000000_16_4"
)
IVR_ANSWERED = """
{
  "date_time": "2019-03-29-11-37-13",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "event": "o_79103880489"
}
{
  "date_time": "2019-03-29-11-37-20",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "event": "h_79103880489_16_4"
}
"""
IVR_BUSY_END = """
{
  "date_time": "2019-03-29-11-37-15",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "event": "h_79103880489_17_0"
}
"""
IVR_UNREACHABLE_END = """
{
  "date_time": "2019-03-29-11-37-20",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "event": "h_79103880489_20_0"
}
"""
IVR_TRANSFER_START = """
{
  "date_time": "2019-03-29-11-38-00",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "dtmf": "2",
  "type": "transfer",
  "event": "o_78001000101"
}
"""
IVR_TRANSFER_END = """
{
  "date_time": "2019-03-29-11-38-00",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "dtmf": "2",
  "type": "transfer",
  "event": "h_78001000101_16_30"
}
"""
IVR_NOTIFY = """
{
  "date_time": "2019-03-29-11-37-13",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "dtmf": "1",
  "type": "notify",
  "event": "n_79103880489"
}
"""
IVR_NOTIFY_NO_CHOICE = """
{
  "date_time": "2019-03-29-11-37-13",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "dtmf": "null",
  "type": "notify",
  "event": "n_79103880489"
}
"""
IVR_WHOLE_CALL = """
{
  "date_time": "2019-03-29-11-37-13",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "event": "o_79103880489"
}
{
  "date_time": "2019-03-29-11-37-55",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "dtmf": "3",
  "type": "transfer",
  "event": "o_74997090111"
}
{
  "date_time": "2019-03-29-11-38-45",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "dtmf": "3",
  "type": "transfer",
  "event": "h_74997090111_16_30"
}
{
  "date_time": "2019-03-29-11-37-20",
  "id": "1255490",
  "CallID": "00035c7d92bb0971",
  "event": "h_79103880489_16_50"
}
"""
IVR_DATA_WRAPPED = (
    '{"data": {"date_time": "2019-03-29-11-37-13", "id": "1255490", '
    '"CallID": "00035c7d92bb0971", "event": "o_79103880489"}}'
)
IVR_DATA_KV_STRING = (
    '{"data": "date_time=2019-03-29-11-37-13&id=1255490&CallID=00035c7d92bb0971'
    '&event=o_79103880489"}'
)
IVR_JSON_ARRAY = (
    '[{"date_time": "2019-03-29-11-37-13", "id": "1255490", "CallID": "00035c7d92bb0971", '
    '"event": "o_79103880489"}, {"date_time": "2019-03-29-11-37-20", "id": "1255490", '
    '"CallID": "00035c7d92bb0971", "event": "h_79103880489_16_4"}]'
)

CALL = "00035c7d92bb0971"
STARTED_10 = (EventKind.CALL_STARTED, 1255490, CALL, "7910000000", None, None, None, None)
STARTED_11 = (EventKind.CALL_STARTED, 1255490, CALL, "79103880489", None, None, None, None)
ENDED_11 = (EventKind.CALL_ENDED, 1255490, CALL, "79103880489", 16, 4, None, None)


@dataclass(frozen=True)
class Example:
    route: str
    body: str
    content_type: str | None
    expected: list[Row]


CALL_EXAMPLES = {
    "informer answered (braced k=v)": Example(
        "call",
        INFORMER_ANSWERED,
        JSON,
        [STARTED_10, (EventKind.CALL_ENDED, 1255490, CALL, "7910000000", 16, 4, None, None)],
    ),
    "informer busy (braced k=v)": Example(
        "call",
        INFORMER_BUSY,
        JSON,
        [
            (EventKind.CALL_STARTED, 1255490, "00035c7d92bb0935", "7910000000", *[None] * 4),
            (EventKind.CALL_ENDED, 1255490, "00035c7d92bb0935", "7910000000", 17, 0, None, None),
        ],
    ),
    "informer unreachable start (data-wrapped)": Example(
        "call",
        INFORMER_UNREACHABLE_START,
        JSON,
        [(EventKind.CALL_STARTED, 1255490, "00035c7d92bb093b", "7910000000", *[None] * 4)],
    ),
    "informer unreachable end": Example(
        "call",
        INFORMER_UNREACHABLE_END,
        None,
        [(EventKind.CALL_ENDED, 1255490, "00035c7d92bb093b", "7910000000", 20, 0, None, None)],
    ),
    "informer bare k=v as form": Example(
        "call",
        INFORMER_BARE_KV,
        FORM,
        [(EventKind.CALL_ENDED, 1255490, CALL, "7910000000", 16, 4, None, None)],
    ),
    "informer bare k=v, no content type": Example(
        "call",
        INFORMER_BARE_KV,
        None,
        [(EventKind.CALL_ENDED, 1255490, CALL, "7910000000", 16, 4, None, None)],
    ),
    "ivr answered (objects back to back)": Example(
        "call", IVR_ANSWERED, JSON, [STARTED_11, ENDED_11]
    ),
    "ivr busy end": Example(
        "call",
        IVR_BUSY_END,
        JSON,
        [(EventKind.CALL_ENDED, 1255490, CALL, "79103880489", 17, 0, None, None)],
    ),
    "ivr unreachable end": Example(
        "call",
        IVR_UNREACHABLE_END,
        JSON,
        [(EventKind.CALL_ENDED, 1255490, CALL, "79103880489", 20, 0, None, None)],
    ),
    "ivr transfer start": Example(
        "call",
        IVR_TRANSFER_START,
        JSON,
        [(EventKind.TRANSFER_STARTED, 1255490, CALL, "78001000101", None, None, 2, None)],
    ),
    "ivr transfer end": Example(
        "call",
        IVR_TRANSFER_END,
        JSON,
        [(EventKind.TRANSFER_ENDED, 1255490, CALL, "78001000101", 16, 30, 2, None)],
    ),
    "ivr notify on the ivr route": Example(
        "ivr",
        IVR_NOTIFY,
        JSON,
        [(EventKind.DTMF, 1255490, CALL, "79103880489", None, None, 1, None)],
    ),
    "ivr notify without a choice": Example(
        "ivr",
        IVR_NOTIFY_NO_CHOICE,
        JSON,
        [(EventKind.DTMF, 1255490, CALL, "79103880489", None, None, None, None)],
    ),
    "ivr whole call, hangup last": Example(
        "call",
        IVR_WHOLE_CALL,
        JSON,
        [
            STARTED_11,
            (EventKind.TRANSFER_STARTED, 1255490, CALL, "74997090111", None, None, 3, None),
            (EventKind.TRANSFER_ENDED, 1255490, CALL, "74997090111", 16, 30, 3, None),
            (EventKind.CALL_ENDED, 1255490, CALL, "79103880489", 16, 50, None, None),
        ],
    ),
    "data-wrapped object": Example("call", IVR_DATA_WRAPPED, JSON, [STARTED_11]),
    "data-wrapped k=v string": Example("call", IVR_DATA_KV_STRING, JSON, [STARTED_11]),
    "json array": Example("call", IVR_JSON_ARRAY, JSON, [STARTED_11, ENDED_11]),
    "json as text/plain": Example("ivr", IVR_ANSWERED, "text/plain", [STARTED_11, ENDED_11]),
}

SMS_SID = "msg96f3f40d-d0cf-3af4-99fc-b73653aa6f2e"
SMS_OUTBOUND = (
    "account_sid=acc560115b3-4831-3618-9c44-959590da3d44&direction=outbound&from=79587625012"
    "&hash=view&message_sid=msg96f3f40d-d0cf-3af4-99fc-b73653aa6f2e&status={status}"
    "&text=test+inbound&to=79587643270"
)
SMS_INBOUND = (
    "account_sid=acc560115b3-4831-3618-9c44-959590da3d44&direction=inbound&from=79587643270"
    "&hash=view&message_sid=msg96f3f40d-d0cf-3af4-99fc-b73653aa6f2e&status=received"
    "&text=Test+inbound&to=79587625012"
)
SMS_EXAMPLES = {
    **{
        f"msapi {status}": (
            SMS_OUTBOUND.format(status=status),
            (EventKind.SMS_STATUS, SMS_SID, "79587643270", status, None),
        )
        for status in ("queued", "prebilling", "sent", "delivered")
    },
    "msapi inbound": (
        SMS_INBOUND,
        (EventKind.SMS_INBOUND, SMS_SID, "79587625012", "received", "Test inbound"),
    ),
}


def _call_row(row: object) -> Row:
    from dialer.db.models import ProviderEvent

    assert isinstance(row, ProviderEvent)
    assert row.payload_json is not None
    event = event_from_json(row.payload_json)
    return (
        event.kind,
        event.attempt_id,
        event.provider_id,
        event.number,
        event.cause,
        event.duration,
        event.dtmf,
        event.status,
    )


@pytest.mark.parametrize("example", CALL_EXAMPLES.values(), ids=CALL_EXAMPLES.keys())
def test_documented_call_events_land_in_the_inbox(collector: Collector, example: Example) -> None:
    headers = {"content-type": example.content_type} if example.content_type else {}
    response = collector.client.post(
        collector.hook(example.route), content=example.body.encode(), headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "stored": len(example.expected), "duplicates": 0}
    rows = collector.rows()
    assert [_call_row(row) for row in rows] == example.expected
    for row in rows:
        assert row.route == example.route
        assert row.status in ("pending", "orphan")  # no attempt 1255490 in this database
        assert row.dedupe_key
        assert row.raw.startswith(f"POST {example.content_type or '-'}\n?\n")
        assert example.body.strip()[:40] in row.raw


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize(("body", "expected"), SMS_EXAMPLES.values(), ids=SMS_EXAMPLES.keys())
def test_documented_sms_events_land_in_the_inbox(
    collector: Collector,
    method: str,
    body: str,
    expected: tuple[EventKind, str, str, str, str | None],
) -> None:
    if method == "POST":
        response = collector.client.post(
            collector.hook("sms"), content=body, headers={"content-type": FORM}
        )
    else:
        response = collector.client.get(collector.hook("sms"), params=parse_qsl(body))

    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "stored": 1, "duplicates": 0}
    [row] = collector.rows()
    assert row.payload_json is not None
    event = event_from_json(row.payload_json)
    assert (event.kind, event.provider_id, event.number, event.status, event.text) == expected
    assert row.route == "sms"
    assert row.raw.startswith(method)
    assert "message_sid=msg96f3f40d" in row.raw


def test_each_sms_status_is_its_own_event(collector: Collector) -> None:
    for status in ("queued", "prebilling", "sent", "delivered", "sent"):
        collector.client.post(
            collector.hook("sms"),
            content=SMS_OUTBOUND.format(status=status),
            headers={"content-type": FORM},
        )

    rows = collector.rows()
    assert len(rows) == 4  # the repeated "sent" is a redelivery
    assert len({row.dedupe_key for row in rows}) == 4
