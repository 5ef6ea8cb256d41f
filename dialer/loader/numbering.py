"""What phonenumbers' metadata says about a number, and a cache of it for +7 numbers.

``number_facts`` asks phonenumbers (about 20 microseconds). ``plus7_facts`` answers for a
10-digit +7 national number from a cache keyed by the leading digits that decide the answer,
so phonenumbers runs once per such prefix, not once per row.

How many digits decide is read from the metadata, not assumed: every RU and KZ number pattern
is a sequence of digit sets (``9``, ``[0-24-9]``, ``\\d``) once its alternatives are expanded,
so a pattern's verdict on a number depends only on the digits up to its last set that is not
``\\d``. Region choice uses the metadata's ``leading_digits`` the same way, and time zones use
prefixes of at most ``max(key) - 1`` national digits. For each first three digits the key
length is the largest of these over every pattern that can still match. Patterns in any other
regex form raise ``ValueError`` at first use rather than being guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberType
from phonenumbers.timezone import time_zones_for_number
from phonenumbers.tzdata import TIMEZONE_DATA

__all__ = ["NumberFacts", "deciding_digits", "number_facts", "pattern_branches", "plus7_facts"]

NATIONAL_DIGITS: Final = 10
"""Length of a +7 national number (RU and KZ)."""

_UNKNOWN_ZONE: Final = "Etc/Unknown"
_MOBILE_TYPES: Final = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_ANY: Final = frozenset("0123456789")

Branch = tuple[frozenset[str], ...]
"""One alternative of a pattern: the set of digits allowed at each position."""


@dataclass(frozen=True, slots=True)
class NumberFacts:
    """What phonenumbers says about a number, before a campaign's rules are applied."""

    valid: bool
    region: str
    number_type: int
    """A ``phonenumbers.PhoneNumberType`` value."""
    is_mobile: bool
    timezones: tuple[str, ...]


_INVALID: Final = NumberFacts(False, "", PhoneNumberType.UNKNOWN, False, ())

_deciding: dict[str, int] = {}
"""Cache: first 3 national digits ("300"-"999") -> how many leading digits decide the facts."""
_facts_by_prefix: dict[str, NumberFacts] = {}
"""Cache: deciding prefix -> facts, filled on first sight of each prefix."""


def number_facts(number: PhoneNumber) -> NumberFacts:
    """Ask phonenumbers; ``Etc/Unknown`` is left out of the zones."""
    if not phonenumbers.is_valid_number(number):
        return _INVALID
    number_type = phonenumbers.number_type(number)
    return NumberFacts(
        valid=True,
        region=phonenumbers.region_code_for_number(number) or "",
        number_type=number_type,
        is_mobile=number_type in _MOBILE_TYPES,
        timezones=tuple(zone for zone in time_zones_for_number(number) if zone != _UNKNOWN_ZONE),
    )


def plus7_facts(national: str) -> NumberFacts:
    """Facts of +7 ``national`` (10 ASCII digits, the first 3-9), from the prefix cache.

    A cache miss asks phonenumbers about the prefix followed by zeros."""
    key = national[: (_deciding or deciding_digits())[national[:3]]]
    facts = _facts_by_prefix.get(key)
    if facts is None:
        number = PhoneNumber(country_code=7, national_number=int(key.ljust(NATIONAL_DIGITS, "0")))
        facts = _facts_by_prefix[key] = number_facts(number)
    return facts


def deciding_digits() -> dict[str, int]:
    """First 3 national digits -> leading digits that decide a +7 number's facts (built once)."""
    if _deciding:
        return _deciding
    branches: list[Branch] = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[7]:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            raise ValueError(f"phonenumbers has no metadata for {region}")
        for desc in _descriptions(metadata):
            if desc is not None and desc.national_number_pattern:
                branches += [
                    branch
                    for branch in pattern_branches(desc.national_number_pattern)
                    if len(branch) == NATIONAL_DIGITS
                ]
        if metadata.leading_digits:
            branches += pattern_branches(metadata.leading_digits)  # a prefix match
    zone_digits = max(len(prefix) - 1 for prefix in TIMEZONE_DATA if prefix.startswith("7"))
    table: dict[str, int] = {}
    for first in range(300, 1000):
        lead = str(first)
        table[lead] = max(
            [3, zone_digits]
            + [
                _deciding_length(branch)
                for branch in branches
                if all(digit in allowed for digit, allowed in zip(lead, branch, strict=False))
            ]
        )
    _deciding.update(table)
    return _deciding


def pattern_branches(pattern: str) -> list[Branch]:
    """Expand a metadata regex into its alternatives; ``ValueError`` on any other syntax.

    Understands digits, ``[...]`` classes with ranges, ``\\d``, ``{n}``, ``(?:...)`` and ``|``:
    all that the +7 metadata uses."""
    branches, end = _alternation(pattern, 0)
    if end != len(pattern):
        raise ValueError(f"unsupported regex at {end}: {pattern!r}")
    return branches


def _deciding_length(branch: Branch) -> int:
    return max((i + 1 for i, allowed in enumerate(branch) if allowed != _ANY), default=0)


def _alternation(pattern: str, at: int) -> tuple[list[Branch], int]:
    branches, at = _sequence(pattern, at)
    while at < len(pattern) and pattern[at] == "|":
        more, at = _sequence(pattern, at + 1)
        branches += more
    return branches, at


def _sequence(pattern: str, at: int) -> tuple[list[Branch], int]:
    branches: list[Branch] = [()]
    while at < len(pattern) and pattern[at] not in "|)":
        atom, at = _atom(pattern, at)
        repeat = 1
        if at < len(pattern) and pattern[at] == "{":
            close = pattern.index("}", at)
            repeat = int(pattern[at + 1 : close])  # "{n,m}" raises ValueError: not supported
            at = close + 1
        for _ in range(repeat):
            branches = [head + tail for head in branches for tail in atom]
    return branches, at


def _atom(pattern: str, at: int) -> tuple[list[Branch], int]:
    char = pattern[at]
    if char in _ANY:
        return [(frozenset(char),)], at + 1
    if pattern.startswith("\\d", at):
        return [(_ANY,)], at + 2
    if char == "[":
        close = pattern.index("]", at)
        return [(_digit_class(pattern[at + 1 : close]),)], close + 1
    if pattern.startswith("(?:", at):
        inner, at = _alternation(pattern, at + 3)
        if pattern[at : at + 1] != ")":
            raise ValueError(f"unbalanced group in {pattern!r}")
        return inner, at + 1
    raise ValueError(f"unsupported regex at {at}: {pattern!r}")


def _digit_class(body: str) -> frozenset[str]:
    digits: set[str] = set()
    at = 0
    while at < len(body):
        if at + 2 < len(body) and body[at + 1] == "-":
            low, high = body[at], body[at + 2]
            digits.update(chr(code) for code in range(ord(low), ord(high) + 1))
            at += 3
        else:
            digits.add(body[at])
            at += 1
    if not digits <= _ANY:
        raise ValueError(f"non-digit class [{body}]")
    return frozenset(digits)


def _descriptions(metadata: PhoneMetadata) -> tuple[phonenumbers.PhoneNumberDesc | None, ...]:
    return (
        metadata.general_desc,
        metadata.fixed_line,
        metadata.mobile,
        metadata.toll_free,
        metadata.premium_rate,
        metadata.shared_cost,
        metadata.personal_number,
        metadata.voip,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.no_international_dialling,
    )
