"""MTT Business call notifications (Open API doc 10.1.x, lines 441-826): every example,
read into the normalised callback events, and the matching of notifications to attempts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialer.channels import channel_for
from dialer.db.models import Attempt
from dialer.errors import EventParseError
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.events import dedupe_key
from dialer.providers.mtt_business_events import (
    PlacedCallback,
    comparable_number,
    match_notification,
    parse_mtt_business_events,
)
from dialer.states import Outcome

MSK = ZoneInfo("Europe/Moscow")
OUT_CALL = "SDfe2n901-b510751695c9e53584301f0c0e8d98c9200@127.0.0.1"
OUT_TAG = "sdfе2n901-281028329"  # the doc's tag holds a Cyrillic "е"
WORKPLACE = "883140582526566"
RM_CALLER = {
    "accountId": "883140582526566",
    "centrexId": "48212857",
    "displayId": "78005560251",
    "forwarderList": [],
    "id": "78005560251",
}


def notification(**call_info: Any) -> dict[str, Any]:
    return {"event": "callNotifications", "result": {"callInfo": call_info}}


def outgoing(state: str, callee: str, start: str | None, **more: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "call": {"id": OUT_CALL, "tag": OUT_TAG},
        "callee": {"displayId": callee, "forwarderList": [], "id": callee},
        "caller": RM_CALLER,
    }
    if start is not None:
        info["startTime"] = start
    info.update(state=state, transportId="10.133.51.137:5070", type="outgoing", **more)
    return notification(**info)


# 10.1.1 (two code blocks joined): an incoming call parked on our external number.
INCOMING_TRYING = notification(
    call={
        "id": "c166e238a4c211ea9d373863bb43daf8_00015ED635780FC7~1o",
        "tag": "hswdfry52vmykfla____.o",
    },
    callee={
        "accountId": "74996497803",
        "centrexId": "67821426",
        "displayId": "74996497803",
        "displayName": "",
        "forwarderList": [],
        "id": "74996497803",
    },
    caller={
        "accountId": "78124241500@pstn",
        "displayId": "78124241500",
        "forwarderList": [],
        "id": "78124241500",
    },
    startTime="2020-06-02 11:18:16",
    state="trying",
    transportId="10.133.33.136:5073",
    type="incoming",
)
# 10.1.2 (its trailing comma and page break repaired), 10.1.4, 10.1.5, 10.1.6, 10.1.7.
OUTGOING_TRYING = outgoing("trying", "+79219462761", "2020-06-24 15:01:45")
SHOWING = outgoing("showing", "+79219462761", "2020-06-24 15:01:45")
CONNECTED = outgoing("connected", "79219462761", "2020-06-24 15:01:55")
HIDING = outgoing("hiding", "+79219462761", "2020-06-24 15:01:45")
OUTGOING_FINISHED = outgoing(
    "finished",
    "79219462761",
    None,
    duration=3,
    reason="Originate leg disconnected",
    reasonCode=None,
)
# 10.1.7's incoming example: "display_name" and "extensionId" where the table has neither.
INCOMING_FINISHED = notification(
    call={
        "id": "c166e238a4c211ea9d373863bb43daf8_00015ED635780FC7~2o",
        "tag": "hswddry52ykfcb2a____.o",
    },
    callee={
        "accountId": "883140777828305",
        "centrexId": "67821426",
        "displayId": "883140777828305",
        "display_name": "74996497803",
        "extensionId": "",
        "forwarderList": [
            {"id": "an_prd100275045-3881851"},
            {"id": "scheme_prd100275045-3885981"},
        ],
        "id": "883140777828305",
    },
    caller={
        "accountId": "78124241500@pstn",
        "displayId": "78124241500",
        "forwarderList": [],
        "id": "78124241500",
    },
    duration=4,
    reason="Answer leg disconnected",
    reasonCode=None,
    state="finished",
    transportId="10.133.33.136:5073",
    type="incoming",
)
# 10.1.3 (the URL broken over two lines joined): no caller, callee, type or time.
RECORDED = notification(
    accountId="883140777446532",
    call={"id": "SDvapac01-3bd7d743109f2668f16de50c9ab53559100@127.0.0.1"},
    state="recorded",
    urlRecord="https://openapi-stage.mtt.ru/records/34380859/2020/12/18/9B58D12A_EC9D5E37_56485D37_0EE913E5.mp3",
)


def parse(document: object) -> list[NormalizedEvent]:
    body = json.dumps(document, ensure_ascii=False).encode()
    return parse_mtt_business_events(body, "application/json", {})


def only(document: object) -> NormalizedEvent:
    (event,) = parse(document)
    assert event.kind is EventKind.CALLBACK
    assert event.attempt_id is None  # nothing of ours comes back
    assert "id" not in event.extra  # it would enter the dedupe key
    return event


@pytest.mark.parametrize(
    ("document", "status", "number", "duration", "extra"),
    [
        (
            INCOMING_TRYING,
            "start_side_A",
            None,
            None,
            {
                "state": "trying",
                "contact": "78124241500",
                "workplace": "74996497803",
                "tag": "hswdfry52vmykfla____.o",
                "direction": "incoming",
            },
        ),
        (
            OUTGOING_TRYING,
            "start_side_A",
            None,
            None,
            {
                "state": "trying",
                "contact": "79219462761",
                "workplace": WORKPLACE,
                "tag": OUT_TAG,
                "direction": "outgoing",
            },
        ),
        (SHOWING, "start_side_A", None, None, {"state": "showing"}),
        (CONNECTED, "pickup_side_A", WORKPLACE, None, {"state": "connected"}),
        (HIDING, "hiding", None, None, {"state": "hiding"}),
        (
            OUTGOING_FINISHED,
            "end_side_A",
            None,
            3,
            {"state": "finished", "outcome": "connected", "reason": "Originate leg disconnected"},
        ),
        (
            INCOMING_FINISHED,
            "end_side_A",
            None,
            4,
            {
                "outcome": "connected",
                "reason": "Answer leg disconnected",
                "workplace": "883140777828305",
                "contact": "78124241500",
            },
        ),
        (
            RECORDED,
            "recorded",
            None,
            None,
            {
                "workplace": "883140777446532",
                "record_url": "https://openapi-stage.mtt.ru/records/34380859/2020/12/18/"
                "9B58D12A_EC9D5E37_56485D37_0EE913E5.mp3",
            },
        ),
    ],
)
def test_every_documented_notification(
    document: dict[str, Any],
    status: str,
    number: str | None,
    duration: int | None,
    extra: dict[str, str],
) -> None:
    event = only(document)
    assert event.status == status
    assert event.provider_id == document["result"]["callInfo"]["call"]["id"]
    assert event.number == number
    assert event.duration == duration
    assert extra.items() <= event.extra.items()
    if status != "end_side_A":
        assert "outcome" not in event.extra


def test_times_are_moscow_time() -> None:
    assert only(CONNECTED).occurred_at == datetime(2020, 6, 24, 15, 1, 55, tzinfo=MSK)
    assert only(INCOMING_TRYING).occurred_at == datetime(2020, 6, 2, 8, 18, 16, tzinfo=UTC)
    assert only(OUTGOING_FINISHED).occurred_at is None  # finished has no startTime
    assert only(RECORDED).occurred_at is None


@pytest.mark.parametrize("duration", [0, None, "0", -1])
def test_a_finished_call_without_talk_states_no_outcome(duration: object) -> None:
    document = outgoing("finished", "79219462761", None, reason="x", reasonCode=486)
    if duration is not None:
        document["result"]["callInfo"]["duration"] = duration
    event = only(document)
    assert event.status == "end_side_A"
    assert "outcome" not in event.extra
    assert event.extra["reason_code"] == "486"


# 10.1.5 verbatim: one closing brace too many. 10.1.6 verbatim. A trailing comma as in 10.1.2.
CONNECTED_AS_PRINTED = """{
"event": "callNotifications",
"result": {
    "callInfo": {
        "call": {
            "id": "SDfe2n901-b510751695c9e53584301f0c0e8d98c9200@127.0.0.1",
            "tag": "sdfе2n901-281028329"
        },
        "callee": {
            "displayId": "79219462761",
            "forwarderList": [],
            "id": "79219462761"
        },
        "caller": {
            "accountId": "883140582526566",
            "centrexId": "48212857",
            "displayId": "78005560251",
            "forwarderList": [],
            "id": "78005560251"
        },
        "startTime": "2020-06-24 15:01:55",
        "state": "connected",
        "transportId": "10.133.51.137:5070",
        "type": "outgoing"
    }
}
}
}
"""
HIDING_AS_PRINTED = """{
  "event": "callNotifications",
  "result": {
    "callInfo": {
      "call": {
        "id": "SDfe2n901-b510751695c9e53584301f0c0e8d98c9200@127.0.0.1",
        "tag": "sdfе2n901-281028329"
      },
      "callee": {
        "displayId": "+79219462761",
        "forwarderList": [],
        "id": "+79219462761"
      },
      "caller": {
        "accountId": "883140582526566",
        "centrexId": "48212857",
        "displayId": "78005560251",
        "forwarderList": [],
        "id": "78005560251"
      },
      "startTime": "2020-06-24 15:01:45",
      "state": "hiding",
      "transportId": "10.133.51.137:5070",
      "type": "outgoing"
    }
  }
}"""


@pytest.mark.parametrize(
    ("text", "as_json"),
    [
        (CONNECTED_AS_PRINTED, CONNECTED),
        (HIDING_AS_PRINTED, HIDING),
        (HIDING_AS_PRINTED.replace('"outgoing"', '"outgoing",'), HIDING),
    ],
)
def test_the_printed_examples_read_like_their_json(text: str, as_json: dict[str, Any]) -> None:
    (event,) = parse_mtt_business_events(text.encode(), "application/json", {})
    assert event == only(as_json)


@pytest.mark.parametrize("document", [INCOMING_TRYING, CONNECTED, OUTGOING_FINISHED, RECORDED])
def test_duplicates_make_identical_events(document: dict[str, Any]) -> None:
    """6.5: the mobile app duplicates notifications; a repeat, even through another transport
    node or with the keys in another order, is the same event for the inbox."""
    again = json.loads(json.dumps(document))
    info = again["result"]["callInfo"]
    info["transportId"] = "10.133.51.138:5071"
    again["result"]["callInfo"] = dict(reversed(list(info.items())))
    first, second = only(document), only(again)
    assert dedupe_key(first) == dedupe_key(second)
    different_state = json.loads(json.dumps(document))
    different_state["result"]["callInfo"]["state"] = "hiding"
    assert dedupe_key(only(different_state)) != dedupe_key(first)


@pytest.mark.parametrize(
    ("document", "status"),
    [
        (
            {"event": "vpbxNotifications", "result": {"eventType": "numbersChanged"}},
            "numbersChanged",
        ),
        (
            {"event": "vpbxNotifications", "result": {"eventType": "workplacesChanged"}},
            "workplacesChanged",
        ),
        (
            {"event": "vrbxNotifications", "result": {"eventType": "numbersChanged"}},
            "numbersChanged",
        ),
        ({"event": "vpbxNotifications"}, "vpbxNotifications"),
        ({"event": "somethingNew", "result": {"eventType": "x"}}, "somethingNew"),
    ],
)
def test_other_notifications_belong_to_no_call(document: dict[str, Any], status: str) -> None:
    """9.4, 9.5 (and 9.4's table's "vrbx" spelling): one event, no call, no attempt."""
    event = only(document)
    assert (event.status, event.provider_id, event.number) == (status, None, None)
    assert event.extra == {"event": document["event"]}
    assert match_notification(event, [placed(1)], received_at=T0) is None


def test_an_unknown_state_keeps_its_name() -> None:
    assert only(outgoing("parked", "79219462761", None)).status == "parked"
    assert only(outgoing("", "79219462761", None)).status == "unknown"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"event=callNotifications",
        b"[1, 2]",
        b'{"event": "callNotifications"',
        b'{"result": {}}',
        b'{"event": "callNotifications", "result": {}}',
        b'{"event": "callNotifications", "result": {"callInfo": {"state": "trying"}}}',
        b'{"event": "callNotifications", "result": {"callInfo": {"call": {"id": ""}}}}',
        b'{"event": "callNotifications"} trailing',
        b"\xff\xfe\xfa",
    ],
)
def test_unreadable_bodies(body: bytes) -> None:
    with pytest.raises(EventParseError):
        parse_mtt_business_events(body, "application/json; charset=utf-8", {})


@pytest.mark.parametrize(
    ("raw", "comparable"),
    [
        ("+79219462761", "79219462761"),
        ("79219462761", "79219462761"),
        ("89219462761", "79219462761"),
        ("9219462761", "79219462761"),
        ("0079581234567", "79581234567"),  # 6.4: two leading zeros
        ("78124241500@pstn", "78124241500"),
        ("+7 921 946-27-61", "79219462761"),
        ("883140582526566", "883140582526566"),
        ("an_prd100275045-3881851", None),
        ("", None),
        (None, None),
    ],
)
def test_comparable_number(raw: str | None, comparable: str | None) -> None:
    assert comparable_number(raw) == comparable


T0 = datetime(2020, 6, 24, 12, 1, 40, tzinfo=UTC)  # 15:01:40 in Moscow


def placed(attempt_id: int, *, at: datetime = T0, **fields: Any) -> PlacedCallback:
    values: dict[str, Any] = {
        "contact": "79219462761",
        "workplace": WORKPLACE,
        "placed_at": at,
    }
    values.update(fields)
    return PlacedCallback(attempt_id=attempt_id, **values)


def test_matching_by_call_id_first() -> None:
    event = only(OUTGOING_FINISHED)
    callbacks = [placed(1), placed(2, call_ids=frozenset({OUT_CALL}), at=T0 - timedelta(hours=1))]
    assert match_notification(event, callbacks, received_at=T0 + timedelta(days=1)) == 2


def test_matching_by_contact_and_time() -> None:
    event = only(OUTGOING_TRYING)  # 15:01:45 Moscow, 5 s after T0
    assert match_notification(event, [placed(1)], received_at=T0) == 1
    # another contact, or placed too long before, or well after: no match
    assert match_notification(event, [placed(1, contact="79161234567")], received_at=T0) is None
    too_old = placed(1, at=T0 - timedelta(minutes=11))
    assert match_notification(event, [too_old], received_at=T0) is None
    too_late = placed(1, at=T0 + timedelta(minutes=1))
    assert match_notification(event, [too_late], received_at=T0) is None
    # the contact as dialled in another form still matches
    assert match_notification(event, [placed(1, contact="89219462761")], received_at=T0) == 1


def test_matching_prefers_the_workplace_then_the_latest() -> None:
    event = only(OUTGOING_TRYING)
    callbacks = [
        placed(1, at=T0 - timedelta(seconds=30)),
        placed(2, at=T0, workplace="883140777380595"),
        placed(3, at=T0 - timedelta(seconds=10)),
    ]
    assert match_notification(event, callbacks, received_at=T0) == 3
    others = [placed(4, at=T0 - timedelta(seconds=30), workplace="1"), placed(5, workplace="2")]
    assert match_notification(event, others, received_at=T0) == 5


def test_a_finished_without_time_matches_by_receipt_time() -> None:
    event = only(OUTGOING_FINISHED)
    assert match_notification(event, [placed(7)], received_at=T0 + timedelta(seconds=40)) == 7
    assert match_notification(event, [placed(7)], received_at=T0 + timedelta(hours=1)) is None


def test_notifications_without_a_contact_match_only_by_id() -> None:
    event = only(RECORDED)
    assert match_notification(event, [placed(1)], received_at=T0) is None
    by_id = placed(1, call_ids=frozenset({event.provider_id or ""}))
    assert match_notification(event, [by_id], received_at=T0) == 1


def _attempt(**fields: object) -> Attempt:
    return Attempt(
        campaign_id=1,
        contact_id=1,
        channel="callback",
        number="79219462761",
        status="submitted",
        **fields,
    )


def test_the_channel_reads_the_documented_call_to_its_end() -> None:
    """The doc's outgoing call through ``CallbackChannel.reduce``: the agent is recorded
    on ``connected``, and ``finished`` (3 s of talk) ends it ``connected``."""
    channel = channel_for("callback")
    now = datetime(2020, 6, 24, 12, 2, tzinfo=UTC)
    attempt = _attempt()
    for document in (OUTGOING_TRYING, SHOWING, CONNECTED, HIDING):
        effect = channel.reduce(attempt, only(document), now, lambda: None)
        for name, value in effect.attempt.items():
            setattr(attempt, name, value)
    assert attempt.agent == WORKPLACE
    final = channel.reduce(attempt, only(OUTGOING_FINISHED), now, lambda: None)
    assert final.outcome is Outcome.CONNECTED
    # the contact answered 3 s before the end (the report's "contact answered" step)
    assert final.attempt == {"talk_seconds": 3, "answered_at": now - timedelta(seconds=3)}
    assert final.release_slot


def test_the_channel_without_talk_judges_by_the_agent() -> None:
    channel = channel_for("callback")
    now = datetime(2020, 6, 24, 12, 2, tzinfo=UTC)
    ended = only(outgoing("finished", "79219462761", None, duration=0))
    assert ended.status == "end_side_A"
    picked = _attempt(agent=WORKPLACE, slot_released_at=now)
    assert channel.without_event(picked, ended=True)[0] is Outcome.NO_ANSWER
    assert channel.without_event(_attempt(), ended=True)[0] is Outcome.AGENT_NO_ANSWER
