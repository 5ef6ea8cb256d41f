"""Campaign gauges read from the database (cheap GROUP BYs), at most once per interval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.db.models import Attempt, Contact
from dialer.states import AttemptStatus

log = logging.getLogger(__name__)

CACHE_SECONDS = 15.0
"""How long one reading of the database gauges serves every scrape, in seconds."""

Counts = tuple[dict[str, int], dict[str, int], int]


class DatabaseGauges:
    """A Prometheus collector: ``dialer_contacts{status}``, ``dialer_outcomes{outcome}`` and
    ``dialer_queue_depth`` (attempts in status ``queued``), all campaigns together.

    The queries run at most once per ``cache_seconds`` (``clock`` seconds, monotonic),
    however many scrapes come and however concurrently: the other scrapes reuse the last
    reading. When the database is unreachable the gauges are left out of the scrapes of that
    interval (and a warning logged) instead of failing ``/metrics``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._counts: Counts | None = None

    def describe(self) -> Iterable[Metric]:
        """The metric names, without touching the database (used at registration)."""
        return _families()

    def collect(self) -> Iterable[Metric]:
        contacts, outcomes, queue_depth = _families()
        counts = self._cached_counts()
        if counts is None:
            return []
        by_status, by_outcome, queued = counts
        for status, count in sorted(by_status.items()):
            contacts.add_metric([status], count)
        for outcome, count in sorted(by_outcome.items()):
            outcomes.add_metric([outcome], count)
        queue_depth.add_metric([], queued)
        return [contacts, outcomes, queue_depth]

    def _cached_counts(self) -> Counts | None:
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._cache_seconds:
                self._read_at = now
                try:
                    self._counts = _read_counts(self._engine)
                except Exception:
                    log.warning("metrics: database gauges unavailable", exc_info=True)
                    self._counts = None
            return self._counts


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily("dialer_contacts", "Contacts by status.", labels=["status"]),
        GaugeMetricFamily("dialer_outcomes", "Contacts by outcome class.", labels=["outcome"]),
        GaugeMetricFamily("dialer_queue_depth", "Attempts queued and not yet claimed."),
    )


def _read_counts(engine: Engine) -> Counts:
    with Session(engine) as session:
        by_status = session.exec(
            select(Contact.status, func.count()).group_by(col(Contact.status))
        ).all()
        by_outcome = session.exec(
            select(Contact.outcome, func.count())
            .where(col(Contact.outcome).is_not(None))
            .group_by(col(Contact.outcome))
        ).all()
        queued = session.exec(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.status == AttemptStatus.QUEUED.value)
        ).one()
    return (
        {status: int(count) for status, count in by_status},
        {outcome: int(count) for outcome, count in by_outcome if outcome is not None},
        int(queued),
    )
