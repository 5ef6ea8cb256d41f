"""Reading numbers for the DNC list from the command line or a file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from dialer.errors import UserError
from dialer.loader.phones import PhoneReject, normalize_phone
from dialer.loader.reading import find_phone_column, open_csv
from dialer.loader.rejects import RejectsFile

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


MIN_USABLE_SHARE = 0.5
"""A file where fewer of the lines hold a phone number is refused whole: it is most likely
the wrong file (a campaign file, a report), whose few digit runs are not opt-outs."""


@dataclass(frozen=True)
class DncFile:
    """What a DNC file holds: its usable numbers, how many lines were read, and the rejects
    file listing every unusable line with its number and why (``None`` when all were good)."""

    numbers: list[str]
    lines: int
    rejected: int
    rejects_file: str | None


def default_dnc_rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.dnc-rejects.csv")


def read_dnc_file(
    path: Path, phone_column: str | None, rejects_path: Path | None = None
) -> DncFile:
    """Numbers from a CSV (same encodings and delimiters as ``dialer load``).

    A file with a single column and no recognisable header is read as a plain list of
    numbers. Unusable lines go to the rejects file. Raises ``UserError`` naming the file when
    fewer than half of its lines hold a phone number (nothing is added then).
    """
    numbers: list[str] = []
    lines = 0
    rejects = RejectsFile(rejects_path or default_dnc_rejects_path(path))
    try:
        with open_csv(path) as source:
            header = source.header
            try:
                index = find_phone_column(header, phone_column)
            except UserError:
                if phone_column or len(header) != 1:
                    raise
                index = 0
                lines += 1
                first = normalize_phone(header[0], allowed_countries=_ANY_COUNTRY)
                if isinstance(first, PhoneReject):
                    rejects.add(1, header[0], first.reason.value, first.detail)
                else:
                    numbers.append(first.e164)
            for line_no, values in source:
                lines += 1
                raw = values[index] if index < len(values) else ""
                result = normalize_phone(raw, allowed_countries=_ANY_COUNTRY)
                if isinstance(result, PhoneReject):
                    rejects.add(line_no, raw, result.reason.value, result.detail)
                else:
                    numbers.append(result.e164)
    finally:
        rejects.close()
    listed = f"; unusable lines listed in {rejects.path}" if rejects.count else ""
    if lines and len(numbers) < lines * MIN_USABLE_SHARE:
        raise UserError(
            f"{path}: only {len(numbers)} of {lines} lines hold a phone number; is this the "
            f"right file? nothing was added{listed}"
        )
    return DncFile(
        numbers=numbers,
        lines=lines,
        rejected=rejects.count,
        rejects_file=str(rejects.path) if rejects.count else None,
    )
