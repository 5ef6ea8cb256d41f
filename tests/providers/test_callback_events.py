"""MTT CallBack events (mtt-telecom-api.txt lines 1573-1592) through the pure parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialer.errors import EventParseError
from dialer.providers.callback_events import (
    CallbackEventKind,
    dedupe_key,
    normalize_phone,
    parse_callback_event,
)

CALL_ID = "e031c89159fba8b80025cd6fb534a77"
# The documented sequence, as query strings of the logged URLs.
DOCUMENTED = [
    (f"event=start_side_A&id={CALL_ID}", CallbackEventKind.START_SIDE_A),
    (f"event=pickup_side_A&id={CALL_ID}&phone_A=+79162795520", CallbackEventKind.PICKUP_SIDE_A),
    (f"event=start_side_B&id={CALL_ID}", CallbackEventKind.START_SIDE_B),
    (f"event=start_talk&id={CALL_ID}", CallbackEventKind.START_TALK),
    (f"event=end_side_B&id={CALL_ID}", CallbackEventKind.END_SIDE_B),
    (f"event=end_side_A&id={CALL_ID}", CallbackEventKind.END_SIDE_A),
]


@pytest.mark.parametrize(("query", "kind"), DOCUMENTED)
def test_documented_events(query: str, kind: CallbackEventKind) -> None:
    event = parse_callback_event(query)
    assert event.kind is kind
    assert event.name == kind.value
    assert event.call_id == CALL_ID
    assert event.occurred_at is None
    assert dict(event.extras) == {}
    assert event.is_final is (kind is CallbackEventKind.END_SIDE_A)


@pytest.mark.parametrize(
    "query",
    [
        f"event=pickup_side_A&id={CALL_ID}&phone_A=+79162795520",  # '+' decodes to a space
        f"event=pickup_side_A&id={CALL_ID}&phone_A=%2B79162795520",
        f"event=pickup_side_A&id={CALL_ID}&phone_A=79162795520",
        f"event=pickup_side_A&id={CALL_ID}&phone_A=+79162795520,",  # the doc's trailing comma
        f"?event=pickup_side_A&id={CALL_ID}&phone_A=%2079162795520",
    ],
)
def test_phone_a_plus_may_arrive_as_space(query: str) -> None:
    event = parse_callback_event(query)
    assert event.phone == "79162795520"
    assert "phone_A" not in event.extras


def test_unreadable_phone_is_kept_raw() -> None:
    event = parse_callback_event(f"event=pickup_side_A&id={CALL_ID}&phone_A=anonymous")
    assert event.phone is None
    assert event.extras == {"phone_A": "anonymous"}


def test_decoded_mapping_and_post_bodies() -> None:
    by_mapping = parse_callback_event({"event": "start_talk", "id": CALL_ID})
    by_form = parse_callback_event("", f"event=start_talk&id={CALL_ID}".encode())
    by_json = parse_callback_event("", f'{{"event": "start_talk", "id": "{CALL_ID}"}}')
    assert by_mapping == by_form == by_json
    assert by_mapping.kind is CallbackEventKind.START_TALK


def test_query_wins_over_body() -> None:
    event = parse_callback_event(f"event=end_side_A&id={CALL_ID}", b"event=start_talk&id=other")
    assert (event.kind, event.call_id) == (CallbackEventKind.END_SIDE_A, CALL_ID)


def test_unknown_events_are_kept_raw() -> None:
    event = parse_callback_event(f"event=hold_side_B&id={CALL_ID}&reason=music")
    assert event.kind is CallbackEventKind.UNKNOWN
    assert event.name == "hold_side_B"
    assert event.extras == {"reason": "music"}
    assert not event.is_final


def test_event_names_are_case_insensitive() -> None:
    assert parse_callback_event(f"event=END_SIDE_A&id={CALL_ID}").is_final


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28-09-30-00", datetime(2026, 11, 28, 6, 30, tzinfo=UTC)),
        ("2026-11-28 09:30:00", datetime(2026, 11, 28, 6, 30, tzinfo=UTC)),
        ("1795848000", datetime(2026, 11, 28, 6, 40, tzinfo=UTC)),
    ],
)
def test_a_time_is_read_when_given(value: str, expected: datetime) -> None:
    event = parse_callback_event(f"event=start_talk&id={CALL_ID}&date_time={value}")
    assert event.occurred_at == expected
    assert "date_time" not in event.extras


def test_an_unreadable_time_is_an_extra() -> None:
    event = parse_callback_event(f"event=start_talk&id={CALL_ID}&date_time=yesterday")
    assert event.occurred_at is None
    assert event.extras == {"date_time": "yesterday"}


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("", b""),
        (f"id={CALL_ID}", b""),
        ("event=start_talk", b""),
        ("event=start_talk&id=", b""),
        ("event=<script>&id=1", b""),
        ("event=start_talk&id=a%20b", b""),
        ("", b"\xff\xfe\xfa"),
        ("", b"{not json"),
        ("", b"[1, 2]"),
        ("", b"just words"),
    ],
)
def test_unreadable_input_raises_event_parse_error(query: str, body: bytes) -> None:
    with pytest.raises(EventParseError):
        parse_callback_event(query, body)


def test_dedupe_key_collapses_repeats_only() -> None:
    first = parse_callback_event(f"event=start_talk&id={CALL_ID}")
    again = parse_callback_event(f"event=start_talk&id={CALL_ID}&extra=1")
    other = parse_callback_event(f"event=end_side_B&id={CALL_ID}")
    assert dedupe_key(first) == dedupe_key(again) != dedupe_key(other)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 79161234567", "79161234567"),
        ("+7 (916) 123-45-67", "79161234567"),
        ("", None),
        ("12", None),
    ],
)
def test_normalize_phone(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected
