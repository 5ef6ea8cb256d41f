"""Every event example of the MTT documentation, as a test vector, plus fuzzing."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.errors import EventParseError
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.events import (
    dedupe_key,
    parse_call_events,
    parse_sms_body,
    parse_sms_event,
)

MSK = ZoneInfo("Europe/Moscow")
K = EventKind


def at(text: str) -> datetime:
    """``2019-03-29-11-37-13`` in Moscow time."""
    year, month, day, hour, minute, second = (int(p) for p in text.split("-"))
    return datetime(year, month, day, hour, minute, second, tzinfo=MSK)


def call(
    kind: EventKind,
    event: str,
    date_time: str,
    call_id: str,
    *,
    cause: int | None = None,
    duration: int | None = None,
    dtmf: int | None = None,
    type_: str | None = None,
) -> NormalizedEvent:
    extra = {"event": event, "id": "1255490"}
    if type_:
        extra["type"] = type_
    return NormalizedEvent(
        kind=kind,
        attempt_id=1255490,
        provider_id=call_id,
        number=event.split("_")[1],
        cause=cause,
        duration=duration,
        dtmf=dtmf,
        occurred_at=at(date_time),
        extra=extra,
    )


# sb-api informer examples: brace-wrapped key=value strings, not JSON, with trailing commas.
INFORMER_ANSWERED = [
    (
        '{"date_time=2019-03-29-11-37-13&id=1255490&CallID=00035c7d92bb0971&event=o_7910000000"},',
        call(K.CALL_STARTED, "o_7910000000", "2019-03-29-11-37-13", "00035c7d92bb0971"),
    ),
    (
        '{"date_time=2019-03-29-11-37-27&id=1255490&CallID=00035c7d92bb0971'
        '&event=h_7910000000_16_4"}',
        call(
            K.CALL_ENDED,
            "h_7910000000_16_4",
            "2019-03-29-11-37-27",
            "00035c7d92bb0971",
            cause=16,
            duration=4,
        ),
    ),
]
INFORMER_VECTORS = [
    *INFORMER_ANSWERED,
    (
        '{"date_time=2019-03-29-09-33-46&id=1255490&CallID=00035c7d92bb0935&event=o_7910000000"},',
        call(K.CALL_STARTED, "o_7910000000", "2019-03-29-09-33-46", "00035c7d92bb0935"),
    ),
    (
        '{"date_time=2019-03-29-09-33-53&id=1255490&CallID=00035c7d92bb0935'
        '&event=h_7910000000_17_0"}',
        call(
            K.CALL_ENDED,
            "h_7910000000_17_0",
            "2019-03-29-09-33-53",
            "00035c7d92bb0935",
            cause=17,
            duration=0,
        ),
    ),
    (
        '\n{"data":{"date_time=2019-03-29-09-41-18&id=1255490&CallID=00035c7d92bb093b'
        '&event=o_7910000000"}},\n',
        call(K.CALL_STARTED, "o_7910000000", "2019-03-29-09-41-18", "00035c7d92bb093b"),
    ),
    (
        '{"date_time=2019-03-29-09-41-38&id=1255490&CallID=00035c7d92bb093b'
        '&event=h_7910000000_20_0"}',
        call(
            K.CALL_ENDED,
            "h_7910000000_20_0",
            "2019-03-29-09-41-38",
            "00035c7d92bb093b",
            cause=20,
            duration=0,
        ),
    ),
    # The format lines of the same section, without braces.
    (
        "date_time=2019-03-29-11-37-13&id=1255490&CallID=00035c7d92bb0971&event=o_79103880489",
        call(K.CALL_STARTED, "o_79103880489", "2019-03-29-11-37-13", "00035c7d92bb0971"),
    ),
]


def ivr_json(date_time: str, event: str, dtmf: str | None = None, type_: str | None = None) -> str:
    lines = [
        "{",
        f'  "date_time": "{date_time}",',
        '  "id": "1255490",',
        '  "CallID": "00035c7d92bb0971",',
    ]
    if dtmf is not None:
        lines.append(f'  "dtmf": "{dtmf}",')
    if type_ is not None:
        lines.append(f'  "type": "{type_}",')
    lines += [f'  "event": "{event}"', "}"]
    return "\n".join(lines)


def ivr_case(
    kind: EventKind,
    date_time: str,
    event: str,
    *,
    dtmf: str | None = None,
    type_: str | None = None,
    cause: int | None = None,
    duration: int | None = None,
) -> tuple[str, NormalizedEvent]:
    expected = call(
        kind,
        event,
        date_time,
        "00035c7d92bb0971",
        cause=cause,
        duration=duration,
        dtmf=None if dtmf in (None, "null") else int(dtmf),
        type_=type_,
    )
    return ivr_json(date_time, event, dtmf, type_), expected


IVR_VECTORS = [
    ivr_case(K.CALL_STARTED, "2019-03-29-11-37-13", "o_79103880489"),
    ivr_case(K.CALL_ENDED, "2019-03-29-11-37-20", "h_79103880489_16_4", cause=16, duration=4),
    ivr_case(K.CALL_ENDED, "2019-03-29-11-37-15", "h_79103880489_17_0", cause=17, duration=0),
    ivr_case(K.CALL_ENDED, "2019-03-29-11-37-20", "h_79103880489_20_0", cause=20, duration=0),
    ivr_case(
        K.TRANSFER_STARTED, "2019-03-29-11-38-00", "o_78001000101", dtmf="2", type_="transfer"
    ),
    ivr_case(
        K.TRANSFER_ENDED,
        "2019-03-29-11-38-00",
        "h_78001000101_16_30",
        dtmf="2",
        type_="transfer",
        cause=16,
        duration=30,
    ),
    ivr_case(K.DTMF, "2019-03-29-11-37-13", "n_79103880489", dtmf="1", type_="notify"),
    ivr_case(K.DTMF, "2019-03-29-11-37-13", "n_79103880489", dtmf="null", type_="notify"),
]
# "3. Общий пример": the four events of one call, the main h_ event last.
IVR_WHOLE_CALL = [
    ivr_case(K.CALL_STARTED, "2019-03-29-11-37-13", "o_79103880489"),
    ivr_case(
        K.TRANSFER_STARTED, "2019-03-29-11-37-55", "o_74997090111", dtmf="3", type_="transfer"
    ),
    ivr_case(
        K.TRANSFER_ENDED,
        "2019-03-29-11-38-45",
        "h_74997090111_16_30",
        dtmf="3",
        type_="transfer",
        cause=16,
        duration=30,
    ),
    ivr_case(K.CALL_ENDED, "2019-03-29-11-37-20", "h_79103880489_16_50", cause=16, duration=50),
]


@pytest.mark.parametrize(("body", "expected"), INFORMER_VECTORS + IVR_VECTORS + IVR_WHOLE_CALL)
def test_documented_call_events(body: str, expected: NormalizedEvent) -> None:
    assert parse_call_events(body) == [expected]
    assert parse_call_events(body.encode(), "application/json") == [expected]


def test_documented_example_blocks_parse_as_sequences() -> None:
    informer_block = "\n" + ",\n".join(body for body, _ in INFORMER_ANSWERED) + "\n"
    assert parse_call_events(informer_block) == [event for _, event in INFORMER_ANSWERED]
    whole_call = "\n".join(body for body, _ in IVR_WHOLE_CALL)
    assert parse_call_events(whole_call) == [event for _, event in IVR_WHOLE_CALL]


@pytest.mark.parametrize(("body", "expected"), IVR_VECTORS)
def test_every_documented_event_in_every_shape(body: str, expected: NormalizedEvent) -> None:
    fields = json.loads(body)
    pairs = urlencode(fields)
    shapes = [
        json.dumps([fields]),
        json.dumps({"data": fields}),
        json.dumps({"data": pairs}),
        json.dumps({"data": json.dumps(fields)}),
        pairs,
        urlencode({"data": pairs}),
        "{" + json.dumps(pairs) + "}",
        '{"data":{' + json.dumps(pairs) + "}},",
    ]
    for shape in shapes:
        assert parse_call_events(shape.encode(), "application/x-www-form-urlencoded") == [expected]


def test_a_json_array_keeps_body_order() -> None:
    body = json.dumps([json.loads(b) for b, _ in IVR_WHOLE_CALL])
    assert parse_call_events(body) == [event for _, event in IVR_WHOLE_CALL]


def test_non_numeric_id_is_kept_raw() -> None:
    body = '{"date_time": "2019-03-29-11-37-13", "id": "ab-1", "event": "o_79103880489"}'
    [event] = parse_call_events(body)
    assert (event.attempt_id, event.extra["id"]) == (None, "ab-1")


def test_json_numbers_and_missing_optional_fields() -> None:
    body = '{"id": 7, "event": "n_79103880489", "dtmf": 4}'
    assert parse_call_events(body) == [
        NormalizedEvent(
            kind=K.DTMF,
            attempt_id=7,
            number="79103880489",
            dtmf=4,
            extra={"event": "n_79103880489", "id": "7"},
        )
    ]
    assert parse_call_events('{"event": "n_79103880489", "dtmf": ""}')[0].dtmf is None
    assert parse_call_events('{"event": "n_79103880489", "dtmf": null}')[0].dtmf is None


def test_declared_charset_is_honoured() -> None:
    body = "date_time=2019-03-29-11-37-13&id=Ид&event=o_79103880489".encode("cp1251")
    [event] = parse_call_events(body, "application/x-www-form-urlencoded; charset=windows-1251")
    assert event.extra["id"] == "Ид"


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "{}",
        "[]",
        "null",
        "42",
        "hello",
        '{"date_time": "2019-03-29-11-37-13"}',
        '{"event": "s_79684881033_2019-05-23-15-15-30", "cause": "16"}',
        '{"event": "x_79103880489"}',
        '{"event": "o"}',
        '{"event": "o_791"}',
        '{"event": "o_79103880489_16"}',
        '{"event": "h_79103880489_16"}',
        '{"event": "h_79103880489_abc_4"}',
        '{"event": "h_79103880489_16_4.5"}',
        '{"event": "h_79103880489_16_-1"}',
        '{"event": "n_79103880489", "dtmf": "#"}',
        '{"event": "o_79103880489", "date_time": "2019-13-29-11-37-13"}',
        '{"event": "o_79103880489", "date_time": "29.03.2019 11:37:13"}',
        '{"event": {"nested": 1}}',
        '{"data": 5}',
        '{"data": ' * 8 + '"event=o_79103880489"' + "}" * 8,
        "[" * 5000,
        '{"a": ' * 3000,
        '{"date_time=2019-03-29-11-37-13&event=o_7910000000", "id": "1"}',
    ],
)
def test_unreadable_bodies_raise_event_parse_error(body: str) -> None:
    with pytest.raises(EventParseError):
        parse_call_events(body)


def test_undecodable_bytes_raise_event_parse_error() -> None:
    with pytest.raises(EventParseError):
        parse_call_events(b"\xff\xfe\xfa event=o_79103880489")


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
SMS_EXTRA = {"account_sid": "acc560115b3-4831-3618-9c44-959590da3d44", "hash": "view"}


def sms_status(status: str) -> NormalizedEvent:
    return NormalizedEvent(
        kind=K.SMS_STATUS,
        provider_id="msg96f3f40d-d0cf-3af4-99fc-b73653aa6f2e",
        number="79587643270",
        status=status,
        sender="79587625012",
        extra={**SMS_EXTRA, "direction": "outbound"},
    )


SMS_VECTORS = [
    *((SMS_OUTBOUND.format(status=s), sms_status(s)) for s in ("queued", "prebilling", "sent")),
    (SMS_OUTBOUND.format(status="delivered"), sms_status("delivered")),
    (
        SMS_INBOUND,
        NormalizedEvent(
            kind=K.SMS_INBOUND,
            provider_id="msg96f3f40d-d0cf-3af4-99fc-b73653aa6f2e",
            number="79587625012",
            status="received",
            text="Test inbound",
            sender="79587643270",
            extra={**SMS_EXTRA, "direction": "inbound"},
        ),
    ),
]


@pytest.mark.parametrize(("form", "expected"), SMS_VECTORS)
def test_documented_sms_events(form: str, expected: NormalizedEvent) -> None:
    from urllib.parse import parse_qsl

    fields = dict(parse_qsl(form))
    form_type = "application/x-www-form-urlencoded"
    assert parse_sms_event(fields) == expected
    assert parse_sms_body(form.encode(), form_type, {}) == expected  # POST
    assert parse_sms_body(b"", None, fields) == expected  # GET
    assert parse_sms_body(json.dumps(fields).encode(), "application/json", {}) == expected
    assert parse_sms_body(json.dumps({"data": form}).encode(), "application/json", {}) == expected


def test_sms_status_is_lower_cased_and_tag_is_the_attempt() -> None:
    event = parse_sms_event(
        {"direction": "OUTBOUND", "message_sid": "m", "status": "Delivered", "tag": "12"}
    )
    assert (event.kind, event.status, event.attempt_id) == (K.SMS_STATUS, "delivered", 12)


@pytest.mark.parametrize(
    "fields",
    [
        {"direction": "outbound", "status": "sent"},
        {"direction": "outbound", "message_sid": "m"},
        {"direction": "outbound", "message_sid": "", "status": "sent"},
        {"direction": "sideways", "message_sid": "m", "status": "sent"},
        {"message_sid": "m", "status": "sent"},
    ],
)
def test_incomplete_sms_events_raise(fields: dict[str, str]) -> None:
    with pytest.raises(EventParseError):
        parse_sms_event(fields)


@pytest.mark.parametrize("body", [b"[1]", b"hello", b"{", b'{"data": 1}', b"\xff\xfe"])
def test_unreadable_sms_bodies_raise(body: bytes) -> None:
    with pytest.raises(EventParseError):
        parse_sms_body(body, None, {})


ALL_EVENTS = [event for _, event in INFORMER_VECTORS + IVR_VECTORS + IVR_WHOLE_CALL + SMS_VECTORS]


def test_redelivery_in_another_shape_has_the_same_key() -> None:
    json_body, _ = IVR_VECTORS[6]
    form_body = urlencode(json.loads(json_body))
    [first] = parse_call_events(json_body)
    [again] = parse_call_events(form_body)
    assert dedupe_key(first) == dedupe_key(again)


def test_different_events_have_different_keys() -> None:
    distinct: list[NormalizedEvent] = []
    for event in ALL_EVENTS:  # the docs repeat some events verbatim
        if event not in distinct:
            distinct.append(event)
    keys = [dedupe_key(event) for event in distinct]
    assert len(set(keys)) == len(distinct)
    for key, event in zip(keys, distinct, strict=True):
        assert key.startswith(event.kind.value + ":")


def test_key_is_stable_across_equal_instants() -> None:
    event = ALL_EVENTS[0]
    assert event.occurred_at is not None
    utc = event.occurred_at.astimezone(ZoneInfo("UTC"))
    from dataclasses import replace

    assert dedupe_key(replace(event, occurred_at=utc)) == dedupe_key(event)


# -- fuzzing: any input is either events or EventParseError -------------------------------

EVENT_WORDS = st.sampled_from(
    ["o_79103880489", "h_79103880489_16_4", "n_79103880489", "h_7910000000_x_1", "o_", "n_1"]
)
FIELD_VALUES = st.one_of(st.text(max_size=20), EVENT_WORDS, st.integers(), st.none())
RECORDS = st.dictionaries(
    st.sampled_from(["date_time", "id", "CallID", "event", "dtmf", "type", "data"]),
    FIELD_VALUES,
)


def shapes(record: dict[str, object]) -> list[str]:
    text_fields = {k: "" if v is None else str(v) for k, v in record.items()}
    pairs = urlencode(text_fields)
    return [
        json.dumps(record),
        json.dumps([record, record]),
        json.dumps({"data": record}),
        pairs,
        "{" + json.dumps(pairs) + "},",
        '{"data":{' + json.dumps(pairs) + "}}",
    ]


def only_events_or_parse_error(body: bytes | str, content_type: str | None = None) -> None:
    try:
        events = parse_call_events(body, content_type)
    except EventParseError:
        return
    assert isinstance(events, list)
    assert events
    assert all(isinstance(event, NormalizedEvent) for event in events)
    for event in events:
        dedupe_key(event)


@settings(max_examples=400, deadline=None, database=None)
@given(st.binary(max_size=300), st.one_of(st.none(), st.text(max_size=40)))
def test_fuzz_random_bytes(body: bytes, content_type: str | None) -> None:
    only_events_or_parse_error(body, content_type)


@settings(max_examples=400, deadline=None, database=None)
@given(st.text(max_size=300))
def test_fuzz_random_text(body: str) -> None:
    only_events_or_parse_error(body)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet='{}[]",:=&_ \n0123456789aeodhnt', max_size=200))
def test_fuzz_json_like_text(body: str) -> None:
    only_events_or_parse_error(body)


@settings(max_examples=300, deadline=None, database=None)
@given(RECORDS)
def test_fuzz_documented_shapes_with_random_fields(record: dict[str, object]) -> None:
    for body in shapes(record):
        only_events_or_parse_error(body)


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.binary(max_size=200),
    st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=6),
)
def test_fuzz_sms_bodies(body: bytes, query: dict[str, str]) -> None:
    try:
        event = parse_sms_body(body, None, query)
    except EventParseError:
        return
    assert event.kind in (K.SMS_STATUS, K.SMS_INBOUND)
