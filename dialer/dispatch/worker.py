"""``dialer worker``: Dramatiq worker processes that run the dial actors.

Each process builds its own engine, broker and runtime (nothing is shared across a fork).
SIGTERM or SIGINT stops it gracefully (``GracefulStop``): no new messages, dials still waiting
for a rate token go back to ``queued`` unspent, sends in flight finish and record their
result, then the provider clients are closed.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from types import FrameType

import dramatiq

from dialer.db.engine import make_engine
from dialer.dispatch.boot import build_runtime
from dialer.dispatch.broker import build_broker
from dialer.dispatch.runtime import set_runtime
from dialer.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_MS = 30_000


def start_worker(broker: dramatiq.Broker, threads: int) -> dramatiq.Worker:
    """Start a Dramatiq worker. Dramatiq prefetches two messages per thread: enough to keep
    slow-I/O actors busy, few enough that other processes get the rest of a shallow queue."""
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    return worker


def serve_worker_process(settings: Settings, threads: int) -> None:
    """One worker process: run until SIGTERM/SIGINT."""
    from dialer.logs import configure_logging

    configure_logging(settings.log_level, secrets=settings.secret_values())
    engine = make_engine(settings.database_url)
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    runtime = build_runtime(settings, engine, broker)
    set_runtime(runtime)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = start_worker(broker, threads)
    log.info("worker started: %d threads", threads)
    stop.wait()
    log.info("worker stopping")
    worker.stop(timeout=SHUTDOWN_GRACE_MS)
    broker.close()
    log.info("worker stopped")


def run_workers(settings: Settings, processes: int, threads: int) -> None:
    """Run ``processes`` worker processes; restart any that dies; stop all on SIGTERM."""
    if processes == 1:
        serve_worker_process(settings, threads)
        return
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def spawn() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=serve_worker_process, args=(settings, threads))
        process.start()
        return process

    children = [spawn() for _ in range(processes)]
    while not stop.is_set():
        for index, child in enumerate(children):
            if not child.is_alive():
                log.warning("worker process %s exited (%s); restarting", child.pid, child.exitcode)
                children[index] = spawn()
        stop.wait(1.0)
    for child in children:
        if child.pid is not None and child.is_alive():
            child.terminate()
    deadline = time.monotonic() + SHUTDOWN_GRACE_MS / 1000
    for child in children:
        child.join(max(deadline - time.monotonic(), 0.1))
