"""Logging for every entry point: one format, and nothing personal or secret in any line.

Phone numbers, webhook paths (``/hooks/<token>``) and the process's secrets are masked in the
*whole formatted record*: the message, the formatted traceback (``exc_text``, which carries a
database driver's SQL parameters and error detail) and ``stack_info``. Masking the message
alone is not enough: a traceback is formatted after the filters ran.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable
from typing import TextIO

REDACTED = "***"
_PHONE = re.compile(r"(?<!\d)(\+?\d{4})(\d{3,9})(\d{2})(?!\d)")
_HOOK_PATH = re.compile(r"(/hooks/)[^/\s?#\"']+")
_MIN_SECRET_CHARS = 8
"""Shorter secrets are not masked: a 6-letter password such as ``dialer`` would mask every
logger name. (Webhook paths are masked whatever the token.)"""
# Loggers that set no handlers of their own once configured: their records reach the root's.
_OWN_HANDLER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_secrets: Counter[str] = Counter()
_secrets_lock = threading.Lock()


def mask_phone(text: str) -> str:
    """Mask the middle of anything in ``text`` that looks like a phone number (9 to 15
    digits, optionally after ``+``): ``79161234567`` -> ``7916*****67``."""
    return _PHONE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)


def add_secrets(*values: str) -> None:
    """Mask ``values`` in every log line of this process from now on (empty and very short
    values are ignored). Counted: each ``add_secrets`` is undone by one ``discard_secrets``."""
    with _secrets_lock:
        _secrets.update(v for v in values if len(v) >= _MIN_SECRET_CHARS)


def discard_secrets(*values: str) -> None:
    """Undo one ``add_secrets`` of ``values`` (a collector in a thread stopped)."""
    with _secrets_lock:
        _secrets.subtract(v for v in values if len(v) >= _MIN_SECRET_CHARS)
        for value in [v for v, n in _secrets.items() if n <= 0]:
            del _secrets[value]


def mask_text(text: str) -> str:
    """``text`` with secrets, ``/hooks/<token>`` path segments and phone numbers masked."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _HOOK_PATH.sub(lambda match: match.group(1) + REDACTED, text)
    return mask_phone(text)


class MaskingFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose output is passed through ``mask_text``: message,
    traceback and stack alike."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def configure_logging(
    level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Log to ``stream`` (stderr by default) at ``level``, every line masked.

    The root logger gets one handler with a ``MaskingFormatter``; uvicorn's and Dramatiq's
    loggers lose any handlers of their own and propagate to it, so no line escapes the mask.
    ``secrets`` (tokens, passwords) are masked wherever they appear. Returns the handler.
    Call it from entry points only.
    """
    add_secrets(*secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MaskingFormatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _OWN_HANDLER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # httpx logs every request URL at INFO; msapi filters put phone numbers in URLs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler


def install_fallback_logging() -> None:
    """For commands that configure no logging (``dialer run``, the one-shot commands): what
    Python's last-resort handler would print (WARNING and up, the bare message and its
    traceback, on stderr), but masked. Does nothing once the root logger has a handler."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(MaskingFormatter())
    root.addHandler(handler)
