"""Which parser reads which route, with every failure turned into ``EventParseError``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping

from dialer.channels import hooks
from dialer.channels.base import Parser
from dialer.errors import EventParseError
from dialer.providers.base import NormalizedEvent
from dialer.settings import Settings

HookRoute = str
"""The inbox ``route`` of a webhook path (``call``, ``ivr``, ``sms``, ``callback``): the
channels declare them (``dialer.channels.hooks``)."""

log = logging.getLogger(__name__)


def parse_webhook(
    route: HookRoute,
    body: bytes,
    content_type: str | None,
    query: Mapping[str, str],
    parsers: Mapping[str, Parser] | None = None,
) -> list[NormalizedEvent]:
    """Every event in one request, in body order (at least one).

    The route's channel parses: ``call`` and ``ivr`` take sb-api/ivr-api bodies (JSON,
    ``k=v&...``, ``{"data": ...}``); ``sms`` an msapi form body or, for GET, the query
    string; ``callback`` the ``event.php`` query (and path) fields. ``query`` holds the query
    string's fields and the path's (the path wins). Raises ``EventParseError`` for anything
    unreadable, including a parser's own unexpected failure (logged), so no input can make
    the collector answer 500.
    """
    parse = (parsers if parsers is not None else _parsers()).get(route)
    if parse is None:
        raise EventParseError(f"no parser for route {route!r}")
    try:
        events = parse(body, content_type, query)
    except EventParseError:  # EventRejectedError included
        raise
    except Exception as exc:
        log.exception("%s webhook parser failed unexpectedly", route)
        raise EventParseError(f"parser failed: {type(exc).__name__}") from exc
    if not events:
        raise EventParseError("no event in body")
    return events


@functools.cache
def _parsers() -> dict[str, Parser]:
    return {hook.route: hook.parse for hook in hooks()}


def parsers_for(settings: Settings) -> dict[str, Parser]:
    """Each route's parser, bound to ``settings`` where a provider needs it."""
    return {hook.route: hook.parser(settings) for hook in hooks()}


def redactors() -> dict[str, Callable[[str], str]]:
    """The routes whose raw request text must be cleaned before it is stored."""
    return {hook.route: hook.redact for hook in hooks() if hook.redact is not None}
