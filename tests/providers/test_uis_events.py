"""The UIS notification set-up (docs/callback-uis.md) and ``parse_uis_events`` on every shape
it produces: POST JSON templates filled in as UIS fills them, GET query templates, forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest

from dialer.errors import EventParseError
from dialer.providers.base import EventKind
from dialer.providers.uis_events import (
    NOTIFICATIONS,
    Notification,
    body_template,
    notification_time,
    parse_uis_events,
    query_template,
)

CONTACT = "79260000000"
OPERATOR = "79262444491"
VIRTUAL = "74993720692"
BY_EVENT = {notification.event: notification for notification in NOTIFICATIONS}


def _values(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "notification_mnemonic": "some_mnemonic",
        "notification_time": "2019-12-16 14:40:47.234",
        "call_session_id": 237859081,
        "external_id": "334",
        "virtual_phone_number": VIRTUAL,
        "contact_phone_number": CONTACT,
        "called_phone_number": OPERATOR,
        "talk_time_duration": 0,
        "total_time_duration": 31,
        "wait_time_duration": 31,
    }
    values.update(changes)
    return values


def _fill(template: str, values: dict[str, Any], encode: Any) -> str:
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", encode(value))
    return template


def _post(event: str, **changes: Any) -> bytes:
    """The body UIS sends for our template: each placeholder replaced by a JSON value."""
    return _fill(body_template(BY_EVENT[event]), _values(**changes), json.dumps).encode()


def _get(event: str, **changes: Any) -> dict[str, str]:
    """The query of a GET notification, decoded as the collector hands it over."""

    def encode(value: Any) -> str:
        return "" if value is None else quote(str(value))

    query = _fill(query_template(BY_EVENT[event]), _values(**changes), encode)
    return dict(parse_qsl(query, keep_blank_values=True))


def test_the_set_up() -> None:
    assert [n.uis_event for n in NOTIFICATIONS] == [
        "Исходящий звонок",
        "Ожидание ответа",
        "Начало разговора",
        "Окончание разговора",
        "Завершение звонка",
    ]
    template = body_template(BY_EVENT["call_finished"])
    assert template.startswith('{\n  "event": "call_finished",\n')
    assert '"call_session_id": {{call_session_id}}' in template
    assert '"talk_time_duration": {{talk_time_duration}}' in template
    assert query_template(BY_EVENT["call_started"]).startswith(
        "event=call_started&notification_mnemonic={{notification_mnemonic}}&"
    )


@pytest.mark.parametrize(
    ("event", "called", "status", "number", "duration"),
    [
        ("call_started", OPERATOR, "start_side_A", None, None),
        ("leg_ringing", OPERATOR, "start_side_A", None, None),
        ("leg_ringing", CONTACT, "start_side_B", None, None),
        ("talk_started", OPERATOR, "pickup_side_A", OPERATOR, None),
        ("talk_started", CONTACT, "start_talk", None, None),
        ("talk_finished", CONTACT, "end_side_B", None, 0),
        ("talk_finished", OPERATOR, "talk_finished", None, None),
        ("call_finished", CONTACT, "end_side_A", None, 0),
        # No leg number: a leg event cannot be placed, kept under its own name.
        ("leg_ringing", None, "leg_ringing", None, None),
        ("talk_started", None, "talk_started", None, None),
        ("call_finished", None, "end_side_A", None, 0),
    ],
)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_every_notification(
    method: str,
    event: str,
    called: str | None,
    status: str,
    number: str | None,
    duration: int | None,
) -> None:
    if method == "POST":
        (parsed,) = parse_uis_events(
            _post(event, called_phone_number=called), "application/json", {}
        )
    else:
        (parsed,) = parse_uis_events(b"", None, _get(event, called_phone_number=called))
    assert parsed.kind is EventKind.CALLBACK
    assert parsed.provider_id == "237859081"
    assert parsed.attempt_id == 334
    assert (parsed.status, parsed.number, parsed.duration) == (status, number, duration)
    assert "outcome" not in parsed.extra
    assert parsed.occurred_at == datetime(2019, 12, 16, 11, 40, 47, 234000, tzinfo=UTC)
    assert parsed.extra["contact_phone_number"] == CONTACT


def test_a_call_that_talked_says_so_on_its_final_event() -> None:
    (parsed,) = parse_uis_events(
        _post("call_finished", talk_time_duration=95), "application/json; charset=UTF-8", {}
    )
    assert parsed.status == "end_side_A"
    assert parsed.duration == 95
    assert parsed.extra["outcome"] == "connected"


def test_the_talk_length_comes_with_the_end_of_the_contact_leg() -> None:
    (parsed,) = parse_uis_events(
        _post("talk_finished", called_phone_number=CONTACT, talk_time_duration=95), None, {}
    )
    assert (parsed.status, parsed.duration) == ("end_side_B", 95)


def test_numbers_with_a_plus_are_the_same_leg() -> None:
    (parsed,) = parse_uis_events(
        _post("talk_started", contact_phone_number="+" + CONTACT, called_phone_number=CONTACT),
        None,
        {},
    )
    assert parsed.status == "start_talk"


def test_a_call_finished_payload_as_seen_in_the_wild() -> None:
    """A "Завершение звонка" body a UIS customer logged (extra fields, ``null`` external id,
    our literal event added): extra fields are kept, a missing attempt is ``None``."""
    body = {
        "event": "call_finished",
        "notification_name": "crm-out",
        "virtual_phone_number": "78633109653",
        "notification_time": "2019-12-16 14:40:47.234",
        "external_id": None,
        "contact_phone_number": "79508418541",
        "employee_full_name": "Ростов-на-Дону СЦ-5",
        "employee_id": 323409,
        "call_source": "va",
        "direction": "in",
        "call_session_id": 998677427,
        "scenario_name": "СЦ-5 Ростов Михаил",
        "talk_time_duration": 12,
        "total_time_duration": 23,
        "wait_time_duration": 11,
        "tag_names": None,
        "is_transfer": False,
    }
    (parsed,) = parse_uis_events(json.dumps(body, ensure_ascii=False).encode(), None, {})
    assert (parsed.provider_id, parsed.attempt_id) == ("998677427", None)
    assert parsed.extra["outcome"] == "connected"
    assert parsed.extra["is_transfer"] == "false"
    assert parsed.extra["employee_id"] == "323409"
    assert "tag_names" not in parsed.extra


def test_a_form_body_and_query_fields_winning() -> None:
    form = b"event=call_started&call_session_id=1&external_id=5"
    (parsed,) = parse_uis_events(form, "application/x-www-form-urlencoded", {"external_id": "6"})
    assert (parsed.status, parsed.provider_id, parsed.attempt_id) == ("start_side_A", "1", 6)


def test_without_our_event_the_uis_mnemonic_is_kept_raw() -> None:
    body = json.dumps({"notification_mnemonic": "lost_call", "call_session_id": 7}).encode()
    (parsed,) = parse_uis_events(body, None, {})
    assert parsed.status == "lost_call"


def test_an_attempt_alone_is_enough() -> None:
    body = json.dumps({"event": "call_started", "external_id": "42"}).encode()
    (parsed,) = parse_uis_events(body, None, {})
    assert (parsed.provider_id, parsed.attempt_id) == (None, 42)


def test_a_sent_outcome_is_never_trusted() -> None:
    body = json.dumps(
        {"event": "call_finished", "call_session_id": 7, "outcome": "connected"}
    ).encode()
    (parsed,) = parse_uis_events(body, None, {})
    assert "outcome" not in parsed.extra


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b"{not json",
        b"\xff\xfe\xfa",
        json.dumps({"call_session_id": 1}).encode(),  # no event at all
        json.dumps({"event": "call_started"}).encode(),  # neither session nor attempt
        json.dumps({"event": "bad name!", "call_session_id": 1}).encode(),
        json.dumps({"event": "call_started", "call_session_id": "abc"}).encode(),
    ],
)
def test_unreadable_notifications(body: bytes) -> None:
    with pytest.raises(EventParseError):
        parse_uis_events(body, "application/json", {})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-12-16 14:40:47.234", datetime(2019, 12, 16, 11, 40, 47, 234000, tzinfo=UTC)),
        ("2019-12-16 14:40:47", datetime(2019, 12, 16, 11, 40, 47, tzinfo=UTC)),
        ("2016-10-19T12:26:48Z", datetime(2016, 10, 19, 12, 26, 48, tzinfo=UTC)),
        ("1576496447", datetime(2019, 12, 16, 11, 40, 47, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_notification_time(raw: str | None, expected: datetime | None) -> None:
    assert notification_time(raw) == expected


def test_every_template_is_json_once_filled() -> None:
    for notification in NOTIFICATIONS:
        assert isinstance(notification, Notification)
        filled = json.loads(_post(notification.event))
        assert filled["event"] == notification.event
        assert set(filled) == {"event", *notification.parameters}
