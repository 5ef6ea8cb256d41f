"""Cell values safe to open in a spreadsheet."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def escape_formula(value: str) -> str:
    """Prefix a ``'`` to text a spreadsheet would evaluate (OWASP CSV injection guidance):
    cells starting with ``= + - @``, tab, CR or LF."""
    if value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def text_cell(value: object) -> str:
    """A value as safe spreadsheet text: ``None`` is empty, datetimes are ISO 8601 UTC."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return escape_formula(str(value))


def decimal_value(value: object) -> Decimal | None:
    """A money amount stored as decimal text (``"2.98"``, as MTT sent it) as a finite
    ``Decimal``; ``None`` for ``None`` and for text that is not a finite number."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
