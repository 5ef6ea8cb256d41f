"""Message templates: ``{field}`` placeholders filled from a contact's CSV columns.

The syntax is str.format's braces and nothing more: ``{Номер заказа}`` is the column
"Номер заказа" (any characters but braces; surrounding spaces ignored), ``{{`` and ``}}`` are
literal braces. There are no format specs, conversions or attribute lookups: ``{a:>5}`` is the
column "a:>5". A name matches a column exactly, else ignoring case and runs of spaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from dialer.errors import ConfigError

__all__ = ["missing_fields", "render", "template_fields"]

_Part = tuple[str, str | None]
"""A literal piece of text, then the field that follows it (``None`` at the end)."""


def template_fields(text: str) -> list[str]:
    """Field names in order of first use, each once. Raises ``ConfigError`` on a stray brace."""
    return list(dict.fromkeys(field for _, field in _parse(text) if field is not None))


def missing_fields(text: str, header: Sequence[str]) -> list[str]:
    """Fields of ``text`` that no header name matches, in order of first use."""
    columns = dict.fromkeys(header, "")
    return [field for field in template_fields(text) if _lookup(field, columns) is None]


def field_columns(text: str, header: Sequence[str]) -> list[tuple[str, int]]:
    """Each field of ``text`` with the index of the header column it reads (the same
    matching as ``render``). Fields no column matches are left out: see ``missing_fields``."""
    keys = [_key(name) for name in header]
    found: list[tuple[str, int]] = []
    for field in template_fields(text):
        index = header.index(field) if field in header else None
        if index is None and _key(field) in keys:
            index = keys.index(_key(field))
        if index is not None:
            found.append((field, index))
    return found


def render(text: str, fields: Mapping[str, str]) -> str:
    """Fill ``text`` from ``fields`` (a contact's columns). A field with no matching key raises
    ``ConfigError``: the loader checks ``missing_fields`` first, so this means a bug, and
    sending "Здравствуйте, !" would be worse than stopping."""
    pieces: list[str] = []
    for literal, field in _parse(text):
        pieces.append(literal)
        if field is not None:
            value = _lookup(field, fields)
            if value is None:
                raise ConfigError(f"message template: no value for {{{field}}}")
            pieces.append(value)
    return "".join(pieces)


def _lookup(field: str, fields: Mapping[str, str]) -> str | None:
    value = fields.get(field)
    if value is not None:
        return value
    wanted = _key(field)
    for name, candidate in fields.items():
        if _key(name) == wanted:
            return candidate
    return None


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


@lru_cache(maxsize=256)
def _parse(text: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    literal: list[str] = []
    at, size = 0, len(text)
    while at < size:
        char = text[at]
        if char == "}":
            if text[at + 1 : at + 2] != "}":
                raise ConfigError(
                    f"message template: '}}' at character {at + 1} closes nothing "
                    "(write '}}' for a literal brace)"
                )
            literal.append("}")
            at += 2
        elif char != "{":
            literal.append(char)
            at += 1
        elif text[at + 1 : at + 2] == "{":
            literal.append("{")
            at += 2
        else:
            close = text.find("}", at + 1)
            opening = text.find("{", at + 1)
            if close == -1 or -1 < opening < close:
                raise ConfigError(
                    f"message template: '{{' at character {at + 1} is not closed "
                    "(write '{{' for a literal brace)"
                )
            name = " ".join(text[at + 1 : close].split())
            if not name:
                raise ConfigError(
                    f"message template: empty field '{{}}' at character {at + 1}; "
                    "put a column name inside"
                )
            parts.append(("".join(literal), name))
            literal = []
            at = close + 1
    parts.append(("".join(literal), None))
    return tuple(parts)
