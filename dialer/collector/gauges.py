"""Campaign gauges read from the database at each ``/metrics`` scrape (cheap GROUP BYs)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.db.models import Attempt, Contact
from dialer.states import AttemptStatus

log = logging.getLogger(__name__)


class DatabaseGauges:
    """A Prometheus collector: ``dialer_contacts{status}``, ``dialer_outcomes{outcome}`` and
    ``dialer_queue_depth`` (attempts in status ``queued``), all campaigns together.

    Queries run on every ``collect()``. When the database is unreachable the gauges are left
    out of that scrape (and a warning logged) instead of failing ``/metrics``.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterable[Metric]:
        """The metric names, without touching the database (used at registration)."""
        return _families()

    def collect(self) -> Iterable[Metric]:
        contacts, outcomes, queue_depth = _families()
        try:
            by_status, by_outcome, queued = _read_counts(self._engine)
        except Exception:
            log.warning("metrics: database gauges unavailable", exc_info=True)
            return []
        for status, count in sorted(by_status.items()):
            contacts.add_metric([status], count)
        for outcome, count in sorted(by_outcome.items()):
            outcomes.add_metric([outcome], count)
        queue_depth.add_metric([], queued)
        return [contacts, outcomes, queue_depth]


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily("dialer_contacts", "Contacts by status.", labels=["status"]),
        GaugeMetricFamily("dialer_outcomes", "Contacts by outcome class.", labels=["outcome"]),
        GaugeMetricFamily("dialer_queue_depth", "Attempts queued and not yet claimed."),
    )


def _read_counts(engine: Engine) -> tuple[dict[str, int], dict[str, int], int]:
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
