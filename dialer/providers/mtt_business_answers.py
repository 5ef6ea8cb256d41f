"""Pure readers of MTT Business Open API answers: ``makeCall`` (the call id) and
``workplacesInfo`` (the workplaces). No I/O; ``mtt_business`` sends the requests.

The doc prints one success answer per method and no error answer at all; how refusals are
read (an ``error`` object or text, or ``success: 0`` with a message) is the conservative
guess documented in docs/callback-mtt-business.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.errors import (
    InvalidNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    UnknownOutcomeError,
)
from dialer.providers.loose_json import loads_lenient

MAKE_CALL_METHOD = "makeCall"
WORKPLACES_METHOD = "workplacesInfo"
_CONTACT_WORDS = ("calleid", "callee", "number", "номер")
_AGENT_WORDS = ("callerid", "caller", "workplace", "sip id", "рабоч", " рм")
_AUTH_WORDS = ("unauthori", "forbidden", "permission", "denied", "token", "scope")


@dataclass(frozen=True, slots=True)
class Workplace:
    """One workplace (РМ): ``workplace`` is its SIP ID, the ``callerId`` of ``makeCall``."""

    workplace: str
    name: str = ""


def read_make_call_answer(status_code: int, body: str) -> str:
    """The call id of an accepted ``makeCall`` (``result.call.id``), or raise.

    - ``InvalidNumberError``: a refusal whose text names the called number (``calleid``).
    - ``ProviderRefusedError(campaign_level=True)``: a refusal naming the workplace
      (``callerId``), HTTP 400/404/405/422 without such a hint (our request is wrong for
      every contact, or the API URL is).
    - ``ProviderAuthError``: a refusal about the token or permissions.
    - ``ProviderRefusedError``: any other refusal (``success: 0``).
    - ``UnknownOutcomeError``: a 2xx answer that is unreadable, or says success without a
      call id (a call may be ringing the agent: never sent again).
    HTTP 401, 403, 429 and 5xx are handled before this (``MttBusinessClient``).
    """
    document = _json_object(body)
    ok = 200 <= status_code < 300
    if document is None:
        if ok:
            raise UnknownOutcomeError(
                f"{MAKE_CALL_METHOD}: unreadable answer to an accepted request",
                raw=body,
                status_code=status_code,
            )
        raise _refusal(f"HTTP {status_code}", body, status_code)
    result = document.get("result")
    failure = _failure_text(document, result)
    if failure is not None or not ok:
        raise _refusal(failure or f"HTTP {status_code}", body, status_code)
    call = result.get("call") if isinstance(result, dict) else None
    call_id = call.get("id") if isinstance(call, dict) else None
    if isinstance(call_id, str | int) and not isinstance(call_id, bool) and str(call_id).strip():
        return str(call_id).strip()
    raise UnknownOutcomeError(
        f"{MAKE_CALL_METHOD}: accepted without a call id", raw=body, status_code=status_code
    )


def read_workplaces_answer(status_code: int, body: str) -> list[Workplace]:
    """The workplaces of ``workplacesInfo`` (``result.workplacesList``). Raises
    ``ProviderError`` when the answer is a refusal or cannot be read."""
    document = _json_object(body)
    result = document.get("result") if document is not None else None
    failure = _failure_text(document, result) if document is not None else None
    if failure is not None or not 200 <= status_code < 300:
        raise ProviderError(
            f"{WORKPLACES_METHOD}: {failure or f'HTTP {status_code}'}",
            raw=body,
            status_code=status_code,
        )
    items = result.get("workplacesList") if isinstance(result, dict) else None
    if not isinstance(items, list):
        raise ProviderError(
            f"{WORKPLACES_METHOD}: no workplacesList", raw=body, status_code=status_code
        )
    workplaces: list[Workplace] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        sip_id = item.get("workplace")
        name = item.get("name")
        if isinstance(sip_id, str | int) and not isinstance(sip_id, bool) and str(sip_id):
            workplaces.append(Workplace(str(sip_id), name if isinstance(name, str) else ""))
    return workplaces


def missing_workplaces(agents: tuple[str, ...], workplaces: list[Workplace]) -> list[str]:
    """The agents (in campaign order) that are not workplace SIP IDs of the account: a
    terminal's id or a phone number cannot be ``makeCall``'s ``callerId`` (doc 10.3.1)."""
    known = {workplace.workplace for workplace in workplaces}
    return [agent for agent in agents if agent not in known]


def _json_object(body: str) -> dict[str, object] | None:
    """The answer as a JSON object, also with the doc's trailing comma (10.3.1's answer)."""
    try:
        value = loads_lenient(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _failure_text(document: dict[str, object], result: object) -> str | None:
    """The refusal an answer states, or ``None``: an ``error`` (text or ``{code, message}``)
    beside or inside ``result``, or ``success`` 0/false."""
    for holder in (document, result):
        if not isinstance(holder, dict):
            continue
        error = holder.get("error")
        if isinstance(error, dict):
            message = error.get("message") or error.get("description") or ""
            code = error.get("code")
            return f"{code} {message}".strip() if code is not None else str(message) or "error"
        if isinstance(error, str) and error.strip():
            description = holder.get("error_description") or holder.get("message") or ""
            return f"{error} {description}".strip()
        if error not in (None, 0, False, "0"):
            return str(holder.get("message") or error)
        if "success" in holder and holder.get("success") in (0, False, "0"):
            return str(holder.get("message") or "success: 0")
    return None


def _refusal(text: str, body: str, status_code: int) -> ProviderError:
    message = f"{MAKE_CALL_METHOD}: {text}"
    lowered = f" {text.lower()}"
    if any(word in lowered for word in _AUTH_WORDS):
        return ProviderAuthError(message, raw=body, status_code=status_code)
    if any(word in lowered for word in _AGENT_WORDS):
        return ProviderRefusedError(message, raw=body, status_code=status_code, campaign_level=True)
    if any(word in lowered for word in _CONTACT_WORDS):
        return InvalidNumberError(message, raw=body, status_code=status_code)
    return ProviderRefusedError(
        message,
        raw=body,
        status_code=status_code,
        campaign_level=status_code in (400, 404, 405, 422),
    )
