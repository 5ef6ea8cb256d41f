"""Pure readers of the UIS Call API's answers: ``login.user`` (a session key and when it
expires) and ``start.simple_call`` (the call's ``call_session_id``), and the mapping of every
UIS error onto ``dialer.errors``. No I/O; ``uis`` sends the requests.

UIS errors are JSON-RPC errors whose ``data.mnemonic`` names them (the Call API's "Сообщения
об ошибках" and "Список ошибок общих для всех методов", and the method's own list). The
mnemonic decides; the code decides only for a mnemonic we do not know. Quirks and sources:
docs/callback-uis.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from dialer.errors import (
    ContactBlockedError,
    InvalidNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    TransientProviderError,
    UnknownOutcomeError,
)

LOGIN_METHOD = "login.user"
SIMPLE_CALL_METHOD = "start.simple_call"
SESSION_LIFETIME_SECONDS = 3600
"""A session key lives 1 hour (Call API, "Вход"); used when ``expire_at`` is unreadable."""

TOKEN_REFUSED = frozenset({"access_token_invalid", "access_token_expired"})
"""The key is unknown or its time is up: a session key is renewed once, then it is auth."""
CONTACT_BLOCKED = frozenset({"contact_in_blacklist"})
RATE_LIMITED = frozenset({"limit_exceeded"})
AUTH_REFUSED = frozenset({"access_token_blocked", "auth_error", "ip_not_whitelisted", "forbidden"})
CONTACT_INVALID = frozenset({"own_virtual_phone_number_not_allowed"})
"""The contact is one of the account's own virtual numbers: that contact, not the campaign."""
CAMPAIGN_REFUSED = frozenset(
    {
        "virtual_phone_number_not_found",
        "tts_text_exceeded",
        "media_file_not_found",
        "character_encoding_not_allowed",
        "invalid_parameters_combination",
        "unexpected_parameters",
        "required_parameter_missed",
        "method_not_found",
        "parse_error",
        "invalid_request",
        "component_disabled",
        "account_inactive",
        "batch_opreations_not_supported",  # sic: the doc's spelling
        "notifications_not_supported",
    }
)
"""Every further call of the campaign would be refused alike: pause it."""
BAD_VALUE = frozenset({"invalid_parameter_value", "data_type_error"})
"""About the contact when ``data.field`` is ``contact``, else about the campaign's request."""
INTERNAL = frozenset({"internal_error"})

_AUTH_CODES = (-32001, -32003)
_CAMPAIGN_CODES = (-32700, -32600, -32601, -32602, -32007, -32008, -32009, -32099)


@dataclass(frozen=True, slots=True)
class UisError:
    """One JSON-RPC ``error``: ``mnemonic``, ``field`` and ``value`` come from its ``data``."""

    code: int | None
    message: str
    mnemonic: str = ""
    field: str | None = None
    value: str | None = None

    def describe(self) -> str:
        text = f"{self.code} {self.mnemonic or '-'}: {self.message}".strip()
        return f"{text} (field {self.field})" if self.field else text


@dataclass(frozen=True, slots=True)
class UisSession:
    """A session key from ``login.user``; ``expire_at`` in Unix seconds."""

    access_token: str
    expire_at: float


@dataclass(frozen=True, slots=True)
class UisCallStarted:
    """UIS accepted the call; ``call_session_id`` as text (the doc types it a number)."""

    call_session_id: str
    raw: str = ""


class UisTokenError(ProviderAuthError):
    """``access_token_invalid``/``access_token_expired``: a session key is renewed once and
    the request sent again; past that (or with a permanent key) it is an auth error."""


def read_login_answer(status_code: int, body: str, *, now: float) -> UisSession:
    """The session key in a ``login.user`` answer; ``now`` is Unix seconds. A missing or
    unreadable ``expire_at`` is taken as the documented hour from ``now``.

    Raises as ``uis_error`` says, or ``ProviderError`` for an answer that cannot be read."""
    result, error = _split(body)
    if error is not None:
        raise uis_error(LOGIN_METHOD, error, body, status_code, placing=False)
    data = result.get("data") if isinstance(result, dict) else None
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise ProviderError(
            f"{LOGIN_METHOD}: no access_token (HTTP {status_code})",
            raw=_without_secrets(body),
            status_code=status_code,
        )
    assert isinstance(data, dict)
    expire_at = _number(data.get("expire_at"))
    return UisSession(token, expire_at if expire_at is not None else now + SESSION_LIFETIME_SECONDS)


def read_simple_call_answer(status_code: int, body: str) -> UisCallStarted:
    """The ``call_session_id`` of an accepted ``start.simple_call``, or raise.

    Errors map as ``uis_error`` says. A 2xx answer that cannot be read, or that has no
    ``call_session_id``, is ``UnknownOutcomeError``: the operator may be ringing. Another
    unreadable answer (a 404 page) is ``ProviderRefusedError``, campaign-level for 404/405.
    Statuses 401/403/429/5xx are classified before this by ``raise_for_transport_status``.
    """
    try:
        result, error = _split(body)
    except ProviderError as exc:
        raise _unreadable(status_code, body) from exc
    if error is not None:
        raise uis_error(SIMPLE_CALL_METHOD, error, body, status_code, placing=True)
    data = result.get("data") if isinstance(result, dict) else None
    session_id = data.get("call_session_id") if isinstance(data, dict) else None
    if isinstance(session_id, int) and not isinstance(session_id, bool):
        return UisCallStarted(str(session_id), body)
    if isinstance(session_id, str) and session_id.strip().isdigit():
        return UisCallStarted(session_id.strip(), body)
    raise UnknownOutcomeError(
        f"{SIMPLE_CALL_METHOD}: accepted without call_session_id",
        raw=body,
        status_code=status_code,
    )


def uis_error(
    method: str, error: UisError, body: str, status_code: int, *, placing: bool
) -> ProviderError:
    """The ``dialer.errors`` class of one UIS error. ``placing`` is true for a request that
    may ring someone: an internal error there may have started the call (unknown outcome);
    elsewhere it is transient."""
    text = f"{method}: {error.describe()}"
    raw = _without_secrets(body)
    mnemonic = error.mnemonic
    if mnemonic in TOKEN_REFUSED:
        return UisTokenError(text, raw=raw, status_code=status_code)
    if mnemonic in CONTACT_BLOCKED:
        return ContactBlockedError(text, raw=raw, status_code=status_code)
    if mnemonic in RATE_LIMITED:
        return TransientProviderError(text, raw=raw, status_code=status_code)
    if mnemonic in AUTH_REFUSED:
        return ProviderAuthError(text, raw=raw, status_code=status_code)
    if mnemonic in CONTACT_INVALID or (mnemonic in BAD_VALUE and error.field == "contact"):
        return InvalidNumberError(text, raw=raw, status_code=status_code)
    if mnemonic in CAMPAIGN_REFUSED or mnemonic in BAD_VALUE:
        return ProviderRefusedError(text, raw=raw, status_code=status_code, campaign_level=True)
    if mnemonic in INTERNAL or error.code == -32603:
        if placing:
            return UnknownOutcomeError(text, raw=raw, status_code=status_code)
        return TransientProviderError(text, raw=raw, status_code=status_code)
    return _by_code(text, error.code, raw, status_code)


def _by_code(text: str, code: int | None, raw: str, status_code: int) -> ProviderError:
    """An error whose mnemonic we do not know, by the doc's code groups."""
    if code in _AUTH_CODES:
        return ProviderAuthError(text, raw=raw, status_code=status_code)
    if code == -32029:
        return TransientProviderError(text, raw=raw, status_code=status_code)
    # -32002 (security rules forbid this direction) and -32004 (methods out of order) concern
    # this call; anything else unknown as well.
    return ProviderRefusedError(
        text, raw=raw, status_code=status_code, campaign_level=code in _CAMPAIGN_CODES
    )


def is_rpc_error(body: str) -> bool:
    """Whether ``body`` is a JSON-RPC error answer (then its mnemonic says more than the HTTP
    status it came with)."""
    try:
        _, error = _split(body)
    except ProviderError:
        return False
    return error is not None


def _split(body: str) -> tuple[object, UisError | None]:
    """``(result, None)`` or ``(None, error)``; ``ProviderError`` when not JSON-RPC."""
    try:
        value: object = json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise ProviderError("UIS Call API: answer is not JSON", raw=body) from exc
    if not isinstance(value, dict) or ("result" not in value and "error" not in value):
        raise ProviderError("UIS Call API: answer is not JSON-RPC", raw=body)
    error = value.get("error")
    if error is None:
        return value.get("result"), None
    if not isinstance(error, dict):
        return None, UisError(code=None, message=str(error))
    code = error.get("code")
    data = error.get("data")
    details = data if isinstance(data, dict) else {}
    mnemonic = details.get("mnemonic")
    field = details.get("field")
    given = details.get("value")
    return None, UisError(
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        message=str(error.get("message") or ""),
        mnemonic=mnemonic if isinstance(mnemonic, str) else "",
        field=field if isinstance(field, str) and field else None,
        value=None if given is None else str(given),
    )


def _unreadable(status_code: int, body: str) -> ProviderError:
    if 200 <= status_code < 300:
        return UnknownOutcomeError(
            f"{SIMPLE_CALL_METHOD}: unreadable answer to an accepted request",
            raw=body,
            status_code=status_code,
        )
    return ProviderRefusedError(
        f"{SIMPLE_CALL_METHOD}: HTTP {status_code}",
        raw=body,
        status_code=status_code,
        campaign_level=status_code in (404, 405),
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return float(value)
    if isinstance(value, str) and value.strip().isdigit():
        return float(value.strip())
    return None


def _without_secrets(body: str) -> str:
    """A login answer holds the session key: never keep it in an error's ``raw``."""
    return "" if "access_token" in body else body
