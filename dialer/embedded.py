"""``dialer run``: the whole engine in one process (SQLite, in-process broker and worker,
scheduler, collector; with ``--sandbox`` the MTT simulator too).

``embedded_stack`` is the same assembly without the campaign flow; tests use it to drive real
campaigns end to end against the simulator.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
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
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from dialer.campaign.config import load_config
from dialer.campaign.control import control_campaign
from dialer.campaign.store import create_campaign, get_campaign
from dialer.db.engine import make_engine, session_scope
from dialer.db.models import Attempt
from dialer.db.schema import ensure_schema
from dialer.db.types import utcnow
from dialer.errors import UserError
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
    scheduler loop; stop them all on exit. ``simulator`` webhook URLs that are ``None`` are
    pointed at this collector."""
    from dialer.collector.server import CollectorServer
    from dialer.dispatch.boot import build_runtime
    from dialer.dispatch.broker import build_broker, make_enqueue
    from dialer.dispatch.runtime import close_runtime_on_worker_loop, set_runtime
    from dialer.dispatch.worker import start_worker
    from dialer.outcomes.reconcile import build_reconciler
    from dialer.sandbox import hook_url, start_sandbox
    from dialer.scheduler.loop import run_scheduler
    from dialer.scheduler.tick import tick_options

    token = settings.webhook_token.get_secret_value() or secrets.token_urlsafe(18)
    settings = settings.model_copy(update={"redis_url": None, "webhook_token": SecretStr(token)})
    with ExitStack() as stack:
        collector = CollectorServer(settings, engine, host=host, port=port)
        collector_url = collector.start()
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
        stack.callback(worker.stop)
        stack.callback(close_runtime_on_worker_loop, runtime)
        stop = threading.Event()
        scheduler = threading.Thread(
            target=run_scheduler,
            args=(engine, make_enqueue(broker), stop),
            kwargs={"options": tick_options(settings), "reconcile": build_reconciler(settings)},
            name="scheduler",
            daemon=True,
        )
        scheduler.start()
        stack.callback(scheduler.join, 10)
        stack.callback(stop.set)
        yield Stack(settings, engine, collector_url, server, broker, stop)


def run_embedded(
    settings: Settings,
    config_path: Path,
    csv_path: Path,
    *,
    sandbox: bool,
    speed: float,
    output: Path | None,
    phone_column: str | None,
) -> int:
    """Run one campaign to the end. Returns the exit code: 0 when every contact is final,
    2 when the provider paused the campaign, 130 after Ctrl-C (which pauses it)."""
    from dialer.export.run import export_campaign
    from dialer.loader.load import load_contacts
    from dialer.report import write_report
    from dialer.sandbox import sandbox_campaign, sandbox_simulator_config

    console = Console(stderr=True)
    config = load_config(config_path)
    if sandbox:
        config = sandbox_campaign(config, speed)
    elif not settings.public_url:
        raise UserError("set DIALER_PUBLIC_URL: MTT must reach the collector (or use --sandbox)")
    settings = settings.model_copy(update={"sandbox": sandbox})
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        name = create_campaign(session, config, str(config_path))[0].name
    summary = load_contacts(engine, name, csv_path, phone_column=phone_column)
    console.print(
        f"loaded {csv_path}: {summary.rows} rows, {summary.loaded} loaded, {summary.rejected} "
        f"rejected, {summary.duplicates} duplicates, {summary.suppressed} suppressed"
        + (f"\nrejected lines and reasons: {summary.rejects_file}" if summary.rejects_file else "")
    )
    _resend_after_restart(engine)
    simulator = None
    if sandbox:
        simulator = sandbox_simulator_config(speed, sender=config.message.caller_id)
    with embedded_stack(settings, engine, simulator=simulator) as stack:
        if stack.simulator is not None:
            console.print(
                f"[dim]sandbox: MTT simulator at {stack.simulator.base_url}, time ×{speed:g}, "
                "calling window always open[/]"
            )
        with session_scope(engine) as session:
            state = get_campaign(session, name).state
        if state == CampaignState.CANCELLED:
            raise UserError(f"campaign {name!r} was cancelled; nothing to run")
        if state != CampaignState.RUNNING:
            control_campaign(stack.settings, engine, name, "start")
        try:
            final_state = _show_progress(engine, name, console)
        except KeyboardInterrupt:
            control_campaign(stack.settings, engine, name, "pause")
            console.print(f"\npaused {name!r}; run the same command again to resume")
            return 130
    out = output or Path(f"{name}-results.csv")
    exported = export_campaign(engine, name, out, fmt="csv", level="contacts")
    report = write_report(engine, name, out.with_name(f"{out.stem}-report.html"))
    _print_summary(engine, name)
    console.print(f"exported {exported.rows} contacts to {out}; report in {report.output}")
    if final_state == CampaignState.PAUSED:
        with session_scope(engine) as session:
            reason = get_campaign(session, name).state_reason
        console.print(f"[red]campaign paused: {reason}[/]")
        return 2
    return 0


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


def _show_progress(engine: Engine, name: str, console: Console) -> CampaignState:
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
