"""Validation of sb-api requests (informer and ``ivr-api``), pure.

Checks run in this order (the docs give no order; this one lets every documented body occur):
method, messId, sip_id, b_number, a_number, messText, then the IVR menu. Error texts are the
documented ones where the docs give them; the others copy their style and are marked below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from dialer.simulator.config import SimulatorConfig
from dialer.simulator.encoding import (
    access_forbidden,
    json_bytes,
    sb_error,
    sb_error_without_mess_id,
    sb_forbidden,
)
from dialer.simulator.outcomes import MenuAction
from dialer.simulator.records import IVR_METHOD, CallSpec, MenuItem

_E164 = re.compile(r"[0-9]{11}")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request: the HTTP status, the exact body, and a short reason for stats."""

    status_code: int
    body: bytes
    reason: str


class _Invalid(Exception):
    def __init__(self, error: str, reason: str) -> None:
        super().__init__(error)
        self.error = error
        self.reason = reason


def validate_call_request(
    body: object, config: SimulatorConfig, call_id: str
) -> CallSpec | Refusal:
    """A ``CallSpec`` for a valid request, else the ``Refusal`` MTT would answer.

    ``call_id`` is the CallID this request gets; MTT puts one in error answers too.
    """
    if not isinstance(body, Mapping):
        # Undocumented: a body that is not a JSON object.
        return Refusal(400, json_bytes({"message": "invalid request body"}), "body")
    method = body.get("method")
    if method not in (config.informer_method, IVR_METHOD):
        # The docs give the body but not the status; 403 is our choice.
        return Refusal(403, access_forbidden(), "method")
    assert isinstance(method, str)
    raw_data = body.get("data")
    data: Mapping[str, object] = raw_data if isinstance(raw_data, Mapping) else {}
    mess_id = _text(data.get("messId"))
    if mess_id is None:
        error = '"messId" not found in request body'
        return Refusal(200, sb_error_without_mess_id(error, call_id), "messId")
    if _text(data.get("sip_id")) != config.sip_id:
        return Refusal(200, sb_forbidden(mess_id, call_id), "sip_id")
    try:
        spec = _call_spec(method, mess_id, data, body, config)
    except _Invalid as invalid:
        return Refusal(200, sb_error(invalid.error, mess_id, call_id), invalid.reason)
    return spec


def _call_spec(
    method: str,
    mess_id: str,
    data: Mapping[str, object],
    body: Mapping[str, object],
    config: SimulatorConfig,
) -> CallSpec:
    b_number = e164(data.get("b_number"))
    if b_number is None:
        raise _Invalid('"b_number" should be in e164 format', "b_number")
    is_ivr = method == IVR_METHOD
    raw_a = data.get("a_number")
    a_number = e164(raw_a)
    if a_number is None and (raw_a is not None or is_ivr):  # required for ivr-api
        raise _Invalid('"a_number" should be in e164 format', "a_number")
    text = _text(data.get("messText"))
    if text is None:
        # Undocumented text, in the style of the messId error.
        raise _Invalid('"messText" not found in request body', "messText")
    # The docs' table puts ``dtmf`` beside ``data``, their example inside it: accept both.
    menu = _menu(data.get("dtmf", body.get("dtmf")), config) if is_ivr else ()
    return CallSpec(method, mess_id, b_number, a_number or config.sip_id, text, menu)


def _menu(raw: object, config: SimulatorConfig) -> tuple[MenuItem, ...]:
    # Only the notify-URL error text is documented; the other texts are ours.
    if not isinstance(raw, list) or not raw:
        raise _Invalid('"dtmf" not found in request body', "dtmf")
    items: list[MenuItem] = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise _Invalid('"dtmf" should be a list of objects', "dtmf")
        digit = _digit(entry.get("dtmf_id"))
        if digit is None:
            raise _Invalid('"dtmf_id" should be a digit from 1 to 9', "dtmf_id")
        if any(item.digit == digit for item in items):
            raise _Invalid('"dtmf_id" values should be unique', "dtmf_id")
        action = entry.get("type")
        value = entry.get("value")
        if action == "notify":
            if not _allowed_url(value, config.allow_http_notify):
                raise _Invalid('"notify" value is not allowed', "notify")
        elif action == "transfer":
            if e164(value) is None:
                raise _Invalid('"transfer" value should be in e164 format', "transfer")
        else:
            raise _Invalid('"type" value is not allowed', "type")
        assert isinstance(value, str)
        checked: MenuAction = "notify" if action == "notify" else "transfer"
        items.append(MenuItem(digit, checked, value))
    return tuple(items)


def _text(value: object) -> str | None:
    """A non-empty string or integer as text; anything else is missing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def e164(value: object) -> str | None:
    """Exactly 11 digits (E.164 without ``+``), given as a string."""
    if isinstance(value, str) and _E164.fullmatch(value):
        return value
    return None


def _digit(value: object) -> int | None:
    text = _text(value)
    if text is None or len(text) != 1 or text not in "123456789":
        return None
    return int(text)


def _allowed_url(value: object, allow_http: bool) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    schemes = ("https", "http") if allow_http else ("https",)
    return parts.scheme in schemes and bool(parts.netloc)
