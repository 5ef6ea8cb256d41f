"""The webhook path token: constant-time checks, and keeping it out of every log line."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable

REDACTED = "***"
_HOOK_PATH = re.compile(r"(/hooks/)[^/\s?#\"']+")
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
    """``text`` with ``token`` and any ``/hooks/<token>`` path segment replaced by ``***``."""
    if token:
        text = text.replace(token, REDACTED)
    return _HOOK_PATH.sub(lambda match: match.group(1) + REDACTED, text)


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
    """Attach a ``TokenRedactingFilter`` to uvicorn's loggers and to the root logger's
    current handlers. Returns the function that removes it again."""
    redactor = TokenRedactingFilter(token)
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in _SERVER_LOGGERS]
    targets.extend(logging.getLogger().handlers)
    for target in targets:
        target.addFilter(redactor)

    def uninstall() -> None:
        for target in targets:
            target.removeFilter(redactor)

    return uninstall
