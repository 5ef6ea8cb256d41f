"""``dialer run``: the whole engine in one process (SQLite, in-process broker and worker,
scheduler, collector; with ``--sandbox`` the MTT simulator too).

``embedded_stack`` is the same assembly without the campaign flow; tests use it to drive real
campaigns end to end against the simulator.
"""

from __future__ import annotations

import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import dramatiq
from pydantic import SecretStr
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from dialer.campaign.config import CampaignConfig, load_config
from dialer.campaign.control import control_campaign
from dialer.campaign.store import USER_PAUSE_REASON, config_of, create_campaign, get_campaign
from dialer.db.engine import make_engine, session_scope
from dialer.db.models import Attempt, Contact
from dialer.db.schema import ensure_schema
from dialer.db.types import utcnow
from dialer.dispatch import store
from dialer.errors import UserError
from dialer.runchecks import (
    RunPaths,
    check_live_settings,
    check_speed,
    check_writable,
    collector_port,
    run_paths,
    where_mtt_posts,
)
from dialer.runlock import RunLease
from dialer.settings import Settings
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.server import SimulatorServer
from dialer.states import AttemptStatus, CampaignState

POLL_SECONDS = 0.5
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
    from dialer.sandbox import hook_url, start_sandbox
    from dialer.scheduler.loop import run_scheduler
    from dialer.scheduler.tick import tick_options

    token = settings.webhook_token.get_secret_value() or secrets.token_urlsafe(18)
    settings = settings.model_copy(update={"redis_url": None, "webhook_token": SecretStr(token)})
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
                }
            )
            settings, server = start_sandbox(settings, simulator)
            stack.callback(server.stop)
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


def run_embedded(
    settings: Settings,
    config_path: Path,
    csv_path: Path,
    *,
    sandbox: bool,
    speed: float,
    output: Path | None,
    phone_column: str | None,
    host: str = "127.0.0.1",
    port: int | None = None,
) -> int:
    """Run one campaign to the end. Returns the exit code (see ``EXIT_CODES``).

    Every option is checked before the database is touched. One ``dialer run`` per
    database (the ``run`` lease). With ``sandbox`` the campaign is stored as its file says
    and run with the sandbox's fast retries and open window (``config_overlay``)."""
    from dialer.campaign.store import config_overlay
    from dialer.sandbox import sandbox_campaign, sandbox_simulator_config

    config = load_config(config_path)
    if sandbox:
        check_speed(speed)
    else:
        check_live_settings(settings)
    if not csv_path.is_file():
        raise UserError(f"{csv_path}: no such file")
    paths = run_paths(config.name, output)
    check_writable(paths.results)
    check_writable(paths.report)
    port = collector_port(port, sandbox=sandbox)
    settings = settings.model_copy(update={"sandbox": sandbox})
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    with RunLease(engine) as lease, ExitStack() as scope:
        if sandbox:
            scope.enter_context(config_overlay(lambda c: sandbox_campaign(c, speed)))
        name = _create_and_load(engine, config, config_path, csv_path, phone_column)
        _resend_after_restart(engine)
        simulator = None
        if sandbox:
            simulator = sandbox_simulator_config(speed, sender=config.message.caller_id)
        with embedded_stack(settings, engine, simulator=simulator, host=host, port=port) as stack:
            final_state = _run_to_end(stack, name, speed, host, lease.lost)
        if final_state is None:  # Ctrl-C: paused; nothing exported
            CONSOLE.print(f"paused {name!r} (Ctrl-C); run the same command again to resume")
            return EXIT_USER_PAUSE
        _export_and_summarise(engine, name, paths)
        return _report_end(engine, name, final_state)


EXIT_DONE = 0
EXIT_PROVIDER_PAUSE = 2
EXIT_CANCELLED = 3
EXIT_USER_PAUSE = 130
EXIT_CODES = {
    EXIT_DONE: "every contact is final",
    EXIT_PROVIDER_PAUSE: "the provider refused (auth, campaign-level error): campaign paused",
    EXIT_CANCELLED: "the campaign was cancelled (`dialer campaign cancel`)",
    EXIT_USER_PAUSE: "paused by a user: Ctrl-C here, or `dialer campaign pause` elsewhere",
}
"""``dialer run``'s exit codes (1: a user error, one line on stderr)."""

PAUSE_DRAIN_SECONDS = 10.0
"""After a pause, how long ``dialer run`` waits for calls already with the provider to end
(their events recorded) before it stops; the rest settle when it runs again."""
CANCEL_DRAIN_SECONDS = 60.0
"""After a cancel, the most it waits for those calls' events (at most the event timeout);
calls still without a final event are then finished as ``unknown``."""

CONSOLE = Console(stderr=True)


def _create_and_load(
    engine: Engine, config: CampaignConfig, config_path: Path, csv_path: Path, phone: str | None
) -> str:
    """Register the campaign (as its file says) and load the CSV. Raises ``UserError`` when
    the campaign has no contacts at all afterwards (nothing loaded, nothing from before)."""
    from dialer.loader.load import load_contacts

    with session_scope(engine) as session:
        name = create_campaign(session, config, str(config_path))[0].name
    summary = load_contacts(engine, name, csv_path, phone_column=phone)
    CONSOLE.print(
        f"loaded {csv_path}: {summary.rows} rows, {summary.loaded} loaded, {summary.rejected} "
        f"rejected, {summary.duplicates} duplicates, {summary.suppressed} suppressed"
        + (f"\nrejected lines and reasons: {summary.rejects_file}" if summary.rejects_file else "")
    )
    with session_scope(engine) as session:
        campaign = get_campaign(session, name)
        contacts = session.exec(
            select(func.count()).where(Contact.campaign_id == campaign.id)
        ).one()
    if contacts == 0:
        raise UserError(
            f"nothing to dial: {csv_path} loaded no contacts into {name!r}"
            + (f" (see {summary.rejects_file})" if summary.rejects_file else "")
        )
    return name


def _run_to_end(
    stack: Stack, name: str, speed: float, host: str, lease_lost: threading.Event
) -> CampaignState | None:
    """Start (or resume) the campaign, show progress until it ends, then wind down. Returns
    the final state, or ``None`` after Ctrl-C (the campaign is then paused)."""
    engine = stack.engine
    if stack.simulator is not None:
        CONSOLE.print(
            f"[dim]sandbox: MTT simulator at {stack.simulator.base_url}, time ×{speed:g}, "
            "calling window always open[/]"
        )
    else:
        port = int(stack.collector_url.rsplit(":", 1)[1])
        CONSOLE.print(where_mtt_posts(stack.settings.public_url or "", host, port))
    with session_scope(engine) as session:
        state = get_campaign(session, name).state
    if state == CampaignState.CANCELLED:
        raise UserError(f"campaign {name!r} was cancelled; nothing to run")
    if state != CampaignState.RUNNING:
        control_campaign(stack.settings, engine, name, "start")
    interrupted = False
    try:
        final_state = _show_progress(engine, name, CONSOLE, lease_lost)
    except KeyboardInterrupt:
        interrupted = True
        control_campaign(
            stack.settings, engine, name, "pause", reason=f"{USER_PAUSE_REASON} (Ctrl-C)"
        )
        final_state = CampaignState.PAUSED
    _wind_down(stack, name, final_state)
    return None if interrupted else final_state


def _wind_down(stack: Stack, name: str, state: CampaignState) -> None:
    """Stop dialling in the order that strands nothing, then give calls already with the
    provider a bounded time to end while the collector still listens. A cancelled
    campaign's calls still without a final event are finished as ``unknown``, so that every
    contact ends ``cancelled`` or in the outcome its events gave."""
    engine = stack.engine
    with _sigint_deferred():
        stack.stop_dialling()
    if state == CampaignState.COMPLETED:
        return
    with session_scope(engine) as session:
        campaign = get_campaign(session, name)
        campaign_id = campaign.id or 0
        event_timeout = config_of(campaign).retry.event_timeout.total_seconds()
        store.release_queued(session, campaign_id, f"campaign {state.value}", utcnow())
    limit = PAUSE_DRAIN_SECONDS
    if state == CampaignState.CANCELLED:
        limit = min(CANCEL_DRAIN_SECONDS, event_timeout)
    _drain(engine, campaign_id, limit)
    if state == CampaignState.CANCELLED:
        with session_scope(engine) as session:
            store.settle_unfinished(
                session,
                campaign_id,
                "no final event before dialer run stopped (campaign cancelled)",
                utcnow(),
            )


def _drain(engine: Engine, campaign_id: int, limit: float) -> None:
    """Wait up to ``limit`` seconds for the campaign's live attempts to end; Ctrl-C stops
    waiting."""
    started = time.monotonic()
    deadline = started + limit
    told = False
    try:
        while time.monotonic() < deadline:
            with session_scope(engine) as session:
                live = store.live_attempts(session, campaign_id)
            if live == 0:
                return
            if not told and time.monotonic() - started > 1.0:  # quiet when calls end at once
                CONSOLE.print(
                    f"waiting up to {limit:.0f} s for {live} calls in progress to end "
                    "(Ctrl-C: stop waiting)"
                )
                told = True
            time.sleep(0.2)
    except KeyboardInterrupt:
        return


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Ctrl-C cannot cut a graceful stop short (that would strand claimed dials); it is
    bounded by the provider clients' timeouts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(
        signal.SIGINT,
        lambda *_: CONSOLE.print("stopping: finishing the requests in flight"),
    )
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _export_and_summarise(engine: Engine, name: str, paths: RunPaths) -> None:
    from dialer.export.run import export_campaign
    from dialer.report import write_report

    exported = export_campaign(engine, name, paths.results, fmt="csv", level="contacts")
    report = write_report(engine, name, paths.report)
    _print_summary(engine, name)
    CONSOLE.print(
        f"exported {exported.rows} contacts to {paths.results}; report in {report.output}"
    )


def _report_end(engine: Engine, name: str, state: CampaignState) -> int:
    """The last line and the exit code for how the campaign ended."""
    with session_scope(engine) as session:
        reason = get_campaign(session, name).state_reason
    if state == CampaignState.CANCELLED:
        CONSOLE.print(f"[red]campaign {name!r} cancelled[/]" + (f": {reason}" if reason else ""))
        return EXIT_CANCELLED
    if state == CampaignState.PAUSED:
        if reason and not reason.startswith(USER_PAUSE_REASON):
            CONSOLE.print(f"[red]campaign {name!r} paused: {reason}[/]")
            return EXIT_PROVIDER_PAUSE
        CONSOLE.print(
            f"campaign {name!r} {reason or 'paused'}; run the same command again to resume"
        )
        return EXIT_USER_PAUSE
    return EXIT_DONE


def _resend_after_restart(engine: Engine) -> None:
    """The in-process queue died with the last run: queued attempts are sent again at once."""
    with session_scope(engine) as session:
        session.execute(
            update(Attempt)
            .where(col(Attempt.status) == AttemptStatus.QUEUED)
            .values(enqueued_at=utcnow().replace(year=2000))
        )


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


def _show_progress(
    engine: Engine, name: str, console: Console, lease_lost: threading.Event | None = None
) -> CampaignState:
    from dialer.export.status import campaign_status

    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        TextColumn("{task.completed:>6.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        tasks: dict[str, TaskID] = {}
        while True:
            with session_scope(engine) as session:
                campaign = get_campaign(session, name)
            data = campaign_status(engine, campaign)
            counts = data["counts"]
            total = max(data["contacts"], 1)
            lines = {
                "final": data["final"],
                "reached": counts["reached"],
                "waiting retry": counts["retry_wait"],
                "in progress": counts["in_progress"],
                "failed": counts["not_reached"] + counts["invalid"],
            }
            for label, value in lines.items():
                if label not in tasks:
                    tasks[label] = progress.add_task(label, total=total)
                progress.update(tasks[label], completed=value, total=total)
            state = CampaignState(campaign.state)
            if state in (CampaignState.COMPLETED, CampaignState.CANCELLED, CampaignState.PAUSED):
                return state
            if lease_lost is not None and lease_lost.is_set():
                raise UserError(
                    "another `dialer run` took over this database (this one stalled for "
                    "too long); stopping"
                )
            time.sleep(POLL_SECONDS)


def _print_summary(engine: Engine, name: str) -> None:
    from dialer.export.status import campaign_status

    with session_scope(engine) as session:
        campaign = get_campaign(session, name)
    data = campaign_status(engine, campaign)
    table = Table(title=f"{name}: {data['state']}, {data['attempts']} attempts")
    table.add_column("")
    table.add_column("contacts", justify="right")
    for status, count in data["counts"].items():
        if count:
            table.add_row(status, str(count))
    for outcome, count in data["outcomes"].items():
        table.add_row(f"[dim]outcome[/] {outcome}", str(count))
    for digit, item in data["dtmf"].items():
        table.add_row(f"[dim]dtmf[/] {digit} {item['label'] or ''}", str(item["count"]))
    Console().print(table)
