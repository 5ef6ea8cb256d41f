"""Counters the simulator reports at ``GET /_sim/stats``; they are the truth tests rely on.

Per-number counts and repeated messIds/tags are recorded for every accepted request before
its answer is sent, including requests whose answer is then "lost".
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

RATE_WINDOW_SECONDS = 1.0
"""Width of the sliding window behind ``rps_limit`` and ``peak_rps``, real seconds."""

LIMITED_APIS = ("sb", "msapi")
"""The APIs whose accepted requests make up ``peak_rps``."""


@dataclass(slots=True)
class SlidingWindow:
    """Timestamps (monotonic seconds) of the last second's events, with the highest count
    ever seen in one window."""

    width: float = RATE_WINDOW_SECONDS
    times: deque[float] = field(default_factory=deque)
    peak: int = 0

    def count(self, now: float) -> int:
        """Events in ``(now - width, now]``."""
        while self.times and self.times[0] <= now - self.width:
            self.times.popleft()
        return len(self.times)

    def add(self, now: float) -> None:
        self.count(now)
        self.times.append(now)
        self.peak = max(self.peak, len(self.times))


@dataclass(slots=True)
class Stats:
    """Everything counted since start or the last reset."""

    requests_total: int = 0
    requests_by_api: Counter[str] = field(default_factory=Counter)
    rate_limited_total: int = 0
    injected_429_total: int = 0
    injected_5xx_total: int = 0
    lost_responses_total: int = 0
    calls_accepted: int = 0
    calls_refused: Counter[str] = field(default_factory=Counter)
    calls_by_number: Counter[str] = field(default_factory=Counter)
    mess_ids: Counter[str] = field(default_factory=Counter)
    sms_accepted: int = 0
    sms_refused: int = 0
    sms_by_number: Counter[str] = field(default_factory=Counter)
    sms_tags: Counter[str] = field(default_factory=Counter)
    inbound_sms_total: int = 0
    webhooks_sent: int = 0
    webhooks_failed: int = 0
    webhooks_dropped: int = 0
    webhooks_duplicated: int = 0
    webhook_attempts: int = 0
    webhook_retries: int = 0
    active_calls: int = 0
    peak_concurrent_calls: int = 0
    accepted: dict[str, SlidingWindow] = field(default_factory=dict)
    accepted_limited_apis: SlidingWindow = field(default_factory=SlidingWindow)

    def window(self, api: str) -> SlidingWindow:
        return self.accepted.setdefault(api, SlidingWindow())

    def record_accepted_request(self, api: str, now: float) -> None:
        """A request that got past rate limiting (whatever its answer)."""
        self.window(api).add(now)
        if api in LIMITED_APIS:
            self.accepted_limited_apis.add(now)

    def record_call(self, b_number: str, mess_id: str) -> None:
        self.calls_accepted += 1
        self.calls_by_number[b_number] += 1
        self.mess_ids[mess_id] += 1
        self.active_calls += 1
        self.peak_concurrent_calls = max(self.peak_concurrent_calls, self.active_calls)

    def record_call_ended(self) -> None:
        self.active_calls -= 1

    def record_sms(self, recipient: str, tag: str | None) -> None:
        self.sms_accepted += 1
        self.sms_by_number[recipient] += 1
        if tag is not None:
            self.sms_tags[tag] += 1

    def snapshot(self) -> dict[str, object]:
        """The JSON document of ``GET /_sim/stats``."""
        return {
            "requests_total": self.requests_total,
            "requests_by_api": dict(self.requests_by_api),
            "peak_rps": self.accepted_limited_apis.peak,
            "peak_rps_by_api": {api: window.peak for api, window in self.accepted.items()},
            "rate_limited_total": self.rate_limited_total,
            "injected_429_total": self.injected_429_total,
            "injected_5xx_total": self.injected_5xx_total,
            "lost_responses_total": self.lost_responses_total,
            "calls_accepted": self.calls_accepted,
            "calls_refused": dict(self.calls_refused),
            "calls_by_number": dict(self.calls_by_number),
            "reused_mess_ids": _repeated(self.mess_ids),
            "sms_accepted": self.sms_accepted,
            "sms_refused": self.sms_refused,
            "sms_by_number": dict(self.sms_by_number),
            "reused_sms_tags": _repeated(self.sms_tags),
            "inbound_sms_total": self.inbound_sms_total,
            "webhooks_sent": self.webhooks_sent,
            "webhooks_failed": self.webhooks_failed,
            "webhooks_dropped": self.webhooks_dropped,
            "webhooks_duplicated": self.webhooks_duplicated,
            "webhook_attempts": self.webhook_attempts,
            "webhook_retries": self.webhook_retries,
            "active_calls": self.active_calls,
            "peak_concurrent_calls": self.peak_concurrent_calls,
        }


def _repeated(counts: Counter[str]) -> dict[str, int]:
    return {key: count for key, count in counts.items() if count > 1}
