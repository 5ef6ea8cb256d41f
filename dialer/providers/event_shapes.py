"""From a webhook body, in whatever shape MTT documents, to flat records of text fields.

sb-api's documentation shows the same event as a JSON object, a JSON array, a form/``k=v&...``
string, ``{"data": {...}}`` or ``{"data": "k=v&..."}``, and as brace-wrapped strings that are
not JSON at all (``{"date_time=...&event=o_..."}``, ``{"data":{"date_time=..."}},``). Shapes are
sniffed from the text because the documented content types contradict them.

Every failure raises ``EventParseError`` and nothing else.
"""

from __future__ import annotations

import codecs
import json
import re
from urllib.parse import parse_qsl

from dialer.errors import EventParseError
from dialer.providers.loose_json import loads_lenient, parse_loose

Record = dict[str, str | None]
"""One event's fields; ``None`` for a JSON ``null``."""

MAX_NESTING = 6
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
# Declared charsets we honour; anything else (or a codec that is not a text encoding) is
# read as UTF-8.
_TEXT_CHARSETS = frozenset(
    {"utf-8", "utf-8-sig", "utf-16", "ascii", "cp1251", "koi8-r", "latin-1", "iso8859-1"}
)


def decode_body(body: bytes | str, content_type: str | None) -> str:
    """The body as text: the declared charset, else UTF-8; a leading BOM and surrounding
    whitespace removed. Raises ``EventParseError`` for undecodable bytes."""
    if isinstance(body, bytes):
        charset = _declared_charset(content_type)
        try:
            text = body.decode(charset)
        except UnicodeError as exc:
            raise EventParseError(f"body is not valid {charset}") from exc
    else:
        text = body
    return text.strip().lstrip("\ufeff").strip()


def records_from_text(text: str, depth: int = 0) -> list[Record]:
    """Every event record in ``text`` (already decoded). Raises ``EventParseError``."""
    text = text.strip()
    if depth > MAX_NESTING:
        raise EventParseError("event wrapped too deeply")
    if not text:
        raise EventParseError("empty body")
    if text[0] in '{["':
        try:
            values = [loads_lenient(text)]
        except ValueError:
            try:
                values = parse_loose(text)
            except ValueError as exc:
                raise EventParseError(f"not JSON in any documented shape: {exc}") from exc
        records: list[Record] = []
        for value in values:
            records.extend(records_from_value(value, depth + 1))
        if not records:
            raise EventParseError("no event in body")
        return records
    if "=" in text:
        return _records_from_pairs(text, depth)
    raise EventParseError("body is neither JSON nor key=value pairs")


def records_from_value(value: object, depth: int) -> list[Record]:
    """Records from one decoded JSON value: an event object, a ``data`` wrapper, a list of
    either, or a string holding any body shape. Raises ``EventParseError``."""
    if depth > MAX_NESTING:
        raise EventParseError("event wrapped too deeply")
    if isinstance(value, dict):
        if "event" in value:
            return [flatten_record(value)]
        if "data" in value:
            return records_from_value(value["data"], depth + 1)
        raise EventParseError("object has neither 'event' nor 'data'")
    if isinstance(value, list):
        if not value:
            raise EventParseError("empty list of events")
        records: list[Record] = []
        for item in value:
            records.extend(records_from_value(item, depth + 1))
        return records
    if isinstance(value, str):
        return records_from_text(value, depth + 1)
    raise EventParseError(f"expected an event, got {type(value).__name__}")


def fields_from_pairs(text: str) -> dict[str, str]:
    """``a=1&b=x+y`` -> ``{"a": "1", "b": "x y"}`` (form encoding; the last duplicate wins)."""
    return dict(parse_qsl(text, keep_blank_values=True))


def _records_from_pairs(text: str, depth: int) -> list[Record]:
    fields = fields_from_pairs(text)
    if "event" not in fields and "data" in fields:
        return records_from_text(fields["data"], depth + 1)
    if not fields:
        raise EventParseError("no key=value pairs")
    return [dict(fields)]


def flatten_record(value: dict[str, object]) -> Record:
    """Scalars as text (numbers as JSON writes them), ``null`` as ``None``; nested containers
    are dropped: no documented event field holds one."""
    record: Record = {}
    for key, item in value.items():
        if item is None:
            record[key] = None
        elif isinstance(item, str):
            record[key] = item
        elif isinstance(item, bool | int | float):
            record[key] = json.dumps(item)
    return record


def _declared_charset(content_type: str | None) -> str:
    match = _CHARSET.search(content_type or "")
    if match is None:
        return "utf-8"
    try:
        name = codecs.lookup(match.group(1)).name
    except LookupError:
        return "utf-8"
    return name if name in _TEXT_CHARSETS else "utf-8"
