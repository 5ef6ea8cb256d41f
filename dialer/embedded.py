"""The whole engine in one process: SQLite, an in-process broker and worker, the scheduler
and the collector (with ``--sandbox`` the MTT simulator too).

``embedded_stack`` is that assembly; ``dialer run`` (``dialer.runner``) drives one campaign
through it, and tests use it to drive real campaigns end to end against the simulator.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import dramatiq
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from dialer.campaign.store import get_campaign
from dialer.db.engine import session_scope
from dialer.errors import UserError
from dialer.settings import Settings
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.server import SimulatorServer
from dialer.states import CampaignState

WORKER_THREADS = 16


@dataclass
class Stack:
    """A running embedded engine: what a caller may need to look at or stop."""

    settings: Settings
    engine: Engine
    collector_url: str
    simulator: SimulatorServer | None
    broker: dramatiq.Broker
    stop: threading.Event
    stop_dialling: Callable[[], None]
    """Stop the scheduler, then the worker gracefully (waiting dials released, sends in
    flight finished, clients closed); the collector (and simulator) keep running until the
    block ends, so late events still arrive. Idempotent; called on exit anyway."""


@contextmanager
def embedded_stack(
    settings: Settings,
    engine: Engine,
    *,
    simulator: SimulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = WORKER_THREADS,
) -> Iterator[Stack]:
    """Start the collector, (the simulator,) an in-process broker and worker, and the
    scheduler loop; stop them all on exit, dialling first. ``simulator`` webhook URLs that
    are ``None`` are pointed at this collector. Raises ``UserError`` when the collector
    cannot listen on ``host:port``."""
    from dialer.collector.server import CollectorServer
    from dialer.dispatch.boot import build_runtime
    from dialer.dispatch.broker import build_broker, make_enqueue
    from dialer.dispatch.runtime import set_runtime
    from dialer.dispatch.worker import SHUTDOWN_GRACE_MS, start_worker
    from dialer.outcomes.reconcile import build_reconciler
    from dialer.sandbox import (
        connect_sandbox_mtt_business,
        hook_url,
        sandbox_secrets,
        start_sandbox,
    )
    from dialer.scheduler.loop import run_scheduler
    from dialer.scheduler.tick import tick_options

    token = settings.webhook_token.get_secret_value() or secrets.token_urlsafe(18)
    settings = settings.model_copy(update={"redis_url": None, "webhook_token": SecretStr(token)})
    if simulator is not None:
        settings = sandbox_secrets(settings, simulator)
    with ExitStack() as stack:
        collector = CollectorServer(settings, engine, host=host, port=port)
        try:
            collector_url = collector.start()
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        stack.callback(collector.stop)
        server: SimulatorServer | None = None
        if simulator is not None:
            simulator = simulator.model_copy(
                update={
                    "call_webhook_url": simulator.call_webhook_url
                    or hook_url(collector_url, token, "call"),
                    "sms_webhook_url": simulator.sms_webhook_url
                    or hook_url(collector_url, token, "sms"),
                    "uis_webhook_url": simulator.uis_webhook_url
                    or f"{collector_url}/hooks/{token}/uis",
                    "mtt_business_webhook_url": simulator.mtt_business_webhook_url
                    or f"{collector_url}/hooks/{token}/mtt-business",
                    "bitrix24_webhook_url": simulator.bitrix24_webhook_url
                    or f"{collector_url}/hooks/{token}/bitrix24",
                }
            )
            settings, server = start_sandbox(settings, simulator)
            stack.callback(server.stop)
            connect_sandbox_mtt_business(settings, engine, collector_url)
        if settings.public_url is None or simulator is not None:
            settings = settings.model_copy(update={"public_url": collector_url})
        broker = build_broker(settings)
        dramatiq.set_broker(broker)
        runtime = build_runtime(settings, engine, broker)
        set_runtime(runtime)
        worker = start_worker(broker, threads)
        stop = threading.Event()
        scheduler = threading.Thread(
            target=run_scheduler,
            args=(engine, make_enqueue(broker), stop),
            kwargs={"options": tick_options(settings), "reconcile": build_reconciler(settings)},
            name="scheduler",
            daemon=True,
        )
        scheduler.start()
        stopped = threading.Event()

        def stop_dialling() -> None:
            if stopped.is_set():
                return
            stopped.set()
            stop.set()
            scheduler.join(10)
            worker.stop(timeout=SHUTDOWN_GRACE_MS)

        stack.callback(stop_dialling)
        yield Stack(settings, engine, collector_url, server, broker, stop, stop_dialling)


def wait_until_done(engine: Engine, name: str, timeout: float) -> CampaignState:
    """Poll until the campaign is completed, cancelled or paused (seconds). Raises
    ``TimeoutError`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            state = CampaignState(get_campaign(session, name).state)
        if state in (CampaignState.COMPLETED, CampaignState.CANCELLED, CampaignState.PAUSED):
            return state
        time.sleep(0.2)
    raise TimeoutError(f"campaign {name!r} not done after {timeout} s")
