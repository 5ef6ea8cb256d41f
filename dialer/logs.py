"""Logging for every entry point: phone numbers, the webhook token and other secrets are
masked in the whole formatted line, traceback included.

``configure_logging`` is called once by each entry point (CLI command, worker process); no
service module configures logging itself. Masking happens in the formatter, on the final text,
so nothing escapes it: not the message arguments, not an exception's text (SQLAlchemy's
``[parameters: ...]``, a raw webhook body inside a parser error), not ``stack_info``.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from typing import TextIO

REDACTED = "***"

# A run of 9-15 digits (optionally after "+") that is not part of a longer digit run: the
# length of an E.164 number without its "+". Ids and counters are far shorter.
_PHONE = re.compile(r"(?<!\d)(\+?)(\d{9,15})(?!\d)")
# The path segment after /hooks/ is the webhook token, whoever logs the path.
_HOOK_PATH = re.compile(r"(/hooks/)[^/\s?#\"']+")
# Loggers uvicorn writes to: with ``log_config=None`` they propagate to the root handler.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# Secrets shorter than this are not masked in free text: too likely to hit innocent words.
_MIN_SECRET_CHARS = 6

_secrets: dict[str, int] = {}
_secrets_lock = threading.Lock()


def mask_phone(number: str) -> str:
    """``79101234567`` -> ``7910*****67``: the first 4 and last 2 characters survive; anything
    of 6 characters or fewer is masked completely. Use it for every number that is logged."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]


def mask_phones(text: str) -> str:
    """``text`` with every phone-number-like run of 9-15 digits passed through ``mask_phone``
    (``"call +79101234567 ended"`` -> ``"call +7910*****67 ended"``)."""
    return _PHONE.sub(lambda match: match.group(1) + mask_phone(match.group(2)), text)


def redact_secrets(text: str) -> str:
    """``text`` with every registered secret and any ``/hooks/<token>`` segment as ``***``."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, REDACTED)
    return _HOOK_PATH.sub(lambda match: match.group(1) + REDACTED, text)


def mask_log_text(text: str) -> str:
    """What every log line goes through: secrets redacted, then phone numbers masked."""
    return mask_phones(redact_secrets(text))


def register_secret(secret: str) -> None:
    """Mask ``secret`` in every log line from now on (until ``unregister_secret``).
    Registrations are counted, so two holders of one secret can each unregister it."""
    if len(secret) < _MIN_SECRET_CHARS:
        return
    with _secrets_lock:
        _secrets[secret] = _secrets.get(secret, 0) + 1


def unregister_secret(secret: str) -> None:
    """Undo one ``register_secret(secret)``."""
    with _secrets_lock:
        count = _secrets.get(secret, 0) - 1
        if count > 0:
            _secrets[secret] = count
        else:
            _secrets.pop(secret, None)


class MaskingFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose whole output (message, exception text and stack) goes
    through ``mask_log_text``."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_log_text(super().format(record))


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def configure_logging(
    level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to one stderr handler (or ``stream``) through
    ``MaskingFormatter``, at ``level`` (a name from ``LOG_LEVELS``, any case). ``secrets``
    are masked in every line too (see ``register_secret``). Returns the handler.

    uvicorn's loggers lose any handler of their own and propagate here, so the collector's
    and the simulator's server logs are masked the same way.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(MaskingFormatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers[:] = []
        server_logger.propagate = True
    for secret in secrets:
        register_secret(secret)
    # httpx logs every request URL at INFO; msapi filters put phone numbers in URLs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
