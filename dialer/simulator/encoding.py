"""Byte-level formats: sb-api answers, call event bodies and msapi status events (pure).

Answers are rendered like the docs print them (two-space indented JSON), so documented bodies
can be compared byte for byte.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from dialer.simulator.config import EventShape
from dialer.simulator.records import MessageRecord

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"

ConcreteShape = Literal["json", "kv", "data"]

_FORBIDDEN_TEMPLATE = """{{
  {{
    "result": {{
      "success": 0,
      "error": "Forbidden"
    }},
    "id": {mess_id},
    "CallID": "{call_id}"
  }}
}}"""


def json_bytes(document: object) -> bytes:
    """``document`` as the docs print JSON: two-space indent, UTF-8, non-ASCII kept."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def sb_success(mess_id: str, call_id: str) -> bytes:
    """``{"result": {"success": 1}, "id": messId, "CallID": ...}``."""
    return json_bytes({"result": {"success": 1}, "id": mess_id, "CallID": call_id})


def sb_error(error: str, mess_id: str, call_id: str) -> bytes:
    """A refused call in the documented shape: ``success: 0`` with ``id`` and ``CallID``."""
    return json_bytes({"result": {"success": 0, "error": error}, "id": mess_id, "CallID": call_id})


def sb_error_without_mess_id(error: str, call_id: str) -> bytes:
    """The documented answer when there is no messId: ``id`` is MTT's call id, no ``CallID``."""
    return json_bytes({"result": {"success": 0, "error": error}, "id": call_id})


def sb_forbidden(mess_id: str, call_id: str) -> bytes:
    """The wrong-sip_id answer exactly as documented: invalid JSON with a doubled brace."""
    return _FORBIDDEN_TEMPLATE.format(mess_id=json.dumps(mess_id), call_id=call_id).encode()


def access_forbidden() -> bytes:
    """The wrong-method answer."""
    return json_bytes({"message": "access forbidden"})


@dataclass(frozen=True, slots=True)
class EncodedBody:
    """A request body and its ``Content-Type``."""

    content: bytes
    content_type: str


def resolve_shape(rng: random.Random, shape: EventShape) -> ConcreteShape:
    """The shape to use for one event; ``mixed`` picks one at random."""
    if shape == "mixed":
        concrete: list[ConcreteShape] = ["json", "kv", "data"]
        return rng.choice(concrete)
    return shape


def encode_call_event(payload: dict[str, str], shape: ConcreteShape) -> EncodedBody:
    """One call event in a documented shape.

    ``json``: ``{"date_time": ..., "id": ..., "CallID": ..., "event": ...}``;
    ``kv``: ``date_time=...&id=...&CallID=...&event=...`` form-encoded;
    ``data``: ``{"data": "date_time=...&id=...&CallID=...&event=..."}``.
    """
    if shape == "kv":
        return EncodedBody(urlencode(payload).encode(), FORM_TYPE)
    if shape == "data":
        return EncodedBody(json_bytes({"data": urlencode(payload)}), JSON_TYPE)
    return EncodedBody(json_bytes(payload), JSON_TYPE)


def sms_event_fields(message: MessageRecord, account_sid: str, status: str) -> str:
    """A msapi status/inbound event, form-encoded in the documented field order."""
    return urlencode(
        [
            ("account_sid", account_sid),
            ("direction", message.direction),
            ("from", message.sender),
            ("hash", "view"),
            ("message_sid", message.message_sid),
            ("status", status),
            ("text", message.text),
            ("to", message.recipient),
        ]
    )
