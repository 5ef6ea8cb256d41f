"""The real logging configuration, writing to a buffer a test can read."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from dialer.logs import configure_logging, unregister_secret

_TOUCHED = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@contextmanager
def captured_logs(level: str = "DEBUG", *, secrets: tuple[str, ...] = ()) -> Iterator[io.StringIO]:
    """``configure_logging(level, secrets=secrets)`` into a ``StringIO``: every line a
    process would write to stderr. The previous configuration is restored afterwards."""
    saved = {
        name: (
            logging.getLogger(name).handlers[:],
            logging.getLogger(name).level,
            logging.getLogger(name).propagate,
        )
        for name in _TOUCHED
    }
    buffer = io.StringIO()
    configure_logging(level, secrets=secrets, stream=buffer)
    try:
        yield buffer
    finally:
        for secret in secrets:
            unregister_secret(secret)
        for name, (handlers, level_no, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level_no)
            logger.propagate = propagate
