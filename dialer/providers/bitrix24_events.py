"""Pure parser of Bitrix24's telephony events, POSTed by the portal's outbound webhook to
``/hooks/<token>/bitrix24``: ``OnVoximplantCallInit``, ``OnVoximplantCallStart``,
``OnVoximplantCallEnd``.

Shape (https://apidocs.bitrix24.com/local-integrations/local-webhooks.html): "Data arrives
as HTTP request parameters with the ``application/x-www-form-urlencoded`` type", PHP-style
nested keys: ``event=ONVOXIMPLANTCALLEND&data[CALL_ID]=...&ts=...&auth[application_token]=
...``. The event pages print the same as JSON objects; both are read. A request is taken
only when ``auth[application_token]`` equals ours (compared in constant time): else
``EventRejectedError`` and nothing of it is kept.

What each event becomes (docs/callback-bitrix24.md says why):

- ``OnVoximplantCallInit`` (raised by ``voximplant.callback.start``) -> ``start_side_A``;
- ``OnVoximplantCallStart`` ("when the operator answers an incoming call" - a callback's
  first leg is an inbound call to the line) -> ``pickup_side_A``, ``number`` = the
  employee's ``USER_ID``;
- ``OnVoximplantCallEnd`` -> ``end_side_A`` (the whole call is over), with
  ``extra["outcome"]`` when ``CALL_FAILED_CODE`` says how unambiguously and ``duration`` =
  ``CALL_DURATION`` for a call that talked.

The docs name no event for the contact's leg (ringing, answer, hang-up), so
``start_side_B``, ``start_talk`` and ``end_side_B`` never come from Bitrix24. Nothing we send
is echoed: ``attempt_id`` is always ``None``; events match by ``CALL_ID``.

No I/O and no clock (``parse_bitrix24_events`` reads the configured token once per call).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from pydantic import SecretStr

from dialer.errors import EventParseError, EventRejectedError
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.event_shapes import decode_body

CALL_INIT = "ONVOXIMPLANTCALLINIT"
CALL_START = "ONVOXIMPLANTCALLSTART"
CALL_END = "ONVOXIMPLANTCALLEND"
STATUSES = {CALL_INIT: "start_side_A", CALL_START: "pickup_side_A", CALL_END: "end_side_A"}
"""Event name (upper-cased: the pages title them ``OnVoximplantCallInit``, the payloads say
``ONVOXIMPLANTCALLINIT``) -> normalised callback status."""

TOLD_OUTCOMES = {
    "486": "busy",
    "603": "rejected",
    "480": "unreachable",
    "404": "unreachable",
    "484": "unreachable",
    "503": "unreachable",
}
"""``CALL_FAILED_CODE`` -> outcome, for the codes that can only be the contact's leg's end
(busy, declined, unavailable, invalid number, direction unavailable). ``200`` is
``connected`` when ``CALL_DURATION`` > 0. ``304`` (missed), ``603-S`` (canceled), ``402``,
``403``, ``423`` and ``OTHER`` could end either leg: no outcome is told and the channel
judges from the events seen (a pickup or not)."""
CALLBACK_CALL_TYPE = "4"
"""``CALL_TYPE`` of a callback (the call-type table); other types are not ours."""

MAX_FIELDS = 200
MAX_FIELD_LENGTH = 512
_CALL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_PHONE_JUNK = re.compile(r"[\s+()\-.]")
_TOKEN_KEY = "auth[application_token]"
_DATA_FIELDS = {
    "CALL_TYPE": "call_type",
    "ACCOUNT_SEARCH_ID": "line",
    "CALLER_ID": "caller_id",
    "PHONE_NUMBER": "phone",
    "PORTAL_NUMBER": "portal_number",
    "PORTAL_USER_ID": "user_id",
    "USER_ID": "user_id",
    "REST_APP_ID": "rest_app_id",
    "CALL_DURATION": "call_duration",
    "CALL_START_DATE": "call_start_date",
    "COST": "cost",
    "COST_CURRENCY": "cost_currency",
    "CALL_FAILED_CODE": "failed_code",
    "CALL_FAILED_REASON": "failed_reason",
    "CRM_ACTIVITY_ID": "crm_activity_id",
}
"""``data[...]`` fields kept in ``extra`` (under these names). ``auth[...]`` never is."""
_TOP_FIELDS = {"ts": "ts", "event_handler_id": "event_handler_id"}
_AUTH_VALUE = re.compile(
    r"(?P<key>auth(?:\[|%5B)[A-Za-z_]+(?:\]|%5D)=)[^&\s]*"
    r"|(?P<json>\"(?:access_token|refresh_token|application_token)\"\s*:\s*\")[^\"]*",
    re.IGNORECASE,
)


def parse_bitrix24_events(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> list[NormalizedEvent]:
    """The collector's parser (``Hook.parse``): ``read_bitrix24_event`` against the
    configured ``DIALER_BITRIX24_APPLICATION_TOKEN``. ``query`` is not used: Bitrix24 puts
    everything in the body."""
    from dialer.settings import get_settings

    token = get_settings().bitrix24_application_token
    return [read_bitrix24_event(body, content_type, expected_token=token)]


def bitrix24_parser(
    expected_token: SecretStr,
) -> Callable[[bytes, str | None, Mapping[str, str]], list[NormalizedEvent]]:
    """A ``Hook.parse`` bound to ``expected_token``: for a collector that builds its routes
    from the ``Settings`` it was given rather than the process-wide ones."""

    def parse(
        body: bytes, content_type: str | None, query: Mapping[str, str]
    ) -> list[NormalizedEvent]:
        return [read_bitrix24_event(body, content_type, expected_token=expected_token)]

    return parse


def read_bitrix24_event(
    body: bytes | str, content_type: str | None, *, expected_token: SecretStr
) -> NormalizedEvent:
    """The event in one request.

    Raises ``EventRejectedError`` when ``auth[application_token]`` is missing, unreadable
    (the body is no form or JSON object) or differs from ``expected_token`` (an empty
    expected token rejects everything), checked before any other field is read; then
    ``EventParseError`` when an authenticated event has no event name or no usable
    ``data[CALL_ID]``.
    """
    try:
        fields = _fields(body, content_type)
    except EventParseError as exc:
        # What cannot be read cannot prove where it comes from: never kept either.
        raise EventRejectedError(f"{exc}; no readable auth[application_token]") from exc
    if not token_matches(fields.get(_TOKEN_KEY, ""), expected_token):
        raise EventRejectedError("bitrix24 event: auth[application_token] missing or wrong")
    name = fields.get("event", "").strip()
    if not name:
        raise EventParseError("bitrix24 event: no event name")
    call_id = fields.get("data[CALL_ID]", "").strip()
    if not _CALL_ID.fullmatch(call_id):
        raise EventParseError(f"bitrix24 event {name[:40]}: bad or missing data[CALL_ID]")
    extra = _extra(fields)
    upper = name.upper()
    status = STATUSES.get(upper, name[:64])
    number = None
    duration = None
    if upper == CALL_START:
        user = extra.get("user_id", "")
        number = user if _DIGITS.fullmatch(user) else None
    elif upper == CALL_END:
        outcome, duration = call_end_outcome(
            extra.get("failed_code", ""), extra.get("call_duration", "")
        )
        if outcome is not None:
            extra["outcome"] = outcome
    return NormalizedEvent(
        kind=EventKind.CALLBACK,
        provider_id=call_id,
        number=number,
        duration=duration,
        status=status,
        extra=extra,
    )


def call_end_outcome(failed_code: str, call_duration: str) -> tuple[str | None, int | None]:
    """``(outcome, talk seconds)`` told by ``OnVoximplantCallEnd``; ``(None, None)`` when
    the code does not say which leg ended how (see ``TOLD_OUTCOMES``)."""
    code = failed_code.strip().upper()
    if code == "200":
        seconds = int(call_duration) if _DIGITS.fullmatch(call_duration.strip()) else 0
        return ("connected", seconds) if seconds > 0 else (None, None)
    return TOLD_OUTCOMES.get(code), None


def token_matches(given: str, expected: SecretStr) -> bool:
    """Whether ``given`` is the configured application token, in constant time; nothing
    matches an empty configured token."""
    secret = expected.get_secret_value()
    if not secret:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8"))


def is_callback_event(event: NormalizedEvent) -> bool:
    """``False`` for an event that says it is not a callback (``CALL_TYPE`` other than 4):
    the portal's outbound webhook reports every call, manual ones included. Events that
    carry no type (``OnVoximplantCallStart``) may be ours."""
    call_type = event.extra.get("call_type")
    return call_type is None or call_type == CALLBACK_CALL_TYPE


def redact_bitrix24_raw(text: str) -> str:
    """``text`` (a stored raw request) with every ``auth[...]`` value, form-encoded or JSON,
    replaced by ``***``: events carry the application token and, from applications, OAuth
    tokens."""
    return _AUTH_VALUE.sub(lambda match: (match.group("key") or match.group("json")) + "***", text)


def _fields(body: bytes | str, content_type: str | None) -> dict[str, str]:
    """Every field as ``key`` or ``outer[inner]`` -> text, from a form or a JSON object."""
    text = decode_body(body, content_type)
    if not text:
        raise EventParseError("bitrix24 event: empty body")
    if text.startswith("{"):
        try:
            value: object = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise EventParseError("bitrix24 event: body is not a JSON object") from exc
        if not isinstance(value, dict):
            raise EventParseError("bitrix24 event: body is not a JSON object")
        return _flatten(value)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise EventParseError("bitrix24 event: too many form fields") from exc
    if not pairs:
        raise EventParseError("bitrix24 event: body is neither a form nor a JSON object")
    return {key: value[:MAX_FIELD_LENGTH] for key, value in pairs}


def _flatten(document: dict[str, object]) -> dict[str, str]:
    """``{"data": {"CALL_ID": "x"}}`` -> ``{"data[CALL_ID]": "x"}``, one level deep (the
    events nest no further); scalars as text, ``null`` dropped."""
    fields: dict[str, str] = {}
    for key, value in list(document.items())[:MAX_FIELDS]:
        inner = value if isinstance(value, dict) else {None: value}
        for sub, item in inner.items():
            if item is None or isinstance(item, dict | list):
                continue
            name = str(key) if sub is None else f"{key}[{sub}]"
            text = item if isinstance(item, str) else json.dumps(item)
            fields[name] = text[:MAX_FIELD_LENGTH]
    return fields


def _extra(fields: Mapping[str, str]) -> dict[str, str]:
    extra = {
        label: fields[f"data[{key}]"].strip()
        for key, label in _DATA_FIELDS.items()
        if f"data[{key}]" in fields
    }
    extra.update(
        (label, fields[key].strip()) for key, label in _TOP_FIELDS.items() if key in fields
    )
    if "phone" in extra:
        # "+19061234567" in the examples: digits only, like every number we store.
        extra["phone"] = _PHONE_JUNK.sub("", extra["phone"])
    return extra
