"""Pure parsers for provider webhooks: sb-api/ivr-api call events and msapi SMS events.

No I/O and no clock. Every function raises ``EventParseError`` (with a short reason) for input
it cannot read, and no other exception, whatever the input.

sb-api event grammar (``event`` field):

* ``o_<number>`` call started; with ``"type": "transfer"``: transfer to <number> started;
* ``h_<number>_<cause>_<duration>`` call ended with Q.850 <cause> after <duration> seconds;
  with ``"type": "transfer"``: the transferred leg ended;
* ``n_<number>`` the subscriber's menu choice (``dtmf`` digit, or ``"null"`` for none).

Numbers are 10-15 digits: the text says 11, the informer examples show 10 (``7910000000``).
``date_time`` (``2019-03-29-11-37-13``) carries no zone and the sb-api section names none; we
take it as Moscow time (``PLATFORM_ZONE``), MTT's home zone. This is an assumption: the Telecom
API's history tables call their "platform time" UTC. Change ``PLATFORM_ZONE`` if MTT says so.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from dialer.errors import EventParseError
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.event_shapes import (
    MAX_NESTING,
    decode_body,
    fields_from_pairs,
    flatten_record,
    records_from_text,
)
from dialer.providers.loose_json import loads_lenient

PLATFORM_ZONE = "Europe/Moscow"
_NUMBER = re.compile(r"[0-9]{10,15}")
_COUNT = re.compile(r"[0-9]{1,9}")
_DIGIT = re.compile(r"[0-9]{1,2}")
_ATTEMPT_ID = re.compile(r"[0-9]{1,18}")
_DATE_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})")
_SMS_KINDS = {"outbound": EventKind.SMS_STATUS, "inbound": EventKind.SMS_INBOUND}
_SMS_EXTRA_FIELDS = ("account_sid", "direction", "hash", "tag")


def parse_call_events(body: bytes | str, content_type: str | None = None) -> list[NormalizedEvent]:
    """Every call event in one sb-api/ivr-api webhook body, in body order.

    ``content_type`` only selects the charset (UTF-8 by default): the shape is sniffed.
    Raises ``EventParseError`` for an unknown shape, event prefix, or a non-numeric
    cause/duration/dtmf/date.
    """
    return [
        call_event_from_record(record)
        for record in records_from_text(decode_body(body, content_type))
    ]


def call_event_from_record(record: Mapping[str, str | None]) -> NormalizedEvent:
    """One flat sb-api record (``date_time``, ``id``, ``CallID``, ``event``[, ``dtmf``,
    ``type``]) -> ``NormalizedEvent``. ``extra`` keeps the raw ``id``, ``event`` and ``type``.
    Raises ``EventParseError``."""
    event = (record.get("event") or "").strip()
    if not event:
        raise EventParseError("event field is missing")
    prefix, _, rest = event.partition("_")
    parts = rest.split("_")
    transfer = (record.get("type") or "").strip().lower() == "transfer"
    cause = duration = None
    if prefix == "o" and len(parts) == 1:
        kind = EventKind.TRANSFER_STARTED if transfer else EventKind.CALL_STARTED
    elif prefix == "h" and len(parts) == 3:
        kind = EventKind.TRANSFER_ENDED if transfer else EventKind.CALL_ENDED
        cause = _count(parts[1], "cause", event)
        duration = _count(parts[2], "duration", event)
    elif prefix == "n" and len(parts) == 1:
        kind = EventKind.DTMF
    elif prefix in ("o", "h", "n"):
        raise EventParseError(f"malformed event {_short(event)}")
    else:
        raise EventParseError(f"unknown event prefix in {_short(event)}")
    if not _NUMBER.fullmatch(parts[0]):
        raise EventParseError(f"no 10-15 digit number in event {_short(event)}")

    raw_id = record.get("id")
    extra = {"event": event}
    if raw_id is not None:
        extra["id"] = raw_id
    raw_type = record.get("type")
    if raw_type:
        extra["type"] = raw_type
    return NormalizedEvent(
        kind=kind,
        attempt_id=int(raw_id) if raw_id and _ATTEMPT_ID.fullmatch(raw_id) else None,
        provider_id=record.get("CallID") or None,
        number=parts[0],
        cause=cause,
        duration=duration,
        dtmf=_dtmf(record.get("dtmf")),
        occurred_at=_platform_time(record.get("date_time")),
        extra=extra,
    )


def parse_sms_event(fields: Mapping[str, str]) -> NormalizedEvent:
    """One msapi event (``account_sid, direction, from, to, message_sid, status, text, hash``).

    ``direction=outbound``: ``SMS_STATUS`` about our message ``message_sid`` to ``to``.
    ``direction=inbound``: ``SMS_INBOUND`` from ``from`` to our number ``to``, with ``text``.
    ``status`` is lower-cased. A ``tag`` of digits, if msapi ever echoes it, is the attempt id.
    Raises ``EventParseError`` for a missing message_sid or status, or an unknown direction.
    """
    message_sid = (fields.get("message_sid") or "").strip()
    status = (fields.get("status") or "").strip().lower()
    direction = (fields.get("direction") or "").strip().lower()
    if not message_sid or not status:
        raise EventParseError("SMS event without message_sid or status")
    kind = _SMS_KINDS.get(direction)
    if kind is None:
        raise EventParseError(f"SMS event with unknown direction {_short(direction)}")
    tag = fields.get("tag") or ""
    return NormalizedEvent(
        kind=kind,
        attempt_id=int(tag) if _ATTEMPT_ID.fullmatch(tag) else None,
        provider_id=message_sid,
        number=fields.get("to") or None,
        status=status,
        sender=fields.get("from") or None,
        # Status events echo our own text back; only an inbound message's text is news.
        text=fields.get("text") if kind is EventKind.SMS_INBOUND else None,
        extra={key: fields[key] for key in _SMS_EXTRA_FIELDS if key in fields},
    )


def parse_sms_body(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> NormalizedEvent:
    """An msapi webhook request: a form body, a bare ``k=v&...`` string, a JSON object (also
    ``{"data": ...}``-wrapped), or an empty body with the fields in the query string (GET).
    Body fields win over query fields. Raises ``EventParseError``."""
    text = decode_body(body, content_type)
    fields = dict(query)
    if text:
        fields.update(_sms_fields(text, 0))
    return parse_sms_event(fields)


def dedupe_key(event: NormalizedEvent) -> str:
    """A stable key for inbox deduplication: ``<kind>:<sha256 of every field>``.

    An exact redelivery, in any shape, gets the same key; events that differ in any field
    but ``extra`` get different keys (``extra["id"]`` counts when the id is not numeric).
    """
    occurred_at = event.occurred_at
    if occurred_at is not None and occurred_at.tzinfo is not None:
        occurred_at = occurred_at.astimezone(UTC)
    fields = [
        event.kind.value,
        event.attempt_id,
        event.extra.get("id") if event.attempt_id is None else None,
        event.provider_id,
        event.number,
        event.cause,
        event.duration,
        event.dtmf,
        event.status,
        event.text,
        event.sender,
        occurred_at.isoformat() if occurred_at is not None else None,
    ]
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{event.kind.value}:{digest}"


def _sms_fields(value: object, depth: int) -> dict[str, str]:
    if depth > MAX_NESTING:
        raise EventParseError("SMS event wrapped too deeply")
    if isinstance(value, dict):
        if "data" in value and "message_sid" not in value:
            return _sms_fields(value["data"], depth + 1)
        return {key: item for key, item in flatten_record(value).items() if item is not None}
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", '"')):
            try:
                decoded = loads_lenient(text)
            except ValueError as exc:
                raise EventParseError("SMS event body is not JSON") from exc
            return _sms_fields(decoded, depth + 1)
        if "=" in text:
            return fields_from_pairs(text)
    raise EventParseError("SMS event body is neither form fields nor a JSON object")


def _count(text: str, what: str, event: str) -> int:
    if not _COUNT.fullmatch(text):
        raise EventParseError(f"non-numeric {what} in event {_short(event)}")
    return int(text)


def _dtmf(raw: str | None) -> int | None:
    value = (raw or "").strip()
    if not value or value.lower() == "null":
        return None
    if not _DIGIT.fullmatch(value):
        raise EventParseError(f"dtmf {_short(value)} is not a digit")
    return int(value)


def _platform_time(raw: str | None) -> datetime | None:
    if not raw:
        return None
    match = _DATE_TIME.fullmatch(raw.strip())
    if match is None:
        raise EventParseError(f"date_time {_short(raw)} is not YYYY-MM-DD-hh-mm-ss")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=_platform_zone())
    except ValueError as exc:
        raise EventParseError(f"date_time {_short(raw)} is not a real date") from exc


@cache
def _platform_zone() -> ZoneInfo:
    return ZoneInfo(PLATFORM_ZONE)


def _short(text: str) -> str:
    return repr(text[:40] + ("..." if len(text) > 40 else ""))
