"""The Bitrix24 event parser on every documented event shape: OnVoximplantCallInit (both
tabs), OnVoximplantCallStart, OnVoximplantCallEnd (apidocs.bitrix24.com .../voximplant/
events/*.html), as the pages print them (JSON) and as an outbound webhook sends them
(``application/x-www-form-urlencoded``, PHP-style nested keys)."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from dialer.errors import EventParseError, EventRejectedError
from dialer.providers.base import EventKind
from dialer.providers.bitrix24_events import (
    bitrix24_parser,
    call_end_outcome,
    is_callback_event,
    parse_bitrix24_events,
    read_bitrix24_event,
    redact_bitrix24_raw,
    token_matches,
)
from dialer.settings import get_settings

TOKEN_INIT = "52610fefc120afg4b628cc82d6298cce"  # the CallInit page's example
TOKEN = "51610fefc120afg4b628cc82d6298cce"  # the CallStart and CallEnd pages'
FORM = "application/x-www-form-urlencoded"


def _auth(token: str) -> dict[str, str]:
    return {
        "access_token": "s7p6eclrvim9da98dt9ch94ekreb52sv",
        "expires_in": "3600",
        "scope": "telephony",
        "domain": "some-domain.bitrix24.com",
        "server_endpoint": "https://oauth.bitrix.info/rest/",
        "status": "F",
        "client_endpoint": "https://example.bitrix24.com/rest/",
        "member_id": "a223c6b9410f85df73e9377d6c4f7213",
        "refresh_token": "4s386p3q0tr8dy09xvmt96234v3dljg8",
        "application_token": token,
    }


INIT_SIP: dict[str, Any] = {
    "event": "ONVOXIMPLANTCALLINIT",
    "event_handler_id": "1057",
    "data": {
        "CALL_ID": "5E316880469A6376.1773306964.8740011",
        "CALL_TYPE": "1",
        "ACCOUNT_SEARCH_ID": "reg150908",
        "PHONE_NUMBER": "+19999999666",
        "CALLER_ID": "reg150908",
    },
    "ts": "1773306964",
    "auth": _auth(TOKEN_INIT),
}
INIT_APP: dict[str, Any] = {
    "event": "ONVOXIMPLANTCALLINIT",
    "event_handler_id": "1057",
    "data": {
        "CALL_ID": "externalCall.7b0c7de811455ef32b18dc5917e4306a.1773239327",
        "CALL_TYPE": "1",
        "CALLER_ID": "+19061234567",
        "REST_APP_ID": "3",
    },
    "ts": "1773239326",
    "auth": _auth(TOKEN_INIT),
}
START: dict[str, Any] = {
    "event": "ONVOXIMPLANTCALLSTART",
    "event_handler_id": "1059",
    "data": {
        "CALL_ID": "externalCall.7b0c7de811455ef32b18dc5917e4306a.1773239327",
        "USER_ID": "1269",
    },
    "ts": "1773239326",
    "auth": _auth(TOKEN),
}
END: dict[str, Any] = {
    "event": "ONVOXIMPLANTCALLEND",
    "event_handler_id": "1061",
    "data": {
        "CALL_ID": "externalCall.7b0c7de811455ef32b18dc5917e4306a.1773239327",
        "CALL_TYPE": "1",
        "PHONE_NUMBER": "+19061234567",
        "PORTAL_NUMBER": "REST_APP:",
        "PORTAL_USER_ID": "1269",
        "CALL_DURATION": "0",
        "CALL_START_DATE": "2026-03-11T17:28:46+02:00",
        "COST": "0",
        "COST_CURRENCY": "",
        "CALL_FAILED_CODE": "304",
        "CALL_FAILED_REASON": "Call canceled",
        "CRM_ACTIVITY_ID": "7953",
    },
    "ts": "1773239624",
    "auth": _auth(TOKEN),
}


def form(document: dict[str, Any]) -> bytes:
    """``document`` as PHP's http_build_query (and so Bitrix24's event queue) encodes it."""
    pairs: list[tuple[str, str]] = []
    for key, value in document.items():
        if isinstance(value, dict):
            pairs.extend((f"{key}[{sub}]", str(item)) for sub, item in value.items())
        else:
            pairs.append((key, str(value)))
    return urlencode(pairs).encode()


def both_shapes(document: dict[str, Any]) -> list[tuple[bytes, str]]:
    return [
        (form(document), FORM),
        (json.dumps(document, indent=4).encode(), "application/json"),
    ]


def read(document: dict[str, Any], token: str = TOKEN) -> Any:
    results = [
        read_bitrix24_event(body, content_type, expected_token=SecretStr(token))
        for body, content_type in both_shapes(document)
    ]
    assert results[0] == results[1]  # the form and the JSON say the same
    return results[0]


def test_the_form_is_percent_encoded_like_php() -> None:
    assert b"data%5BCALL_ID%5D=externalCall." in form(START)
    assert b"auth%5Bapplication_token%5D=" + TOKEN.encode() in form(START)


@pytest.mark.parametrize("document", [INIT_SIP, INIT_APP])
def test_call_init_is_the_agents_being_rung(document: dict[str, Any]) -> None:
    event = read(document, TOKEN_INIT)
    assert event.kind is EventKind.CALLBACK
    assert event.status == "start_side_A"
    assert event.provider_id == document["data"]["CALL_ID"]
    assert event.attempt_id is None  # nothing we send comes back
    assert event.number is None
    assert event.extra["call_type"] == "1"
    assert event.extra["event_handler_id"] == "1057"
    assert not {key for key in event.extra if "token" in key or key in ("domain", "member_id")}


def test_call_init_fields() -> None:
    sip = read(INIT_SIP, TOKEN_INIT)
    assert sip.extra["line"] == "reg150908"
    assert sip.extra["phone"] == "19999999666"
    assert sip.extra["caller_id"] == "reg150908"
    app = read(INIT_APP, TOKEN_INIT)
    assert app.extra["rest_app_id"] == "3"
    assert "line" not in app.extra


def test_call_start_is_the_pickup_by_an_employee() -> None:
    event = read(START)
    assert event.status == "pickup_side_A"
    assert event.number == "1269"  # USER_ID: the employee the line's queue reached
    assert event.extra["user_id"] == "1269"
    assert "call_type" not in event.extra


def test_call_end_as_documented_is_untold() -> None:
    """304 "Call canceled", 0 s: either leg may have ended so; the channel decides."""
    event = read(END)
    assert event.status == "end_side_A"
    assert "outcome" not in event.extra
    assert event.duration is None
    assert event.extra["failed_code"] == "304"
    assert event.extra["failed_reason"] == "Call canceled"
    assert event.extra["call_duration"] == "0"
    assert event.extra["portal_number"] == "REST_APP:"
    assert event.extra["user_id"] == "1269"
    assert event.extra["phone"] == "19061234567"
    assert event.extra["crm_activity_id"] == "7953"
    assert event.extra["cost_currency"] == ""


@pytest.mark.parametrize(
    ("code", "duration", "outcome", "talk"),
    [
        ("200", "95", "connected", 95),
        ("200", "0", None, None),
        ("200", "", None, None),
        ("486", "0", "busy", None),
        ("603", "0", "rejected", None),
        ("480", "0", "unreachable", None),
        ("404", "0", "unreachable", None),
        ("484", "0", "unreachable", None),
        ("503", "0", "unreachable", None),
        ("304", "0", None, None),
        ("603-S", "0", None, None),
        ("603-s", "0", None, None),
        ("402", "0", None, None),
        ("403", "0", None, None),
        ("423", "0", None, None),
        ("OTHER", "0", None, None),
        ("", "", None, None),
        ("999", "12", None, None),
    ],
)
def test_call_failed_codes(code: str, duration: str, outcome: str | None, talk: int | None) -> None:
    assert call_end_outcome(code, duration) == (outcome, talk)
    document = copy.deepcopy(END)
    document["data"].update(CALL_FAILED_CODE=code, CALL_DURATION=duration, CALL_TYPE="4")
    event = read(document)
    assert event.extra.get("outcome") == outcome
    assert event.duration == talk


def test_event_names_in_any_case() -> None:
    document = {**START, "event": "OnVoximplantCallStart"}
    assert read(document).status == "pickup_side_A"


def test_an_unknown_event_keeps_its_name() -> None:
    document = {**START, "event": "ONVOXIMPLANTCALLTRANSFER"}
    assert read(document).status == "ONVOXIMPLANTCALLTRANSFER"


def test_a_non_numeric_user_is_kept_aside() -> None:
    document = copy.deepcopy(START)
    document["data"]["USER_ID"] = "admin"
    event = read(document)
    assert event.number is None
    assert event.extra["user_id"] == "admin"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (TOKEN, TOKEN),
        ("wrong", TOKEN),
        ("", TOKEN),
        (TOKEN, ""),  # no token configured: nothing is accepted
        (TOKEN[:-1], TOKEN),
    ],
)
def test_the_application_token(token: str, expected: str) -> None:
    document = copy.deepcopy(START)
    document["auth"]["application_token"] = token
    for body, content_type in both_shapes(document):
        if token == expected and expected:
            read_bitrix24_event(body, content_type, expected_token=SecretStr(expected))
        else:
            with pytest.raises(EventRejectedError):
                read_bitrix24_event(body, content_type, expected_token=SecretStr(expected))


def test_the_token_is_checked_before_anything_else() -> None:
    """A forged body is rejected whatever else is wrong with it, so it is never kept."""
    for body in (b"event=X", b'{"data": {}}', b"garbage"):
        with pytest.raises(EventRejectedError):
            read_bitrix24_event(body, FORM, expected_token=SecretStr(TOKEN))
    document = copy.deepcopy(START)
    del document["auth"]
    with pytest.raises(EventRejectedError):
        read(document)
    assert issubclass(EventRejectedError, EventParseError)


def test_token_matches_in_constant_time_and_never_on_empty() -> None:
    assert token_matches(TOKEN, SecretStr(TOKEN))
    assert not token_matches("", SecretStr(""))
    assert not token_matches("ы", SecretStr(TOKEN))


@pytest.mark.parametrize("body", [b"", b"   ", b"[1, 2]", b"{not json", b"\xff\xfe\x00"])
def test_unreadable_bodies_are_unauthenticated(body: bytes) -> None:
    with pytest.raises(EventRejectedError):
        read_bitrix24_event(body, FORM, expected_token=SecretStr(TOKEN))


@pytest.mark.parametrize(
    "body",
    [
        form({"auth": {"application_token": TOKEN}}),  # no event name
        form({"event": "ONVOXIMPLANTCALLEND", "auth": {"application_token": TOKEN}}),
        form(
            {
                "event": "ONVOXIMPLANTCALLEND",
                "data": {"CALL_ID": "bad id with spaces"},
                "auth": {"application_token": TOKEN},
            }
        ),
    ],
)
def test_authenticated_events_without_a_call(body: bytes) -> None:
    with pytest.raises(EventParseError) as caught:
        read_bitrix24_event(body, FORM, expected_token=SecretStr(TOKEN))
    assert not isinstance(caught.value, EventRejectedError)  # kept as invalid, answered 400


def test_too_many_fields() -> None:
    body = form(START) + b"&" + b"&".join(b"x%d=1" % n for n in range(300))
    with pytest.raises(EventRejectedError):
        read_bitrix24_event(body, FORM, expected_token=SecretStr(TOKEN))


def test_callback_events_and_the_others() -> None:
    ours = copy.deepcopy(END)
    ours["data"]["CALL_TYPE"] = "4"
    assert is_callback_event(read(ours))
    assert not is_callback_event(read(END))  # CALL_TYPE 1: an outgoing call of the portal
    assert is_callback_event(read(START))  # no type: may be ours


def test_the_collector_parser_reads_the_configured_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_BITRIX24_APPLICATION_TOKEN", TOKEN)
    get_settings.cache_clear()
    try:
        (event,) = parse_bitrix24_events(form(START), FORM, {})
        assert event.status == "pickup_side_A"
        monkeypatch.setenv("DIALER_BITRIX24_APPLICATION_TOKEN", "another-token-entirely")
        get_settings.cache_clear()
        with pytest.raises(EventRejectedError):
            parse_bitrix24_events(form(START), FORM, {})
    finally:
        get_settings.cache_clear()


def test_a_parser_bound_to_a_token() -> None:
    parse = bitrix24_parser(SecretStr(TOKEN))
    (event,) = parse(form(END), FORM, {"token": "ignored"})
    assert event.status == "end_side_A"
    with pytest.raises(EventRejectedError):
        bitrix24_parser(SecretStr("other"))(form(END), FORM, {})


def test_raw_requests_lose_every_auth_value() -> None:
    secrets = ("s7p6eclrvim9da98dt9ch94ekreb52sv", "4s386p3q0tr8dy09xvmt96234v3dljg8", TOKEN)
    for body, _ in both_shapes(START):
        raw = f"POST {FORM}\n?\n{body.decode()}"
        redacted = redact_bitrix24_raw(raw)
        assert not [secret for secret in secrets if secret in redacted]
        assert "externalCall.7b0c7de811455ef32b18dc5917e4306a.1773239327" in redacted
    plain = "event=X&auth[application_token]=abc&data[CALL_ID]=1"
    assert redact_bitrix24_raw(plain) == "event=X&auth[application_token]=***&data[CALL_ID]=1"
