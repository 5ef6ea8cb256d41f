"""The UIS notification set-up we ask for, and the pure parser of what it sends.

UIS sends no events per call: its notification service ("Уведомления") is set up in the
account, one notification per event type, each with a URL, a method and a template whose
``{{parameter}}`` placeholders UIS fills in. ``NOTIFICATIONS`` is the set-up (written out
for people in docs/callback-uis.md, rendered by ``body_template``/``query_template``); every
template carries a literal ``"event"`` naming the notification, so the parser never depends
on UIS's own event mnemonics. No I/O and no clock.

The operator's leg and the contact's leg of one call are told apart by
``called_phone_number``: the contact's leg calls ``contact_phone_number``. Without it a leg
event cannot be placed and is kept under its raw name (the channel ignores it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from dialer.errors import EventParseError
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.callback_events import CallbackEventKind, normalize_phone
from dialer.providers.event_shapes import decode_body

UIS_ZONE = "Europe/Moscow"
"""``notification_time`` has no zone; UIS shows times in the account's zone, Moscow unless
the account says otherwise (an assumption: docs/callback-uis.md)."""
MAX_FIELD_LENGTH = 512

COMMON_PARAMETERS = (
    "notification_mnemonic",
    "notification_time",
    "call_session_id",
    "external_id",
    "virtual_phone_number",
    "contact_phone_number",
    "called_phone_number",
)
"""UIS parameters every notification of the set-up sends."""
DURATION_PARAMETERS = ("talk_time_duration", "total_time_duration", "wait_time_duration")


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification to add in the UIS account: ``event`` is the literal we put in its
    template, ``uis_event`` the "Тип события" to choose, ``parameters`` its placeholders."""

    event: str
    uis_event: str
    parameters: tuple[str, ...]


NOTIFICATIONS = (
    Notification("call_started", "Исходящий звонок", COMMON_PARAMETERS),
    Notification("leg_ringing", "Ожидание ответа", COMMON_PARAMETERS),
    Notification("talk_started", "Начало разговора", COMMON_PARAMETERS),
    Notification(
        "talk_finished", "Окончание разговора", (*COMMON_PARAMETERS, "talk_time_duration")
    ),
    Notification("call_finished", "Завершение звонка", (*COMMON_PARAMETERS, *DURATION_PARAMETERS)),
)
NOTIFICATION_EVENTS = frozenset(notification.event for notification in NOTIFICATIONS)

_CALL_SESSION = re.compile(r"[0-9]{1,20}")
_ATTEMPT = re.compile(r"[0-9]{1,18}")
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
)
_CONSUMED = frozenset({"event", "call_session_id", "external_id", "outcome"})


def body_template(notification: Notification) -> str:
    """The POST body to enter in the UIS account: JSON whose values are UIS placeholders
    (UIS writes each value as JSON: numbers bare, text quoted, ``null`` when empty)."""
    lines = [f'  "event": "{notification.event}"']
    lines += [f'  "{name}": {{{{{name}}}}}' for name in notification.parameters]
    return "{\n" + ",\n".join(lines) + "\n}"


def query_template(notification: Notification) -> str:
    """The query string to append to the URL for a GET notification."""
    pairs = [f"event={notification.event}"]
    pairs += [f"{name}={{{{{name}}}}}" for name in notification.parameters]
    return "&".join(pairs)


def parse_uis_events(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> list[NormalizedEvent]:
    """The callback events in one UIS notification (GET query or POST JSON/form body; query
    fields win). Raises ``EventParseError`` only when the input cannot be read or names
    neither a call session nor an attempt."""
    fields = _body_fields(body, content_type)
    fields.update({str(key): _clip(str(value)) for key, value in query.items()})
    name = (fields.get("event") or fields.get("notification_mnemonic") or "").strip()
    if not _NAME.fullmatch(name):
        raise EventParseError(f"UIS notification: bad or missing event {name[:40]!r}")
    session = fields.get("call_session_id", "").strip()
    reference = fields.get("external_id", "").strip()
    attempt_id = int(reference) if _ATTEMPT.fullmatch(reference) else None
    if not _CALL_SESSION.fullmatch(session):
        if attempt_id is None:
            raise EventParseError(f"UIS notification {name}: no call_session_id nor external_id")
        session = ""
    contact = _phone(fields.get("contact_phone_number"))
    called = _phone(fields.get("called_phone_number"))
    leg = (
        None
        if called is None or contact is None
        else ("contact" if called == contact else "operator")
    )
    talk = _seconds(fields.get("talk_time_duration"))
    extra = {key: value for key, value in fields.items() if key not in _CONSUMED}
    status, number, duration = _normalise(name, leg, called, talk)
    if status == CallbackEventKind.END_SIDE_A and talk:
        extra["outcome"] = "connected"
    return [
        NormalizedEvent(
            kind=EventKind.CALLBACK,
            attempt_id=attempt_id,
            provider_id=session or None,
            number=number,
            duration=duration,
            status=str(status),
            occurred_at=notification_time(fields.get("notification_time")),
            extra=extra,
        )
    ]


def _normalise(
    name: str, leg: str | None, called: str | None, talk: int | None
) -> tuple[str, str | None, int | None]:
    """``(status, number, duration)`` of one notification of the set-up."""
    if name == "call_started":
        return CallbackEventKind.START_SIDE_A, None, None
    if name == "leg_ringing" and leg == "operator":
        return CallbackEventKind.START_SIDE_A, None, None
    if name == "leg_ringing" and leg == "contact":
        return CallbackEventKind.START_SIDE_B, None, None
    if name == "talk_started" and leg == "operator":
        # The operator took the call (and, with operator_confirmation, pressed a key).
        return CallbackEventKind.PICKUP_SIDE_A, called, None
    if name == "talk_started" and leg == "contact":
        return CallbackEventKind.START_TALK, None, None
    if name == "talk_finished" and leg == "contact":
        return CallbackEventKind.END_SIDE_B, None, talk
    if name == "call_finished":
        return CallbackEventKind.END_SIDE_A, None, talk
    return name, None, None


def notification_time(raw: str | None) -> datetime | None:
    """``2019-12-16 14:40:47.234`` (UIS zone) or ISO 8601 with a zone; ``None`` otherwise."""
    text = (raw or "").strip()
    if not text:
        return None
    if text.isdigit() and len(text) in (10, 13):
        return datetime.fromtimestamp(int(text) / (1000 if len(text) == 13 else 1), tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is not None:
        return parsed
    for layout in _TIME_FORMATS:
        try:
            naive = datetime.strptime(text, layout)  # noqa: DTZ007 - zone attached below
        except ValueError:
            continue
        return naive.replace(tzinfo=ZoneInfo(UIS_ZONE))
    return None


def _body_fields(body: bytes, content_type: str | None) -> dict[str, str]:
    text = decode_body(body, content_type)
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value: object = json.loads(text, parse_float=Decimal)
        except (ValueError, RecursionError) as exc:
            raise EventParseError("UIS notification: body is not a JSON object") from exc
        if not isinstance(value, dict):
            raise EventParseError("UIS notification: body is not a JSON object")
        return {str(key): _clip(_text(item)) for key, item in value.items() if item is not None}
    fields = {key: _clip(value) for key, value in parse_qsl(text, keep_blank_values=True)}
    if not fields:
        raise EventParseError("UIS notification: body is neither JSON nor a form")
    return fields


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _phone(raw: str | None) -> str | None:
    return normalize_phone(raw) if raw else None


def _seconds(raw: str | None) -> int | None:
    """Whole seconds (``12``, ``"12"``, ``12.0``); anything else is unknown."""
    if raw is None or not raw.strip():
        return None
    try:
        number = Decimal(raw.strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    return int(number)


def _clip(value: str) -> str:
    return value[:MAX_FIELD_LENGTH]
