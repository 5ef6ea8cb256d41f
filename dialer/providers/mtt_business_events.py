"""Pure parser of MTT Business call notifications (mtt-business-openapi.txt 10.1.x): JSON
POSTs ``{"event": "callNotifications", "result": {"callInfo": {...}}}`` to the
integration's Redirect URI, one per state of one call leg.

The states and what they become (the normalised callback names of ``CallbackChannel``):

- ``trying`` (the call starts) and ``showing`` (it is shown on the workplace: the agent's
  phone rings) -> ``start_side_A``;
- ``connected`` ("соединение вызова с РМ оператора": the workplace answered; ``makeCall``
  calls the contact only after that, 10.3.1) -> ``pickup_side_A``, ``number`` = the
  workplace's SIP ID;
- ``finished`` (the call is over) -> ``end_side_A`` with ``duration``; a ``duration`` above
  0 is the conversation (the doc's successful calls last 3-4 s, not counting the ringing),
  so it is stated as ``extra["outcome"] = "connected"``; otherwise no outcome is stated and
  the events seen decide (an agent who answered: ``no_answer``; none: ``agent_no_answer``);
- ``hiding`` (the call left the workplace), ``recorded`` (``extra["record_url"]``) and any
  other state keep their raw name.

Notifications carry no id of ours and the doc does not promise that ``makeCall``'s call id
reappears: ``provider_id`` is the notification's ``call.id`` and ``extra`` holds the
contact (``contact``), the workplace (``workplace``) and the leg's ``tag``;
``match_notification`` finds the attempt. The mobile app duplicates notifications (6.5):
an event is built only from fields a repeat shares, so a repeat is the same event and the
inbox stores it once. ``vpbxNotifications`` (settings changed) and unknown event names give
one event with no call (``provider_id`` ``None``), ``status`` = the ``eventType`` or name: no
attempt takes it.

No I/O and no clock. ``EventParseError`` only for a body that is not a JSON object, a
call notification without ``callInfo`` or ``call.id``, or undecodable bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialer.errors import EventParseError
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.callback_events import CallbackEventKind
from dialer.providers.event_shapes import decode_body
from dialer.providers.events import PLATFORM_ZONE
from dialer.providers.loose_json import strip_trailing_commas

CALL_EVENT = "callNotifications"
SETTINGS_EVENTS = frozenset({"vpbxnotifications", "vrbxnotifications"})
"""9.4/9.5: the example says ``vpbxNotifications``, 9.4's table ``vrbxNotifications``."""
STATES: Mapping[str, str] = {
    "trying": CallbackEventKind.START_SIDE_A,
    "showing": CallbackEventKind.START_SIDE_A,
    "connected": CallbackEventKind.PICKUP_SIDE_A,
    "finished": CallbackEventKind.END_SIDE_A,
}
MATCH_WINDOW = timedelta(minutes=10)
"""How long after ``makeCall`` a notification may name its contact and still match."""
CLOCK_SKEW = timedelta(seconds=30)
"""How far a notification's time may precede ``makeCall`` (MTT's clock against ours)."""
MAX_FIELD_LENGTH = 512
MAX_ID_LENGTH = 100
"""The inbox's and the attempt's ``provider_id`` hold 100 characters."""
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class PlacedCallback:
    """One attempt sent with ``makeCall``, as ``match_notification`` needs it.

    ``contact`` is the number sent as ``calleid``, ``workplace`` the ``callerId``,
    ``placed_at`` when ``makeCall`` was sent (timezone-aware), ``call_ids`` the ids known
    to be this call's: ``makeCall``'s answer and the notification ids already matched."""

    attempt_id: int
    contact: str
    workplace: str
    placed_at: datetime
    call_ids: frozenset[str] = frozenset()


def parse_mtt_business_events(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> list[NormalizedEvent]:
    """The callback events in one notification POST (always one). ``query`` is not used:
    MTT sends everything in the body."""
    document = _document(decode_body(body, content_type))
    name = _text(document.get("event"))
    if name is None:
        raise EventParseError("MTT Business notification: no event name")
    if name.lower() != CALL_EVENT.lower():
        return [_other(name, document.get("result"))]
    result = document.get("result")
    info = result.get("callInfo") if isinstance(result, dict) else None
    if not isinstance(info, dict):
        raise EventParseError("MTT Business notification: no result.callInfo")
    return [_event(info)]


def comparable_number(raw: str | None) -> str | None:
    """A number as both sides can compare it: digits only, an ``@domain`` and a ``+``
    dropped, two leading zeros (6.4: ``0079581234567``) dropped, Russian ``8XXXXXXXXXX`` and
    10-digit forms written ``7XXXXXXXXXX``. ``None`` when no 3-20 digits remain."""
    if raw is None:
        return None
    text = raw.split("@", 1)[0].strip().lstrip("+")
    digits = "".join(char for char in text if char.isdigit())
    if len(digits) != len(text.replace(" ", "").replace("-", "")):
        return None
    if digits.startswith("00"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits.startswith("9"):
        digits = "7" + digits
    return digits if 3 <= len(digits) <= 20 else None


def match_notification(
    event: NormalizedEvent,
    placed: Iterable[PlacedCallback],
    *,
    received_at: datetime,
    window: timedelta = MATCH_WINDOW,
    skew: timedelta = CLOCK_SKEW,
) -> int | None:
    """The attempt a notification belongs to, or ``None``.

    1. A callback whose ``call_ids`` hold the event's ``provider_id``.
    2. Else the callbacks to the event's contact (``extra["contact"]``, compared with
       ``comparable_number``) placed at most ``window`` before and ``skew`` after the event
       (its ``occurred_at``, else ``received_at``); those on the event's workplace first, if
       any; of those, the one placed last. Record the event's ``provider_id`` among the
       chosen callback's ``call_ids`` so the call's later events match by rule 1 (a
       ``finished`` has no time of its own).
    """
    candidates = list(placed)
    if event.provider_id:
        for callback in candidates:
            if event.provider_id in callback.call_ids:
                return callback.attempt_id
    contact = event.extra.get("contact")
    if not contact:
        return None
    at = event.occurred_at or received_at
    near = [
        callback
        for callback in candidates
        if comparable_number(callback.contact) == contact
        and callback.placed_at - skew <= at <= callback.placed_at + window
    ]
    workplace = event.extra.get("workplace")
    same_workplace = [callback for callback in near if callback.workplace == workplace]
    chosen = same_workplace or near
    if not chosen:
        return None
    return max(chosen, key=lambda callback: callback.placed_at).attempt_id


def _document(text: str) -> dict[str, object]:
    """The body's JSON object; tolerates the doc's trailing commas and a stray closing
    brace after the object (both in its examples)."""
    if not text.startswith("{"):
        raise EventParseError("MTT Business notification: body is not a JSON object")
    decoder = json.JSONDecoder()
    for candidate in (text, strip_trailing_commas(text)):
        try:
            value, end = decoder.raw_decode(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict) and not candidate[end:].strip(" \t\r\n}"):
            return value
    raise EventParseError("MTT Business notification: body is not a JSON object")


def _other(name: str, result: object) -> NormalizedEvent:
    """A settings notification (9.4, 9.5: ``numbersChanged``, ``workplacesChanged``) or an
    event we do not know: no call, no attempt; ``status`` is its ``eventType`` or name."""
    kind = _text(result.get("eventType")) if isinstance(result, dict) else None
    settings = name.lower() in SETTINGS_EVENTS
    status = kind if settings and kind is not None else name
    return NormalizedEvent(
        kind=EventKind.CALLBACK,
        status=status[:64],
        extra={"event": name[:MAX_FIELD_LENGTH]},
    )


def _event(info: Mapping[str, object]) -> NormalizedEvent:
    call = info.get("call")
    call_id = _text(call.get("id")) if isinstance(call, dict) else None
    if call_id is None:
        raise EventParseError("MTT Business notification: no callInfo.call.id")
    state = (_text(info.get("state")) or "").lower()
    status = STATES.get(state, state or "unknown")
    caller, callee = _party(info.get("caller")), _party(info.get("callee"))
    workplace = _workplace(info, caller, callee)
    extra: dict[str, str] = {"state": state}
    for key, value in (
        ("contact", _contact(caller, callee)),
        ("workplace", workplace),
        ("tag", _text(call.get("tag")) if isinstance(call, dict) else None),
        ("direction", _text(info.get("type"))),
        ("reason", _text(info.get("reason"))),
        ("reason_code", _text(info.get("reasonCode"))),
        ("record_url", _text(info.get("urlRecord"))),
    ):
        if value is not None:
            extra[key] = value[:MAX_FIELD_LENGTH]
    duration = _seconds(info.get("duration"))
    if status == CallbackEventKind.END_SIDE_A and duration is not None and duration > 0:
        extra["outcome"] = "connected"
    return NormalizedEvent(
        kind=EventKind.CALLBACK,
        provider_id=call_id[:MAX_ID_LENGTH],
        number=workplace if status == CallbackEventKind.PICKUP_SIDE_A else None,
        duration=duration if status == CallbackEventKind.END_SIDE_A else None,
        status=status[:64],
        occurred_at=_time(info.get("startTime")),
        extra=extra,
    )


@dataclass(frozen=True, slots=True)
class _Party:
    """One side of the call. ``internal`` is ours (a workplace, terminal or our number:
    MTT gives it a ``centrexId``); the other side is a subscriber (``...@pstn`` or no
    account at all)."""

    account: str | None
    sip_id: str | None
    internal: bool


def _party(value: object) -> _Party | None:
    if not isinstance(value, dict):
        return None
    account = _text(value.get("accountId"))
    centrex = _text(value.get("centrexId"))
    internal = centrex is not None or (account is not None and "@" not in account)
    return _Party(account, _text(value.get("id")), internal)


def _workplace(
    info: Mapping[str, object], caller: _Party | None, callee: _Party | None
) -> str | None:
    """Our side's account: the workplace or terminal SIP ID (``recorded`` has it at the top
    level). Not its ``id``: for an outgoing call that is the external number shown."""
    for party in (caller, callee):
        if party is not None and party.internal:
            return comparable_number(party.account or party.sip_id)
    return comparable_number(_text(info.get("accountId")))


def _contact(caller: _Party | None, callee: _Party | None) -> str | None:
    """The subscriber's number: the external side, the callee first."""
    for party in (callee, caller):
        if party is not None and not party.internal:
            return comparable_number(party.sip_id or party.account)
    return None


def _time(value: object) -> datetime | None:
    """``startTime`` ``2020-06-24 15:01:45``: no zone is given; like MTT's other events it is
    read as Moscow time (``PLATFORM_ZONE``)."""
    text = _text(value)
    if text is None:
        return None
    try:
        naive = datetime.strptime(text, _TIME_FORMAT)  # noqa: DTZ007 - zone attached below
    except ValueError:
        return None
    return naive.replace(tzinfo=ZoneInfo(PLATFORM_ZONE))


def _seconds(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
