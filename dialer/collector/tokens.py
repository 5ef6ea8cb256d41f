"""The webhook path token: constant-time checks, and keeping it out of every log line."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from dialer.logs import REDACTED, add_secrets, discard_secrets, mask_text

# Loggers that may see request paths; the root handlers catch whatever propagates.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def token_matches(given: str, expected: str) -> bool:
    """Whether the path token equals the configured one, compared in constant time.

    An empty configured token matches nothing: the webhook routes stay closed until one is set.
    """
    if not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def redact_token(text: str, token: str) -> str:
    """``text`` with ``token``, any ``/hooks/<token>`` path segment and the process's
    registered secrets replaced by ``***`` (phone numbers masked too)."""
    if token:
        text = text.replace(token, REDACTED)
    return mask_text(text)


class TokenRedactingFilter(logging.Filter):
    """Rewrites each record's message with the webhook token redacted."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record: logging reports it, we do not hide it
        redacted = redact_token(message, self._token)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_redaction(token: str) -> Callable[[], None]:
    """Mask ``token`` in every formatted log line (``dialer.logs.add_secrets``: tracebacks
    too, where the handler's formatter is ``MaskingFormatter``) and attach a
    ``TokenRedactingFilter`` to uvicorn's loggers and the root logger's current handlers (the
    message, whatever the formatter). Returns the function that undoes both."""
    add_secrets(token)
    redactor = TokenRedactingFilter(token)
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in _SERVER_LOGGERS]
    targets.extend(logging.getLogger().handlers)
    for target in targets:
        target.addFilter(redactor)

    def uninstall() -> None:
        for target in targets:
            target.removeFilter(redactor)
        discard_secrets(token)

    return uninstall
