"""How a ``dialer run`` ends: stop dialling without stranding anything, let calls in flight
end, and say how the campaign ended (the exit code)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

from dialer.campaign.store import USER_PAUSE_REASON, config_of, get_campaign
from dialer.db.engine import session_scope
from dialer.db.types import utcnow
from dialer.dispatch import store
from dialer.embedded import Stack
from dialer.runner.checks import RunPaths
from dialer.runner.progress import CONSOLE, print_summary
from dialer.states import CampaignState

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


def wind_down(stack: Stack, name: str, state: CampaignState) -> None:
    """Stop dialling in the order that strands nothing, then give calls already with the
    provider a bounded time to end while the collector still listens. A cancelled
    campaign's calls still without a final event are finished as ``unknown``, so that every
    contact ends ``cancelled`` or in the outcome its events gave."""
    engine = stack.engine
    with sigint_deferred():
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
    drain(engine, campaign_id, limit)
    if state == CampaignState.CANCELLED:
        with session_scope(engine) as session:
            store.settle_unfinished(
                session,
                campaign_id,
                "no final event before dialer run stopped (campaign cancelled)",
                utcnow(),
            )


def drain(engine: Engine, campaign_id: int, limit: float) -> None:
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
def sigint_deferred() -> Iterator[None]:
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


def export_and_summarise(engine: Engine, name: str, paths: RunPaths) -> None:
    from dialer.export.run import export_campaign
    from dialer.report import write_report

    exported = export_campaign(engine, name, paths.results, fmt="csv", level="contacts")
    report = write_report(engine, name, paths.report)
    print_summary(engine, name)
    CONSOLE.print(
        f"exported {exported.rows} contacts to {paths.results}; report in {report.output}"
    )


def report_end(engine: Engine, name: str, state: CampaignState) -> int:
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
