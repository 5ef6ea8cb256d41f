"""JSON as MTT's documentation writes it, not as RFC 8259 does.

Two tolerances, both pure:

* ``loads_lenient``: strict JSON, or JSON with trailing commas (``"segment_count": 1,}``), as in
  every msapi example. Used for provider *answers*.
* ``parse_loose``: a stream of values where an object may hold bare strings or objects instead of
  ``key: value`` members, as in the sb-api event examples ``{"date_time=...&event=o_..."}`` and the
  wrong-sip_id answer ``{ { "result": ... } }``. An object holding only one bare item *is* that
  item. Used for webhook *bodies* after strict parsing failed.

Both raise ``ValueError`` (``json.JSONDecodeError`` is one) and nothing else.
"""

from __future__ import annotations

import json
import re

_WHITESPACE = " \t\r\n"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_CLOSER_AHEAD = re.compile(r"[ \t\r\n]*[}\]]")
_SCALAR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
MAX_DEPTH = 32


def strip_trailing_commas(text: str) -> str:
    """Remove every comma that is followed (after whitespace) by ``}`` or ``]``, leaving
    string literals untouched."""
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == '"':
            match = _STRING.match(text, position)
            end = match.end() if match else len(text)
            out.append(text[position:end])
            position = end
            continue
        if char == "," and _CLOSER_AHEAD.match(text, position + 1):
            position += 1
            continue
        out.append(char)
        position += 1
    return "".join(out)


def loads_lenient(text: str) -> object:
    """``json.loads``, retried once without trailing commas. Raises ``ValueError``."""
    try:
        return _loads(text)
    except ValueError:
        return _loads(strip_trailing_commas(text))


def parse_loose(text: str) -> list[object]:
    """Every value in ``text``, which may hold several values separated by commas or
    whitespace. Raises ``ValueError`` with the position of the first thing it cannot read."""
    return _LooseParser(text).stream()


def _loads(text: str) -> object:
    try:
        value: object = json.loads(text)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    return value


class _LooseParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def stream(self) -> list[object]:
        values: list[object] = []
        while True:
            self._skip(_WHITESPACE + ",")
            if self.position >= len(self.text):
                return values
            values.append(self._value(0))

    def _value(self, depth: int) -> object:
        if depth > MAX_DEPTH:
            raise ValueError("nested too deeply")
        char = self._peek()
        if char == "{":
            return self._object(depth + 1)
        if char == "[":
            return self._array(depth + 1)
        if char == '"':
            return self._string()
        match = _SCALAR.match(self.text, self.position)
        if match is None:
            raise ValueError(f"unexpected {char or 'end'!r} at {self.position}")
        self.position = match.end()
        return _loads(match.group())

    def _string(self) -> str:
        match = _STRING.match(self.text, self.position)
        if match is None:
            raise ValueError(f"unterminated string at {self.position}")
        self.position = match.end()
        value: str = json.loads(match.group(), strict=False)
        return value

    def _object(self, depth: int) -> object:
        self.position += 1
        members: dict[str, object] = {}
        bare: list[object] = []
        while True:
            self._skip(_WHITESPACE)
            char = self._peek()
            if char == "}":
                break
            if char == '"':
                key = self._string()
                self._skip(_WHITESPACE)
                if self._peek() == ":":
                    self.position += 1
                    self._skip(_WHITESPACE)
                    members[key] = self._value(depth)
                else:
                    bare.append(key)
            elif char == "{":
                bare.append(self._value(depth))
            else:
                raise ValueError(f"unexpected {char or 'end'!r} in object at {self.position}")
            self._skip(_WHITESPACE)
            if self._peek() == ",":
                self.position += 1
                continue
            if self._peek() != "}":
                raise ValueError(f"expected ',' or '}}' at {self.position}")
            break
        self.position += 1
        if bare and members:
            raise ValueError("object mixes bare values and members")
        if bare:
            return bare[0] if len(bare) == 1 else bare
        return members

    def _array(self, depth: int) -> list[object]:
        self.position += 1
        items: list[object] = []
        while True:
            self._skip(_WHITESPACE)
            if self._peek() == "]":
                break
            items.append(self._value(depth))
            self._skip(_WHITESPACE)
            if self._peek() == ",":
                self.position += 1
                continue
            if self._peek() != "]":
                raise ValueError(f"expected ',' or ']' at {self.position}")
            break
        self.position += 1
        return items

    def _peek(self) -> str:
        return self.text[self.position : self.position + 1]

    def _skip(self, chars: str) -> None:
        while self.position < len(self.text) and self.text[self.position] in chars:
            self.position += 1
