"""Pure readers of Bitrix24 REST answers: ``voximplant.callback.start`` (the call id) and
``voximplant.line.get`` (the portal's lines), and the mapping of every error answer onto
``dialer.errors``. No I/O; ``bitrix24`` sends the requests.

Sources (docs/callback-bitrix24.md lists each quirk):

- success: ``{"result": {"RESULT": true, "CALL_ID": "callback.<hex>.<unix time>"}, "time":
  {...}}``, HTTP 200 -
  https://apidocs.bitrix24.com/api-reference/telephony/voximplant/voximplant-callback-start.html
- method errors: HTTP 400/403 ``{"error": "ERROR_CORE", "error_description": "Could not
  find line reg000000"}``, ``Could not find config for number <LINE_ID>``, ``Phone number
  is not correct``, ``ACCESS_DENIED`` (same page);
- errors any method may answer (``QUERY_LIMIT_EXCEEDED`` 503, ``OPERATION_TIME_LIMIT``
  429, ``NO_AUTH_FOUND``/``INVALID_CREDENTIALS``/``insufficient_scope``... 401,
  ``ERROR_METHOD_NOT_FOUND`` 404, ``INTERNAL_SERVER_ERROR`` 500, ``PORTAL_DELETED`` 403);
  ``error`` "may arrive empty - in that case only error_description shows the reason" -
  the "system errors" table of every method page (``_includes/system-errors.md`` and
  ``_includes/error-info.md`` in github.com/bitrix24/b24restdocs).

Messages never carry the request URL (it holds the webhook's secret code); ``raw`` is the
answer body, which the client scrubs as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dialer.errors import (
    InvalidNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    TransientProviderError,
    UnknownOutcomeError,
)

CALLBACK_START_METHOD = "voximplant.callback.start"
LINE_GET_METHOD = "voximplant.line.get"

RATE_LIMIT_CODES = frozenset({"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT"})
"""Not processed: the leaky-bucket limit (503) or the method's execution-time budget (429).
Safe to send again later."""
AUTH_CODES = frozenset(
    {
        "NO_AUTH_FOUND",
        "INVALID_CREDENTIALS",
        "INSUFFICIENT_SCOPE",
        "EXPIRED_TOKEN",
        "USER_ACCESS_ERROR",
        "ACCESS_DENIED",
        "OVERLOAD_LIMIT",
        "PORTAL_DELETED",
    }
)
"""The webhook, its user's rights, its scope or the portal itself: every request fails
alike until a person fixes it (compared upper-cased: ``insufficient_scope`` is lower)."""
CAMPAIGN_CODES = frozenset({"ERROR_METHOD_NOT_FOUND", "INVALID_REQUEST"})
"""Our URL is wrong (no such method, or ``Https required``): pause, do not retry."""
SERVER_CODES = frozenset({"INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"})
"""The portal ran the method and failed: a callback may have been started."""
ERROR_CORE = "ERROR_CORE"
_WRONG_LINE = ("could not find line", "could not find config for number")
_WRONG_NUMBER = ("phone number is not correct",)
_FALSE = (False, 0, "0", "false", "N", "n")


@dataclass(frozen=True, slots=True)
class CallbackStarted:
    """Bitrix24 started the callback; ``call_id`` is its ``CALL_ID``."""

    call_id: str
    raw: str = ""


@dataclass(frozen=True, slots=True)
class RestError:
    """An answer's ``error`` (may be empty) and ``error_description``."""

    code: str
    description: str

    def text(self) -> str:
        return " ".join(part for part in (self.code, self.description) if part) or "error"


def read_callback_start_answer(status_code: int, body: str) -> CallbackStarted:
    """The call id of a ``voximplant.callback.start`` answer, or raise.

    ``InvalidNumberError``: ``Phone number is not correct``.
    ``ProviderRefusedError(campaign_level=True)``: ``Could not find line``/``config for
    number`` (the campaign's line), no such method, plain http, a redirect, a 404.
    ``ProviderAuthError``: ``ACCESS_DENIED`` and the 401 family, ``PORTAL_DELETED``.
    ``TransientProviderError``: ``QUERY_LIMIT_EXCEEDED``, ``OPERATION_TIME_LIMIT``, a front
    proxy's 502/503 page.
    ``UnknownOutcomeError``: a 2xx answer without a ``CALL_ID`` (or unreadable), a 500, a
    504 - the agents' line may be ringing, so it is never sent again.
    ``ProviderRefusedError``: ``RESULT: false`` and any other refusal.
    """
    document = _json_object(body)
    error = _rest_error(document)
    if error is not None or not 200 <= status_code < 300:
        raise classify_error(CALLBACK_START_METHOD, status_code, body, error, acted=True)
    result = document.get("result") if document is not None else None
    if not isinstance(result, dict):
        raise UnknownOutcomeError(
            f"{CALLBACK_START_METHOD}: accepted without a result object",
            raw=body,
            status_code=status_code,
        )
    flag = result.get("RESULT")
    if flag in _FALSE:
        # "RESULT: true - callback successfully initiated"; false is the method saying no.
        raise ProviderRefusedError(
            f"{CALLBACK_START_METHOD}: RESULT is false", raw=body, status_code=status_code
        )
    call_id = result.get("CALL_ID")
    if isinstance(call_id, str | int) and not isinstance(call_id, bool) and str(call_id):
        return CallbackStarted(call_id=str(call_id), raw=body)
    raise UnknownOutcomeError(
        f"{CALLBACK_START_METHOD}: accepted without CALL_ID (RESULT {flag!r})",
        raw=body,
        status_code=status_code,
    )


def read_line_get_answer(status_code: int, body: str) -> dict[str, str]:
    """``{LINE_ID: LINE_NAME}`` of a ``voximplant.line.get`` answer. It is a read: an answer
    that may come from a failed run is ``TransientProviderError``, not unknown; an
    unreadable success is ``ProviderError``."""
    document = _json_object(body)
    error = _rest_error(document)
    if error is not None or not 200 <= status_code < 300:
        raise classify_error(LINE_GET_METHOD, status_code, body, error, acted=False)
    result = document.get("result") if document is not None else None
    # PHP encodes an empty array as [] rather than {}.
    if result == []:
        return {}
    if not isinstance(result, dict):
        raise ProviderError(
            f"{LINE_GET_METHOD}: no result object", raw=body, status_code=status_code
        )
    return {str(line): str(name) for line, name in result.items()}


def classify_error(
    method: str, status_code: int, body: str, error: RestError | None, *, acted: bool
) -> ProviderError:
    """The ``ProviderError`` for an error answer. ``acted`` is whether a failed run may
    still have done something (``voximplant.callback.start``): then a 500/504 is unknown."""
    if error is not None:
        known = _by_code(method, status_code, body, error, acted=acted)
        if known is not None:
            return known
    return _by_status(method, status_code, body, error, acted=acted)


def _by_code(
    method: str, status_code: int, body: str, error: RestError, *, acted: bool
) -> ProviderError | None:
    code = error.code.upper()
    text = f"{method}: {error.text()}"
    lowered = error.description.lower()
    if code in RATE_LIMIT_CODES:
        return TransientProviderError(text, raw=body, status_code=status_code)
    if code in AUTH_CODES:
        return ProviderAuthError(text, raw=body, status_code=status_code)
    if code in CAMPAIGN_CODES:
        return ProviderRefusedError(text, raw=body, status_code=status_code, campaign_level=True)
    if code in SERVER_CODES:
        return _server_failure(text, body, status_code, acted=acted)
    if code in (ERROR_CORE, ""):
        if lowered.startswith(_WRONG_LINE):
            return ProviderRefusedError(
                text, raw=body, status_code=status_code, campaign_level=True
            )
        if lowered.startswith(_WRONG_NUMBER):
            return InvalidNumberError(text, raw=body, status_code=status_code)
        if code == ERROR_CORE:
            return ProviderRefusedError(text, raw=body, status_code=status_code)
    return None


def _by_status(
    method: str, status_code: int, body: str, error: RestError | None, *, acted: bool
) -> ProviderError:
    """An undocumented code, or no readable body: the status decides, the way
    ``dialer.providers.http`` reads a proxy's answers."""
    text = f"{method}: HTTP {status_code}" + (f" {error.text()}" if error is not None else "")
    if 200 <= status_code < 300:
        if error is not None:
            return ProviderRefusedError(text, raw=body, status_code=status_code)
        if acted:
            return UnknownOutcomeError(
                f"{method}: unreadable answer to an accepted request",
                raw=body,
                status_code=status_code,
            )
        return ProviderError(f"{method}: unreadable answer", raw=body, status_code=status_code)
    if 300 <= status_code < 400:
        return ProviderRefusedError(
            f"{text}: the webhook URL redirects (not followed); set the final URL",
            raw=body,
            status_code=status_code,
            campaign_level=True,
        )
    if status_code in (401, 403):
        return ProviderAuthError(text, raw=body, status_code=status_code)
    if status_code == 429:
        return TransientProviderError(text, raw=body, status_code=status_code)
    if status_code in (500, 504):
        return _server_failure(text, body, status_code, acted=acted)
    if status_code >= 500:
        return TransientProviderError(text, raw=body, status_code=status_code)
    return ProviderRefusedError(
        text, raw=body, status_code=status_code, campaign_level=status_code in (404, 405)
    )


def _server_failure(text: str, body: str, status_code: int, *, acted: bool) -> ProviderError:
    if acted:
        return UnknownOutcomeError(text, raw=body, status_code=status_code)
    return TransientProviderError(text, raw=body, status_code=status_code)


def _json_object(body: str) -> dict[str, object] | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _rest_error(document: dict[str, object] | None) -> RestError | None:
    """``error``/``error_description`` when the answer has them (``error`` may be empty)."""
    if document is None or ("error" not in document and "error_description" not in document):
        return None
    code, description = document.get("error"), document.get("error_description")
    return RestError(
        code=code if isinstance(code, str) else "" if code is None else str(code),
        description=description if isinstance(description, str) else "",
    )
