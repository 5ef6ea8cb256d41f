"""The rate limiter interface shared by the Redis (cluster-wide) and local implementations."""

from __future__ import annotations

import abc
import math


class RateLimiter(abc.ABC):
    """Spaces requests under a key so that they never exceed a rate, with a burst of 1.

    A limiter grants at most ``rate + 1`` requests in any 1-second window under one key, and
    grants close to ``rate`` requests per second while callers keep waiting.
    """

    @abc.abstractmethod
    async def acquire(self, key: str, rate: float) -> None:
        """Wait (``asyncio.sleep``) until one request under ``key`` may go.

        ``rate`` is in requests per second and must be finite and above zero; callers may
        change it between calls. Raises ``ValueError`` for a bad ``rate``. Safe to cancel:
        nothing is held while waiting.
        """

    async def aclose(self) -> None:  # noqa: B027 - a hook that does nothing by default
        """Release what the limiter holds (connections); it is not used afterwards."""


def check_rate(rate: float) -> None:
    """Raise ``ValueError`` unless ``rate`` (requests per second) is finite and above zero."""
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a finite number of requests per second > 0, not {rate!r}")
