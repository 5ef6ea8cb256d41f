"""Prometheus metrics: one registry per app (tests build many apps), plus the dispatch
latency histogram that the dispatch step observes and every collector app exposes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy.engine import Engine

from dialer.collector.gauges import DatabaseGauges

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class CollectorMetrics:
    """The collector's own metrics, registered in ``registry``."""

    registry: CollectorRegistry
    events: Counter
    """``dialer_events_total{route,kind}``: new events stored."""
    duplicates: Counter
    """``dialer_events_duplicate_total{route}``: redeliveries answered without storing."""
    invalid: Counter
    """``dialer_events_invalid_total{route}``: unparseable requests (kept raw, answered 400)."""
    requests: Counter
    """``dialer_webhook_requests_total{route,status}``: webhook answers by HTTP status."""
    latency: Histogram
    """``dialer_webhook_latency_seconds{route}``: seconds from request to answer."""


def build_metrics(engine: Engine) -> CollectorMetrics:
    """A fresh registry with the collector's counters, the database gauges (read from
    ``engine`` at each scrape) and the shared ``dialer_dispatch_latency_seconds``."""
    registry = CollectorRegistry()
    metrics = CollectorMetrics(
        registry=registry,
        events=Counter(
            "dialer_events", "Provider events stored.", ["route", "kind"], registry=registry
        ),
        duplicates=Counter(
            "dialer_events_duplicate",
            "Events redelivered and not stored again.",
            ["route"],
            registry=registry,
        ),
        invalid=Counter(
            "dialer_events_invalid",
            "Webhook requests that could not be parsed (raw kept).",
            ["route"],
            registry=registry,
        ),
        requests=Counter(
            "dialer_webhook_requests",
            "Webhook requests by route and answer status.",
            ["route", "status"],
            registry=registry,
        ),
        latency=Histogram(
            "dialer_webhook_latency_seconds",
            "Seconds from receiving a webhook to answering it.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        ),
    )
    registry.register(DatabaseGauges(engine))
    registry.register(dispatch_latency())
    return metrics


@cache
def dispatch_latency() -> Histogram:
    """``dialer_dispatch_latency_seconds``: seconds from a worker claiming an attempt to the
    provider's answer. One process-wide histogram (built on first use, not at import) that
    dispatch observes and every collector app in the same process exposes."""
    return Histogram(
        "dialer_dispatch_latency_seconds",
        "Seconds from claiming an attempt to the provider's answer.",
        buckets=_LATENCY_BUCKETS,
        registry=None,
    )


def render_metrics(metrics: CollectorMetrics) -> bytes:
    """The registry in the Prometheus text format. Queries the database: call it from a
    worker thread."""
    return generate_latest(metrics.registry)
