"""The ``dialer run`` flow: check, lock, create and load, dial to the end, export."""

from __future__ import annotations

import sys
import threading
from contextlib import ExitStack, suppress
from pathlib import Path

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from dialer.campaign.config import CampaignConfig, load_config
from dialer.campaign.store import USER_PAUSE_REASON, config_of, create_campaign, get_campaign
from dialer.control import control_campaign
from dialer.db.engine import make_engine, session_scope
from dialer.db.models import Attempt, Campaign, Contact
from dialer.db.schema import ensure_schema
from dialer.db.types import utcnow
from dialer.embedded import Stack, embedded_stack
from dialer.errors import UserError
from dialer.runner.checks import (
    check_live_settings,
    check_speed,
    check_writable,
    collector_port,
    run_paths,
    where_mtt_posts,
)
from dialer.runner.console import console_beside
from dialer.runner.ending import EXIT_USER_PAUSE, export_and_summarise, report_end, wind_down
from dialer.runner.lease import RunLease
from dialer.runner.progress import CONSOLE, print_summary, show_progress, wait_for_callbacks
from dialer.settings import Settings
from dialer.states import AttemptStatus, CampaignState


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
    web: tuple[str, int] | None = None,
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
            simulator = sandbox_simulator_config(
                speed,
                sender=config.message.caller_id,
                agents=config.callback.agents if config.callback else (),
            )
        if web is not None:
            scope.enter_context(console_beside(settings, engine, web, sandbox=sandbox))
        with embedded_stack(settings, engine, simulator=simulator, host=host, port=port) as stack:
            final_state = _run_to_end(stack, name, speed, host, lease.lost)
        if final_state is None:  # Ctrl-C: paused; nothing exported
            CONSOLE.print(f"paused {name!r} (interrupted); run the same command again to resume")
            return EXIT_USER_PAUSE
        export_and_summarise(engine, name, paths)
        for linked in config.callback_campaigns():
            print_summary(engine, linked)
        code = report_end(engine, name, final_state)
        if web is not None and sys.stdin.isatty():
            wait_for_interrupt("the console stays up to look at the results; Ctrl-C ends it")
        return code


def wait_for_interrupt(note: str) -> None:
    CONSOLE.print(note)
    with suppress(KeyboardInterrupt):
        threading.Event().wait()


def _create_and_load(
    engine: Engine, config: CampaignConfig, config_path: Path, csv_path: Path, phone: str | None
) -> str:
    """Register the campaign (as its file says) and load the CSV. Raises ``UserError`` when
    the campaign has no contacts at all afterwards (nothing loaded, nothing from before)."""
    from dialer.loader.load import load_contacts

    _create_callback_campaigns(engine, config, config_path)
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


def _create_callback_campaigns(engine: Engine, config: CampaignConfig, config_path: Path) -> None:
    """A menu's ``callback`` digit names a callback campaign: when none of that name exists
    yet, create it from the file of that name beside this one (``campaigns/leads-callback.toml``
    for ``campaign = "leads-callback"``), so one ``dialer run`` sets the pair up. Without
    such a file the campaign's creation reports the missing one."""
    for linked in config.callback_campaigns():
        with session_scope(engine) as session:
            exists = session.exec(select(Campaign.id).where(Campaign.name == linked)).first()
        sibling = config_path.parent / f"{linked}.toml"
        if exists is not None:
            continue
        if not sibling.is_file():
            digit = next(item.digit for item in config.menu if item.campaign == linked)
            raise UserError(
                f"{config_path}: menu digit {digit} names callback campaign {linked!r}, which "
                f"does not exist: put {linked}.toml beside {config_path.name} or create it "
                f"first (dialer campaign create {linked}.toml)"
            )
        linked_config = load_config(sibling)
        if linked_config.name != linked:
            raise UserError(f"{sibling}: its name is {linked_config.name!r}, not {linked!r}")
        with session_scope(engine) as session:
            create_campaign(session, linked_config, str(sibling))
        CONSOLE.print(f"created callback campaign {linked!r} from {sibling}")


def _start_callback_campaigns(stack: Stack, config: CampaignConfig) -> list[str]:
    """Start the callback campaigns the menu feeds (those not cancelled), so a contact who
    asks for a callback is called back during this run. Returns their names."""
    names: list[str] = []
    for linked in config.callback_campaigns():
        with session_scope(stack.engine) as session:
            state = get_campaign(session, linked).state
        if state == CampaignState.CANCELLED:
            continue
        if state != CampaignState.RUNNING:
            control_campaign(stack.settings, stack.engine, linked, "start")
        names.append(linked)
    return names


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
    with session_scope(engine) as session:
        config = config_of(get_campaign(session, name))
    linked = _start_callback_campaigns(stack, config)
    interrupted = False
    try:
        final_state = show_progress(engine, name, CONSOLE, lease_lost)
        if final_state == CampaignState.COMPLETED and linked:
            wait_for_callbacks(engine, linked, CONSOLE, lease_lost)
    except KeyboardInterrupt:
        interrupted = True
        for paused in (name, *linked):
            control_campaign(
                stack.settings,
                engine,
                paused,
                "pause",
                reason=f"{USER_PAUSE_REASON} (dialer run interrupted)",
            )
        final_state = CampaignState.PAUSED
    wind_down(stack, name, final_state)
    return None if interrupted else final_state


def _resend_after_restart(engine: Engine) -> None:
    """The in-process queue died with the last run: queued attempts are sent again at once."""
    with session_scope(engine) as session:
        session.execute(
            update(Attempt)
            .where(col(Attempt.status) == AttemptStatus.QUEUED)
            .values(enqueued_at=utcnow().replace(year=2000))
        )
