"""What ``dialer run`` draws: live progress bars, then a summary table."""

from __future__ import annotations

import threading
import time

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
from sqlalchemy.engine import Engine

from dialer.campaign.store import get_campaign
from dialer.db.engine import session_scope
from dialer.errors import UserError
from dialer.states import CampaignState, ContactStatus

POLL_SECONDS = 0.5

CONSOLE = Console(stderr=True)
"""Progress and messages go to stderr; the summary table to stdout."""


def show_progress(
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
            counts = data.counts
            total = max(data.contacts, 1)
            lines = {
                "final": data.final,
                "reached": counts[ContactStatus.REACHED],
                "waiting retry": counts[ContactStatus.RETRY_WAIT],
                "in progress": counts[ContactStatus.IN_PROGRESS],
                "failed": counts[ContactStatus.NOT_REACHED] + counts[ContactStatus.INVALID],
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


def print_summary(engine: Engine, name: str) -> None:
    from dialer.export.status import campaign_status

    with session_scope(engine) as session:
        campaign = get_campaign(session, name)
    data = campaign_status(engine, campaign)
    table = Table(title=f"{name}: {data.state.value}, {data.attempts} attempts")
    table.add_column("")
    table.add_column("contacts", justify="right")
    for status, count in data.counts.items():
        if count:
            table.add_row(status.value, str(count))
    for outcome, count in data.outcomes.items():
        table.add_row(f"[dim]outcome[/] {outcome}", str(count))
    for digit, item in data.dtmf.items():
        table.add_row(f"[dim]dtmf[/] {digit} {item.label or ''}", str(item.count))
    Console().print(table)


def wait_for_callbacks(
    engine: Engine, names: list[str], console: Console, lease_lost: threading.Event | None = None
) -> None:
    """After the campaign ends: wait until the callback campaigns it fed have no contact
    waiting or in progress (or stop running), showing how many callbacks are left."""
    from dialer.export.status import campaign_status

    with console.status("waiting for callbacks") as status:
        while True:
            left = 0
            for name in names:
                with session_scope(engine) as session:
                    campaign = get_campaign(session, name)
                if campaign.state != CampaignState.RUNNING:
                    continue
                counts = campaign_status(engine, campaign).counts
                left += sum(
                    counts[s]
                    for s in (
                        ContactStatus.PENDING,
                        ContactStatus.RETRY_WAIT,
                        ContactStatus.IN_PROGRESS,
                    )
                )
            if not left:
                return
            status.update(f"waiting for {left} callback(s) in {', '.join(names)}")
            if lease_lost is not None and lease_lost.is_set():
                raise UserError("another `dialer run` took over this database; stopping")
            time.sleep(POLL_SECONDS)
