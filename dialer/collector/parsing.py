"""Which parser reads which route, with every failure turned into ``EventParseError``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

from dialer.errors import EventParseError
from dialer.providers.base import NormalizedEvent
from dialer.providers.events import parse_call_events, parse_sms_body

HookRoute = Literal["call", "ivr", "sms"]
"""The inbox ``route`` of each webhook path: ``/mtt/call``, ``/mtt/ivr``, ``/mtt/sms``."""

log = logging.getLogger(__name__)


def parse_webhook(
    route: HookRoute, body: bytes, content_type: str | None, query: Mapping[str, str]
) -> list[NormalizedEvent]:
    """Every event in one request, in body order (at least one).

    ``call`` and ``ivr`` take sb-api/ivr-api bodies (JSON, ``k=v&...``, ``{"data": ...}``);
    ``sms`` takes an msapi form body or, for GET, the query string. Raises
    ``EventParseError`` for anything unreadable, including a parser's own unexpected failure
    (logged), so no input can make the collector answer 500.
    """
    try:
        if route == "sms":
            return [parse_sms_body(body, content_type, query)]
        events = parse_call_events(body, content_type)
    except EventParseError:
        raise
    except Exception as exc:
        log.exception("%s webhook parser failed unexpectedly", route)
        raise EventParseError(f"parser failed: {type(exc).__name__}") from exc
    if not events:
        raise EventParseError("no event in body")
    return events
