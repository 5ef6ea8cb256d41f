"""Pure parser of MTT CallBack events: ``GET|POST <callBackURL>/event.php?event=...&id=...``.

The documented sequence (mtt-telecom-api.txt, "Уведомления о ходе вызова"):
``start_side_A`` (agents ringing), ``pickup_side_A`` (an agent answered; ``phone_A`` is the
agent's number), ``start_side_B`` (the contact is rung), ``start_talk``, ``end_side_B``,
``end_side_A``. Events carry no cause: the result comes from ``getCallBackFollowmeCallInfo``.

No I/O and no clock. Fields are read from the query string and, for a POST, from a form or
JSON body (query fields win). An event name outside the documented six is kept as
``CallbackEventKind.UNKNOWN`` with its raw name; ``EventParseError`` is raised only when there
is no event name or call id, or the input cannot be read at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from dialer.errors import EventParseError
from dialer.providers.event_shapes import decode_body
from dialer.providers.events import PLATFORM_ZONE

MAX_FIELD_LENGTH = 512
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_CALL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_PHONE_JUNK = re.compile(r"[\s+,;()\-.]")
_PHONE = re.compile(r"[0-9]{5,15}")
_TIME_FIELDS = ("date_time", "datetime", "time", "timestamp")
_TIME_FORMATS = ("%Y-%m-%d-%H-%M-%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")
_CORE_FIELDS = ("event", "id", "phone_A")


class CallbackEventKind(StrEnum):
    """The documented events, and ``UNKNOWN`` for any other name."""

    START_SIDE_A = "start_side_A"
    PICKUP_SIDE_A = "pickup_side_A"
    START_SIDE_B = "start_side_B"
    START_TALK = "start_talk"
    END_SIDE_B = "end_side_B"
    END_SIDE_A = "end_side_A"
    UNKNOWN = "unknown"


_KINDS = {
    kind.value.lower(): kind for kind in CallbackEventKind if kind is not CallbackEventKind.UNKNOWN
}


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """One event. ``name`` is the event as sent; ``phone`` digits only (``pickup_side_A``'s
    agent); ``occurred_at`` only when the event carries a time (the documented ones do not);
    ``extras`` every other field, as text."""

    kind: CallbackEventKind
    name: str
    call_id: str
    phone: str | None = None
    occurred_at: datetime | None = None
    extras: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        """``end_side_A`` closes the callback: fetch the call info for its result."""
        return self.kind is CallbackEventKind.END_SIDE_A


def parse_callback_event(
    query: str | Mapping[str, str],
    body: bytes | str = b"",
    content_type: str | None = None,
) -> CallbackEvent:
    """The event in one request. ``query`` is the raw query string (``event=...&id=...``) or
    its fields already decoded; ``body`` the POST body (form or JSON object), if any.

    Raises ``EventParseError`` when the event name or call id is missing or malformed, or the
    body is neither a form nor a JSON object.
    """
    fields = _body_fields(body, content_type)
    fields.update(_query_fields(query))
    name = fields.pop("event", "").strip()
    call_id = fields.pop("id", "").strip()
    if not _NAME.fullmatch(name):
        raise EventParseError(f"callback event: bad or missing event name {_short(name)}")
    if not _CALL_ID.fullmatch(call_id):
        raise EventParseError(f"callback event {name}: bad or missing id {_short(call_id)}")
    raw_phone = fields.pop("phone_A", None)
    phone = normalize_phone(raw_phone) if raw_phone is not None else None
    if raw_phone is not None and phone is None:
        fields["phone_A"] = raw_phone
    occurred_at = None
    for key in _TIME_FIELDS:
        if key in fields:
            occurred_at = _event_time(fields[key])
            if occurred_at is not None:
                del fields[key]
                break
    return CallbackEvent(
        kind=_KINDS.get(name.lower(), CallbackEventKind.UNKNOWN),
        name=name,
        call_id=call_id,
        phone=phone,
        occurred_at=occurred_at,
        extras=fields,
    )


def normalize_phone(raw: str) -> str | None:
    """``"+79161234567"``, ``" 79161234567"`` (a ``+`` decoded as a space), ``"79161234567,"``
    -> ``"79161234567"``; ``None`` when what remains is not 5-15 digits."""
    digits = _PHONE_JUNK.sub("", raw)
    return digits if _PHONE.fullmatch(digits) else None


def dedupe_key(event: CallbackEvent) -> str:
    """Same call, same event name -> same key: MTT's repeats of one event collapse.
    ``UNKNOWN`` names keep their raw text so different unknown events stay apart."""
    return f"mtt-callback:{event.call_id}:{event.name.lower()}"


def _query_fields(query: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(query, str):
        return _pairs(query.lstrip("?"))
    return {str(key): _clip(str(value)) for key, value in query.items()}


def _body_fields(body: bytes | str, content_type: str | None) -> dict[str, str]:
    text = decode_body(body, content_type).strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value: object = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise EventParseError("callback event: body is not a JSON object") from exc
        if not isinstance(value, dict):
            raise EventParseError("callback event: body is not a JSON object")
        return {
            str(key): _clip(item if isinstance(item, str) else json.dumps(item))
            for key, item in value.items()
            if item is not None
        }
    fields = _pairs(text)
    if not fields:
        raise EventParseError("callback event: body is neither a form nor a JSON object")
    return fields


def _pairs(text: str) -> dict[str, str]:
    return {key: _clip(value) for key, value in parse_qsl(text, keep_blank_values=True)}


def _event_time(raw: str) -> datetime | None:
    text = raw.strip()
    if text.isdigit() and len(text) in (10, 13):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    for layout in _TIME_FORMATS:
        try:
            naive = datetime.strptime(text, layout)  # noqa: DTZ007 - zone attached below
        except ValueError:
            continue
        # No zone is documented; like the sb-api events, take MTT's home zone.
        return naive.replace(tzinfo=ZoneInfo(PLATFORM_ZONE))
    return None


def _clip(value: str) -> str:
    return value[:MAX_FIELD_LENGTH]


def _short(text: str) -> str:
    return repr(text[:40] + ("..." if len(text) > 40 else ""))
