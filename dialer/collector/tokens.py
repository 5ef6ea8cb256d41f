"""The webhook path token: constant-time checks, and keeping it out of every log line."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from dialer.logs import REDACTED, redact_secrets, register_secret, unregister_secret


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
    return redact_secrets(text)


def install_redaction(token: str) -> Callable[[], None]:
    """Mask ``token`` in every log line (``dialer.logs.MaskingFormatter``) while a collector
    serves it. Returns the function that stops masking it again."""
    register_secret(token)

    def uninstall() -> None:
        unregister_secret(token)

    return uninstall
