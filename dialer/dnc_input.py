"""Reading numbers for the DNC list from the command line or a file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import phonenumbers

from dialer.errors import UserError
from dialer.loader.phones import PhoneReject, normalize_phone
from dialer.loader.reading import find_phone_column, open_csv

_ANY_COUNTRY = frozenset(phonenumbers.SUPPORTED_REGIONS)


def normalize_dnc_numbers(raw_numbers: Iterable[str], *, source: str) -> list[str]:
    """E.164 digits for each number. Raises ``UserError`` naming the first bad one."""
    numbers: list[str] = []
    for raw in raw_numbers:
        result = normalize_phone(raw, allowed_countries=_ANY_COUNTRY)
        if isinstance(result, PhoneReject):
            raise UserError(
                f"{source}: {raw!r} is not a usable phone number ({result.reason.value})"
            )
        numbers.append(result.e164)
    return numbers


def read_dnc_file(path: Path, phone_column: str | None) -> tuple[list[str], int]:
    """Numbers from a CSV (same encodings and delimiters as ``dialer load``).

    Returns ``(numbers, unusable_lines)``. A file with a single column and no recognisable
    header is read as a plain list of numbers.
    """
    numbers: list[str] = []
    unusable = 0
    with open_csv(path) as source:
        header = source.header
        try:
            index = find_phone_column(header, phone_column)
        except UserError:
            if phone_column or len(header) != 1:
                raise
            index = 0
            first = normalize_phone(header[0], allowed_countries=_ANY_COUNTRY)
            if not isinstance(first, PhoneReject):
                numbers.append(first.e164)
        for _line_no, values in source:
            raw = values[index] if index < len(values) else ""
            result = normalize_phone(raw, allowed_countries=_ANY_COUNTRY)
            if isinstance(result, PhoneReject):
                unusable += 1
            else:
                numbers.append(result.e164)
    return numbers, unusable
