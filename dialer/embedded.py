"""``dialer run``: the whole engine in one process (SQLite, in-process broker and worker,
scheduler, collector; with ``--sandbox`` the MTT simulator too)."""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from dialer.campaign.config import CampaignConfig, load_config
from dialer.campaign.control import control_campaign
from dialer.campaign.store import create_campaign, get_campaign
from dialer.db.engine import make_engine, session_scope
from dialer.db.models import Attempt
from dialer.db.schema import ensure_schema
from dialer.db.types import utcnow
from dialer.errors import UserError
from dialer.settings import Settings
from dialer.states import AttemptStatus, CampaignState

POLL_SECONDS = 0.5
WORKER_THREADS = 16


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
    port: int = 0,
) -> int:
    """Run one campaign to the end. Returns the process exit code (0 when every contact is
    final; 2 when the provider paused the campaign; 130 after Ctrl-C, which pauses it)."""
    console = Console(stderr=True)
    config = load_config(config_path)
    if sandbox:
        from dialer.sandbox import sandbox_campaign

        config = sandbox_campaign(config, speed)
    token = settings.webhook_token.get_secret_value() or secrets.token_urlsafe(18)
    settings = settings.model_copy(
        update={"redis_url": None, "webhook_token": SecretStr(token), "sandbox": sandbox}
    )
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    with ExitStack() as stack:
        from dialer.collector.server import CollectorServer

        collector = CollectorServer(settings, engine, host=host, port=port)
        collector_url = collector.start()
        stack.callback(collector.stop)
        if sandbox:
            from dialer.sandbox import start_sandbox

            settings, simulator = start_sandbox(settings, collector_url, speed)
            stack.callback(simulator.stop)
            console.print(f"[dim]sandbox: MTT simulator at {simulator.base_url}, speed ×{speed:g}[/]")
        elif not settings.public_url:
            raise UserError("set DIALER_PUBLIC_URL: MTT must reach the collector (or use --sandbox)")
        return _run_campaign(stack, settings, engine, config, config_path, csv_path, output, phone_column, console)
    return 1  # pragma: no cover - the with block always returns


def _run_campaign(
    stack: ExitStack,
    settings: Settings,
    engine: Engine,
    config: CampaignConfig,
    config_path: Path,
    csv_path: Path,
    output: Path | None,
    phone_column: str | None,
    console: Console,
) -> int:
    import dramatiq

    from dialer.dispatch.boot import build_runtime
    from dialer.dispatch.broker import build_broker, make_enqueue
    from dialer.dispatch.runtime import set_runtime
    from dialer.dispatch.worker import start_worker
    from dialer.export.run import export_campaign
    from dialer.loader.load import load_contacts
    from dialer.scheduler.loop import run_scheduler

    with session_scope(engine) as session:
        campaign, _ = create_campaign(session, config, str(config_path))
        name = campaign.name
    summary = load_contacts(engine, name, csv_path, phone_column=phone_column)
    console.print(
        f"loaded {csv_path}: {summary.rows} rows, {summary.loaded} loaded, {summary.rejected} "
        f"rejected, {summary.duplicates} duplicates, {summary.suppressed} suppressed"
        + (f" (rejects: {summary.rejects_file})" if summary.rejects_file else "")
    )
    _resend_after_restart(engine)
    with session_scope(engine) as session:
        state = get_campaign(session, name).state
    if state in (CampaignState.DRAFT, CampaignState.PAUSED, CampaignState.COMPLETED):
        control_campaign(settings, engine, name, "start")
    elif state == CampaignState.CANCELLED:
        raise UserError(f"campaign {name!r} was cancelled; nothing to run")

    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    runtime = build_runtime(settings, engine, broker)
    set_runtime(runtime)
    worker = start_worker(broker, WORKER_THREADS)
    stack.callback(worker.stop)
    stop = threading.Event()
    scheduler = threading.Thread(
        target=run_scheduler, args=(engine, make_enqueue(broker), stop), name="scheduler", daemon=True
    )
    scheduler.start()
    stack.callback(scheduler.join, 5)
    stack.callback(stop.set)
    try:
        final_state = _show_progress(engine, name, console)
    except KeyboardInterrupt:
        stop.set()
        control_campaign(settings, engine, name, "pause")
        console.print(f"\npaused {name!r}; run the same command again to resume")
        return 130
    stop.set()
    out = output or Path(f"{name}-results.csv")
    rows = export_campaign(engine, name, out, fmt="csv", level="contacts")
    _print_summary(engine, name, console)
    console.print(f"exported {rows} contacts to {out}")
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


def _show_progress(engine: Engine, name: str, console: Console) -> CampaignState:
    from dialer.export.status import campaign_status

    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        TextColumn("{task.completed:>6.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
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


def _print_summary(engine: Engine, name: str, console: Console) -> None:
    from dialer.export.status import campaign_status

    with session_scope(engine) as session:
        campaign = get_campaign(session, name)
    data = campaign_status(engine, campaign)
    table = Table(title=f"{name}: {data['state']}, {data['attempts']} attempts")
    table.add_column("status")
    table.add_column("contacts", justify="right")
    for status, count in data["counts"].items():
        if count:
            table.add_row(status, str(count))
    for outcome, count in data["outcomes"].items():
        table.add_row(f"  outcome {outcome}", str(count))
    for digit, item in data["dtmf"].items():
        table.add_row(f"  dtmf {digit} {item['label'] or ''}", str(item["count"]))
    Console().print(table)
