"""Human rendering of ``dialer status`` (a rich table, optionally live)."""

from __future__ import annotations

import time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from sqlalchemy.engine import Engine

from dialer.campaign.store import get_campaign
from dialer.db.engine import session_scope
from dialer.export.status import CampaignStatus, campaign_status
from dialer.states import CampaignState


def status_renderable(data: CampaignStatus) -> Group:
    head = Table.grid(padding=(0, 2))
    head.add_row("campaign", f"{data.campaign} ({data.channel})")
    state = data.state.value + (f" — {data.state_reason}" if data.state_reason else "")
    head.add_row("state", state)
    head.add_row("contacts", f"{data.contacts} ({data.final} final)")
    head.add_row(
        "attempts",
        f"{data.attempts} ({data.rate_per_s:g}/s now, {data.live_attempts} live)",
    )
    if data.state in (CampaignState.COMPLETED, CampaignState.CANCELLED):
        head.add_row("finished", data.eta or "")
    else:
        head.add_row("ETA", f"{data.eta or 'unknown'} ({data.eta_basis})")
    if data.state == CampaignState.RUNNING:
        head.add_row("scheduler", f"last seen {data.scheduler_seen_at or 'never'}")
    counts = Table(title="contacts by status")
    counts.add_column("status")
    counts.add_column("count", justify="right")
    for status, count in data.counts.items():
        if count:
            counts.add_row(status.value, str(count))
    outcomes = Table(title="outcomes")
    outcomes.add_column("outcome")
    outcomes.add_column("count", justify="right")
    for outcome, count in data.outcomes.items():
        outcomes.add_row(outcome, str(count))
    parts: list[Table] = [head, counts, outcomes]
    if data.dtmf:
        dtmf = Table(title="DTMF choices")
        dtmf.add_column("digit")
        dtmf.add_column("label")
        dtmf.add_column("count", justify="right")
        for digit, item in data.dtmf.items():
            dtmf.add_row(digit, item.label or "", str(item.count))
        parts.append(dtmf)
    if data.waiting:
        waiting = Table(title="waiting, by reason")
        waiting.add_column("reason")
        waiting.add_column("count", justify="right")
        waiting.add_column("next")
        for line in data.waiting:
            waiting.add_row(line.reason, str(line.count), line.next_at or "")
        parts.append(waiting)
    return Group(*parts)


def render_status(data: CampaignStatus) -> None:
    Console().print(status_renderable(data))


def watch_status(engine: Engine, ref: str, interval: float = 1.0) -> None:
    """Redraw the status every ``interval`` seconds until Ctrl-C."""

    def snapshot() -> Group:
        with session_scope(engine) as session:
            campaign = get_campaign(session, ref)
        return status_renderable(campaign_status(engine, campaign))

    try:
        with Live(snapshot(), refresh_per_second=4) as live:
            while True:
                time.sleep(interval)
                live.update(snapshot())
    except KeyboardInterrupt:
        pass
