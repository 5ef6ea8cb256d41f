"""Pure parsers for Telecom API results: balances and call-history records.

The API sends numbers as strings (``"charged_time": "0"``) or JSON numbers (``"charged": 2.48``);
parsers convert them to ``int``/``Decimal`` and raise ``ProviderError`` naming the field when a
value is present but unreadable. Missing fields are ``None``. Record times are platform time,
documented as UTC (``customer_local_time``: "Время платформы (UTC)").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from dialer.errors import ProviderError

HISTORY_KINDS = ("incoming", "missed", "dialed", "callback", "forwarded")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's balance in its currency (roubles); ``real_balance`` is the full balance."""

    balance: Decimal
    real_balance: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call of a history. ``cld`` is the B-number (sent as ``cld`` or ``clid``);
    ``charged_time``, ``used_quantity`` are seconds, ``setup_time_ms`` milliseconds,
    ``charged`` is in ``curr``; times are aware UTC datetimes."""

    cli: str | None = None
    cld: str | None = None
    customer_local_time: datetime | None = None
    connect_time: datetime | None = None
    charged_time: int | None = None
    charged: Decimal | None = None
    destination: str | None = None
    curr: str | None = None
    disconnect_cause: int | None = None
    used_quantity: int | None = None
    h323_conf_id: str | None = None
    h323_incoming_conf_id: str | None = None
    setup_time_ms: int | None = None
    account_id: str | None = None
    voice_record_exist: bool | None = None


@dataclass(frozen=True, slots=True)
class CallHistory:
    """Calls by kind; a kind the answer does not mention is empty."""

    incoming: tuple[CallRecord, ...] = ()
    missed: tuple[CallRecord, ...] = ()
    dialed: tuple[CallRecord, ...] = ()
    callback: tuple[CallRecord, ...] = ()
    forwarded: tuple[CallRecord, ...] = ()


def parse_balance_result(result: object) -> Balance:
    """``{"balance": 121.54, "real_balance": 711.54}`` -> ``Balance``. Raises ``ProviderError``
    when ``balance`` is missing or unreadable."""
    fields = _mapping(result, "balance result")
    balance = _decimal(fields.get("balance"), "balance")
    if balance is None:
        raise ProviderError("balance result has no balance", raw=repr(result))
    return Balance(
        balance=balance, real_balance=_decimal(fields.get("real_balance"), "real_balance")
    )


def parse_call_history_result(result: object) -> CallHistory:
    """The ``result`` of getCallHistory or getServiceHistoryByCustomer -> ``CallHistory``.
    Raises ``ProviderError`` when a list or a field in it is unreadable."""
    fields = _mapping(result, "history result")
    kinds: dict[str, tuple[CallRecord, ...]] = {}
    for kind in HISTORY_KINDS:
        records = fields.get(kind)
        if records is None:
            continue
        if not isinstance(records, list):
            raise ProviderError(f"history {kind} is not a list", raw=repr(records))
        kinds[kind] = tuple(parse_call_record(record) for record in records)
    return CallHistory(**kinds)


def parse_call_record(record: object) -> CallRecord:
    """One history record. Raises ``ProviderError`` naming the unreadable field."""
    fields = _mapping(record, "history record")
    cld = fields.get("cld", fields.get("clid"))
    return CallRecord(
        cli=_text(fields.get("cli")),
        cld=_text(cld),
        customer_local_time=_time(fields.get("customer_local_time"), "customer_local_time"),
        connect_time=_time(fields.get("connect_time"), "connect_time"),
        charged_time=_int(fields.get("charged_time"), "charged_time"),
        charged=_decimal(fields.get("charged"), "charged"),
        destination=_text(fields.get("destination")),
        curr=_text(fields.get("curr")),
        disconnect_cause=_int(fields.get("disconnect_cause"), "disconnect_cause"),
        used_quantity=_int(fields.get("used_quantity"), "used_quantity"),
        h323_conf_id=_text(fields.get("h323_conf_id")),
        h323_incoming_conf_id=_text(fields.get("h323_incoming_conf_id")),
        setup_time_ms=_int(fields.get("setup_time_ms"), "setup_time_ms"),
        account_id=_text(fields.get("account_id")),
        voice_record_exist=_bool(fields.get("voice_record_exist"), "voice_record_exist"),
    )


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ProviderError(f"{what} is not an object", raw=repr(value))
    return value


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _int(value: object, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise ProviderError(f"{field} is not an integer", raw=repr(value))


def _decimal(value: object, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float | Decimal | str) and not isinstance(value, bool):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = Decimal("NaN")
        if number.is_finite():
            return number
    raise ProviderError(f"{field} is not a number", raw=repr(value))


def _time(value: object, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.strptime(str(value), _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ProviderError(f"{field} is not 'YYYY-MM-DD HH:MM:SS'", raw=repr(value)) from exc


def _bool(value: object, field: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    raise ProviderError(f"{field} is not a boolean", raw=repr(value))
