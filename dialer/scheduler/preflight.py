"""What ``dialer scheduler`` checks before its first tick."""

from __future__ import annotations

from urllib.parse import urlsplit

from dialer.errors import UserError

BROKER_TIMEOUT_SECONDS = 3.0
"""How long the start-up broker check waits for Redis."""


def check_broker(redis_url: str, timeout: float = BROKER_TIMEOUT_SECONDS) -> None:
    """Ping the broker once. Raises ``UserError`` (one line, the URL's password hidden) when
    Redis cannot be reached, so the scheduler never commits work it cannot send."""
    import redis

    try:
        client = redis.Redis.from_url(
            redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, ValueError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot reach the broker at DIALER_REDIS_URL ({_safe_url(redis_url)}): {reason}"
        ) from None


def _safe_url(url: str) -> str:
    """Scheme, host and port only: a password may sit anywhere in a mistyped URL."""
    try:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            return f"a {parts.scheme or 'schemeless'}:// URL"
        return f"{parts.scheme}://{parts.hostname or ''}:{parts.port or 6379}"
    except ValueError:  # a malformed port or host: show none of it
        return "an unparseable URL"
