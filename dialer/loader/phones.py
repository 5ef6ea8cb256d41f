"""Phone numbers as people type them -> E.164 digits without ``+`` (11 digits for +7).

Two stages. ``_prepare`` undoes what spreadsheets and people do to a number (Unicode spaces and
dashes, the ``'`` text prefix, ``tel:``, a trailing ``.0``, scientific notation, an extension).
Then the number is judged: plain Russian forms (``+7`` and 10 digits, 11 digits starting with
7 or 8, 10 digits starting with 3-9, with spaces, dashes, brackets and dots) by the fast path,
which reads ``numbering.plus7_facts``, a cache filled from phonenumbers once per deciding
prefix; everything else by phonenumbers itself. Both give the same answer for every input
(``tests/loader/test_phones_property.py``); the fast one is about 20 times quicker.

Decisions:
- An extension (``доб. 123``, ``ext 12``, ``x12``, ``#12``) is dropped: calls and SMS go to the
  main number, which is what the contact gave.
- Scientific notation is recovered only when the mantissa shows every digit
  (``7,9161234567E+10``); when Excel rounded digits away (``7,91612E+10``) the row is rejected
  as ``scientific_notation``: missing digits are never guessed.
- ``+7 7xx`` numbers are Kazakh (region ``KZ``) and rejected unless KZ is allowed.
- ``resolve_timezone`` ignores an explicit zone that is not an IANA name (it does not raise):
  the caller sees a zone other than the one it passed and can warn about that row.
- Russian mobiles map to all 16 zones phonenumbers knows for +7 (it has no per-operator
  regions), so they take the campaign's default zone.
- ``is_mobile`` counts phonenumbers' FIXED_LINE_OR_MOBILE as mobile (some countries' plans
  cannot tell them apart); Russian toll-free, premium and landline numbers are not mobile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from dialer.loader.numbering import NumberFacts, number_facts, plus7_facts

__all__ = [
    "RU_ONLY",
    "Phone",
    "PhoneReject",
    "RejectReason",
    "normalize_phone",
    "normalize_phone_facts",
    "normalize_phone_reference",
    "resolve_timezone",
    "zones_for",
]

RU_ONLY: Final = frozenset({"RU"})
DEFAULT_REGION: Final = "RU"
_TYPE_NAMES: Final = {
    PhoneNumberType.FIXED_LINE: "a landline",
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.VOIP: "a VoIP number",
    PhoneNumberType.PERSONAL_NUMBER: "a personal number",
    PhoneNumberType.PAGER: "a pager number",
    PhoneNumberType.UAN: "a UAN number",
    PhoneNumberType.VOICEMAIL: "a voicemail number",
}

_SPACES = "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
_SPACES += "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
# Spreadsheet look-alikes -> the ASCII characters phonenumbers knows.
_NORMALISE: Final = str.maketrans(
    {**dict.fromkeys(_SPACES, " "), **dict.fromkeys(_DASHES, "-"), **dict.fromkeys(_INVISIBLE)}
)
# What the fast path ignores (after _NORMALISE): characters phonenumbers also ignores anywhere.
_ASCII_PUNCTUATION: Final = b" -()."
_PUNCTUATION: Final = str.maketrans(dict.fromkeys(_ASCII_PUNCTUATION.decode("ascii")))

_EXCEL_FLOAT = re.compile(r"\+?\d+\.0+")
_SCIENTIFIC = re.compile(r"\+?(\d+)(?:[.,](\d*))?[eE]([+-]?\d{1,3})")
_EXTENSION = re.compile(
    r"[\s,;(]*(?<![a-zа-яё])(?:доб(?:авочный)?|доп|вн(?:утр(?:енний)?)?|ext(?:ension)?|x|#)"
    r"[.:]?\s*(\d{1,7})\s*\)?\s*$",
    re.IGNORECASE,
)
_PARSE_ERRORS: Final = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


class RejectReason(StrEnum):
    EMPTY = "empty"
    UNPARSEABLE = "unparseable"
    INVALID = "invalid"
    COUNTRY_NOT_ALLOWED = "country_not_allowed"
    NOT_MOBILE = "not_mobile"
    SCIENTIFIC_NOTATION = "scientific_notation"


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    """Digits only, no ``+``: ``79161234567``."""
    region: str
    """ISO 3166 country of the number: ``RU``, ``KZ``, ``BY``."""
    is_mobile: bool
    timezones: tuple[str, ...]
    """IANA zones phonenumbers maps the number to; several for mobiles, empty if unknown."""


@dataclass(frozen=True, slots=True)
class PhoneReject:
    reason: RejectReason
    detail: str
    """One line for the rejects file, e.g. ``+375291234567 is a BY number; allowed: RU``."""


def normalize_phone(
    raw: str, *, allowed_countries: frozenset[str] = RU_ONLY, require_mobile: bool = False
) -> Phone | PhoneReject:
    """Normalise one cell; never raises. ``require_mobile`` is for SMS campaigns."""
    result = normalize_phone_facts(
        raw, allowed_countries=allowed_countries, require_mobile=require_mobile
    )
    if isinstance(result, PhoneReject):
        return result
    e164, facts = result
    return Phone(e164, facts.region, facts.is_mobile, facts.timezones)


def normalize_phone_facts(
    raw: str, *, allowed_countries: frozenset[str] = RU_ONLY, require_mobile: bool = False
) -> tuple[str, NumberFacts] | PhoneReject:
    """``normalize_phone`` for loops over many rows: ``(e164, facts)`` instead of a ``Phone``.

    Numbers read by the fast path share one ``NumberFacts`` per deciding prefix, so an
    accepted plain number costs two small strings and a pair, no object of its own."""
    if raw.isascii() and raw.isprintable():
        text = raw
    else:
        text = raw.translate(_NORMALISE)
        if not (text.isascii() and text.isprintable()):
            text = ""
    if text:
        # Runs once per contact row: plain ASCII without dots (so no ``.0`` to undo) skips
        # ``_prepare``; what it deletes here, ``_prepare`` would delete too.
        national = _fast_national(text.encode("ascii").translate(None, b" -()").decode("ascii"))
        if national is not None:
            facts = plus7_facts(national)
            if (
                facts.valid
                and facts.region in allowed_countries
                and (facts.is_mobile or not require_mobile)
            ):
                return "7" + national, facts
            return _decide("7" + national, facts, text, allowed_countries, require_mobile)
    prepared = _prepare(raw)
    if isinstance(prepared, PhoneReject):
        return prepared
    text, compact = prepared
    national = _fast_national(compact)
    if national is not None:
        return _decide(
            "7" + national, plus7_facts(national), text, allowed_countries, require_mobile
        )
    return _judge_with_library(text, allowed_countries, require_mobile)


def normalize_phone_reference(
    raw: str, *, allowed_countries: frozenset[str] = RU_ONLY, require_mobile: bool = False
) -> Phone | PhoneReject:
    """``normalize_phone`` without the fast path: phonenumbers judges every number.

    The fast path must agree with this on every input; tests and benchmarks use it."""
    prepared = _prepare(raw)
    if isinstance(prepared, PhoneReject):
        return prepared
    result = _judge_with_library(prepared[0], allowed_countries, require_mobile)
    if isinstance(result, PhoneReject):
        return result
    e164, facts = result
    return Phone(e164, facts.region, facts.is_mobile, facts.timezones)


def _prepare(raw: str) -> tuple[str, str] | PhoneReject:
    """Undo spreadsheet damage. Returns (text for phonenumbers, text without punctuation)."""
    text = (raw if raw.isascii() and raw.isprintable() else raw.translate(_NORMALISE)).strip()
    first = text[:1]
    if first == "'":
        text = text[1:].lstrip()
        first = text[:1]
    if (first == "t" or first == "T") and text[:4].lower() == "tel:":
        text = text[4:].lstrip()
    compact = _strip_punctuation(text)
    if _is_plain(compact):
        if "." in text and _EXCEL_FLOAT.fullmatch(text):
            text = text[: text.index(".")]
            compact = text
        return text, compact
    if not any(char.isalnum() for char in text):
        return PhoneReject(RejectReason.EMPTY, "no digits" if text else "empty cell")
    if "e" in compact or "E" in compact:
        scientific = _SCIENTIFIC.fullmatch(text.replace(" ", ""))
        if scientific:
            return _from_scientific(text, *scientific.groups())
    extension = _EXTENSION.search(text)
    if extension and extension.start() > 0:
        text = text[: extension.start()]
        compact = _strip_punctuation(text)
    return text, compact


def _strip_punctuation(text: str) -> str:
    if text.isascii():
        return text.encode("ascii").translate(None, _ASCII_PUNCTUATION).decode("ascii")
    return text.translate(_PUNCTUATION)


def _is_plain(compact: str) -> bool:
    if compact[:1] == "+":
        compact = compact[1:]
    return compact.isascii() and compact.isdigit()


def _from_scientific(
    shown: str, whole: str, fraction: str | None, exponent: str
) -> tuple[str, str] | PhoneReject:
    """``7,9161234567E+10`` -> ``79161234567``; rejects when Excel rounded digits away."""
    fraction = fraction or ""
    power = int(exponent)
    value = Decimal(f"{whole}.{fraction or '0'}").scaleb(power)
    if power < 0 or value != value.to_integral_value():
        return PhoneReject(
            RejectReason.SCIENTIFIC_NOTATION,
            f"Excel scientific notation {shown} is not a whole number",
        )
    digits = str(int(value))
    if len(fraction) < power:
        return PhoneReject(
            RejectReason.SCIENTIFIC_NOTATION,
            f"Excel damage: {shown} lost {power - len(fraction)} of {len(digits)} digits; "
            "never guessed (format the column as text and export again)",
        )
    return digits, digits


def _fast_national(compact: str) -> str | None:
    """The 10-digit +7 national number when ``compact`` is a plain Russian form, else None.

    Plain forms: ``+7`` and 10 digits, 11 digits starting with 7 or 8, 10 digits. Numbers
    whose national part starts with 0-2, 5 or 6 take unusual routes through phonenumbers'
    parser (the 7 is not taken as the country code): they are left to it.
    """
    size = len(compact)
    if size == 11:
        first = compact[0]
        if first != "7" and first != "8":
            return None
        national = compact[1:]
    elif size == 10:
        national = compact
    elif size == 12 and compact[0] == "+" and compact[1] == "7":
        national = compact[2:]
    else:
        return None
    if "3" <= national[0] <= "9" and national.isdigit() and national.isascii():
        return national
    return None


def _judge_with_library(
    text: str, allowed_countries: frozenset[str], require_mobile: bool
) -> tuple[str, NumberFacts] | PhoneReject:
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException as error:
        problem = _PARSE_ERRORS.get(error.error_type, "not a phone number")
        return PhoneReject(RejectReason.UNPARSEABLE, f"{problem}: {text!r}")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164).lstrip("+")
    return _decide(e164, number_facts(number), text, allowed_countries, require_mobile)


def _decide(
    e164: str,
    facts: NumberFacts,
    text: str,
    allowed_countries: frozenset[str],
    require_mobile: bool,
) -> tuple[str, NumberFacts] | PhoneReject:
    if not facts.valid:
        digits = sum(char.isdigit() for char in text)
        return PhoneReject(RejectReason.INVALID, f"not a valid phone number ({digits} digits)")
    if facts.region not in allowed_countries:
        allowed = ", ".join(sorted(allowed_countries)) or "none"
        return PhoneReject(
            RejectReason.COUNTRY_NOT_ALLOWED,
            f"+{e164} is a {facts.region or 'non-geographic'} number; allowed: {allowed}",
        )
    if require_mobile and not facts.is_mobile:
        kind = _TYPE_NAMES.get(facts.number_type, "not a mobile number")
        return PhoneReject(RejectReason.NOT_MOBILE, f"+{e164} is {kind}, not a mobile")
    return e164, facts


def resolve_timezone(
    phone: Phone, explicit: str | None, default: str
) -> tuple[str, tuple[str, ...]]:
    """The zone to schedule ``phone`` in, and every zone it may be in (for strict windows).

    ``explicit`` (a row's ``timezone`` cell) wins when it is an IANA name; a blank or unknown
    one is ignored. Otherwise the number's zone when phonenumbers gives exactly one, else
    ``default``. The candidates are the number's zones, or the chosen zone alone when the
    number has none or the zone came from ``explicit``.
    """
    return zones_for(phone.timezones, explicit, default)


def zones_for(
    timezones: tuple[str, ...], explicit: str | None, default: str
) -> tuple[str, tuple[str, ...]]:
    """``resolve_timezone`` for a number's ``timezones`` (``Phone.timezones`` or
    ``NumberFacts.timezones``)."""
    if explicit is not None and _is_zone(explicit.strip()):
        zone = explicit.strip()
        return zone, (zone,)
    if len(timezones) == 1:
        return timezones[0], timezones
    return default, timezones or (default,)


@lru_cache(maxsize=1024)
def _is_zone(name: str) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
