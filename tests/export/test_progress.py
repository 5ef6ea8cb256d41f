"""``dialer status``: the current rate, the ETA and the reasons contacts wait."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Campaign, Contact
from dialer.export.progress import (
    WaitGroup,
    current_rate,
    estimate_finish,
    explain_waiting,
    scheduler_silence,
)
from dialer.export.status import CampaignStatus, campaign_status, live_limit
from dialer.export.status_view import status_renderable
from dialer.loader.load import load_contacts
from dialer.scheduler import heartbeat
from dialer.states import CampaignState
from tests.support.factories import make_campaign, make_config, write_csv

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_rate_over_the_last_minute_or_since_the_start() -> None:
    assert current_rate(120, None, NOW) == 2.0
    assert current_rate(120, NOW - timedelta(hours=1), NOW) == 2.0
    assert current_rate(50, NOW - timedelta(seconds=10), NOW) == 5.0
    assert current_rate(3, NOW, NOW) == 3.0  # at least one second


def _eta(**kwargs: object) -> tuple[datetime | None, str]:
    base: dict[str, object] = {
        "state": "running",
        "finished_at": None,
        "to_dial": 100,
        "in_progress": 4,
        "rate": 5.0,
        "last_scheduled": None,
        "now": NOW,
    }
    estimate = estimate_finish(**{**base, **kwargs})  # type: ignore[arg-type]
    return estimate.at, estimate.basis


def test_eta_is_the_contacts_left_at_the_current_rate() -> None:
    at, basis = _eta()
    assert at == NOW + timedelta(seconds=20)
    assert basis.startswith("100 contact(s) to dial at 5.0/s")


def test_eta_waits_for_the_latest_scheduled_retry() -> None:
    later = NOW + timedelta(hours=3)
    at, basis = _eta(last_scheduled=later)
    assert at == later
    assert "2026-11-02 12:00 UTC" in basis


@pytest.mark.parametrize(
    ("kwargs", "at", "basis"),
    [
        ({"state": "paused"}, None, "campaign paused"),
        ({"state": "completed", "finished_at": NOW}, NOW, "completed"),
        ({"rate": 0.0}, None, "nothing dialled in the last minute"),
        ({"to_dial": 0}, NOW, "4 call(s) awaiting their final event"),
        ({"to_dial": 0, "in_progress": 0}, NOW, "nothing left to dial"),
    ],
)
def test_eta_when_it_cannot_be_estimated_from_the_rate(
    kwargs: dict[str, object], at: datetime | None, basis: str
) -> None:
    assert _eta(**kwargs) == (at, basis)


def test_waiting_reasons_explain_due_contacts_by_what_holds_them() -> None:
    groups = [
        WaitGroup("pending", None, True, 30, NOW - timedelta(minutes=1)),
        WaitGroup("retry_wait", "retry after busy", False, 5, NOW + timedelta(minutes=7)),
        WaitGroup("retry_wait", "retry after busy", False, 2, NOW + timedelta(minutes=2)),
        WaitGroup("pending", "outside calling window", False, 9, NOW + timedelta(hours=12)),
    ]

    def explain(**kwargs: object) -> list[dict[str, object]]:
        base: dict[str, object] = {
            "state": "running",
            "state_reason": None,
            "live": 3,
            "max_concurrent": 10,
            "rps": 5.0,
        }
        return [asdict(line) for line in explain_waiting(groups, **{**base, **kwargs})]  # type: ignore[arg-type]

    assert explain() == [
        {"reason": "in line for the rate limit (5/s)", "count": 30, "next_at": None},
        {"reason": "outside calling window", "count": 9, "next_at": NOW + timedelta(hours=12)},
        {"reason": "retry after busy", "count": 7, "next_at": NOW + timedelta(minutes=2)},
    ]
    assert explain(live=10)[0]["reason"] == "all 10 call slots busy"
    paused = explain(state="paused", state_reason="balance 3.00 below 100")
    assert paused[0]["reason"] == "campaign paused: balance 3.00 below 100"
    silent = explain(scheduler_silent=timedelta(seconds=45))
    assert (
        silent[0]["reason"]
        == "no scheduler seen for 45 s (start `dialer scheduler`, or `dialer run` again)"
    )
    assert explain(scheduler_silent=timedelta.max)[0]["reason"] == (
        "no scheduler seen (start `dialer scheduler`, or `dialer run` again)"
    )
    assert explain(state="paused", scheduler_silent=timedelta.max)[0]["reason"] == (
        "campaign paused"
    )


@pytest.mark.parametrize(
    ("seen_ago", "silent"),
    [
        (None, timedelta.max),
        (timedelta(seconds=0), None),
        (timedelta(seconds=30), None),
        (timedelta(seconds=31), timedelta(seconds=31)),
        (timedelta(hours=2), timedelta(hours=2)),
    ],
)
def test_scheduler_silence_counts_only_a_stale_heartbeat(
    seen_ago: timedelta | None, silent: timedelta | None
) -> None:
    seen_at = None if seen_ago is None else NOW - seen_ago
    assert scheduler_silence(seen_at, NOW, timedelta(seconds=30)) == silent


def test_status_of_a_running_campaign(engine: Engine, tmp_path: Path) -> None:
    campaign_id = make_campaign(engine, make_config(text="Hi {name}"))
    rows = "".join(f"n{i},7916123{i:04d}\n" for i in range(10))
    load_contacts(engine, "test", write_csv(tmp_path / "c.csv", "name,phone\n" + rows))
    with session_scope(engine) as session:
        session.execute(
            update(Campaign)
            .where(col(Campaign.id) == campaign_id)
            .values(state="running", started_at=NOW - timedelta(minutes=5))
        )
        contacts = session.exec(select(Contact).order_by(col(Contact.id))).all()
        for contact in contacts[:3]:  # dialled in the last minute, one still live
            session.add(
                Attempt(
                    campaign_id=campaign_id,
                    contact_id=contact.id or 0,
                    channel="tts",
                    status="finished" if contact is not contacts[2] else "submitted",
                    number=contact.phone,
                    dialing_at=NOW - timedelta(seconds=30),
                )
            )
        for contact in contacts[:2]:
            contact.status, contact.outcome = "reached", "answered"
        contacts[2].status = "in_progress"
        for contact in contacts[3:5]:
            contact.status, contact.reason = "retry_wait", "retry after busy"
            contact.next_attempt_at = NOW + timedelta(minutes=10)
        for contact in contacts[5:]:
            contact.next_attempt_at = NOW - timedelta(seconds=1)
        session.add_all(contacts)
    with session_scope(engine) as session:
        campaign = session.exec(select(Campaign)).one()
    assert campaign_status(engine, campaign, now=NOW).model_dump(mode="json")["waiting"][0] == {
        "reason": "no scheduler seen (start `dialer scheduler`, or `dialer run` again)",
        "count": 5,
        "next_at": None,
    }
    heartbeat.beat(engine, "scheduler/host:1", NOW - timedelta(seconds=45))
    stale = campaign_status(engine, campaign, now=NOW).model_dump(mode="json")
    assert stale["scheduler_seen_at"] == "2026-11-02T08:59:15+00:00"
    assert stale["waiting"][0]["reason"].startswith("no scheduler seen for 45 s")
    heartbeat.beat(engine, "scheduler/host:1", NOW - timedelta(seconds=3))
    data = campaign_status(engine, campaign, now=NOW).model_dump(mode="json")

    assert data["counts"]["reached"] == 2
    assert data["attempts"] == 3
    assert data["live_attempts"] == 1
    assert data["rate_per_s"] == 0.05  # 3 in the last 60 s
    # 7 to dial at 0.05/s is 140 s, but the busy retries are due in 10 minutes.
    assert data["eta"] == "2026-11-02T09:10:00+00:00"
    assert data["waiting"] == [
        {"reason": "in line for the rate limit (5/s)", "count": 5, "next_at": None},
        {"reason": "retry after busy", "count": 2, "next_at": "2026-11-02T09:10:00+00:00"},
    ]


def test_the_status_table_shows_rate_eta_and_reasons() -> None:
    fields = {
        "campaign": "c",
        "channel": "ivr",
        "state": "running",
        "state_reason": None,
        "contacts": 10,
        "final": 2,
        "attempts": 3,
        "rate_per_s": 0.05,
        "live_attempts": 1,
        "eta": "2026-11-02T09:10:00+00:00",
        "eta_basis": "7 contact(s) to dial at 0.1/s",
        "counts": {"pending": 5, "reached": 2},
        "outcomes": {"answered": 2},
        "dtmf": {"1": {"count": 1, "label": "pickup"}},
        "waiting": [
            {"reason": "retry after busy", "count": 2, "next_at": "2026-11-02T09:10:00+00:00"}
        ],
        "rate_per_min": 3,
        "loads": {"rows": 10, "loaded": 10, "rejected": 0, "duplicates": 0, "suppressed": 0},
        "scheduler_seen_at": "2026-11-02T09:00:00+00:00",
        "generated_at": "2026-11-02T09:00:05+00:00",
    }
    data = CampaignStatus.model_validate(fields)
    console = Console(record=True, width=120)
    console.print(status_renderable(data))
    text = console.export_text()
    assert "0.05/s now, 1 live" in text
    assert "ETA        2026-11-02T09:10:00+00:00 (7 contact(s) to dial at 0.1/s)" in text
    assert "scheduler  last seen 2026-11-02T09:00:00+00:00" in text
    assert "retry after busy" in text
    assert "pickup" in text
    console.print(status_renderable(data.model_copy(update={"state": CampaignState.COMPLETED})))
    assert "finished  2026-11-02T09:10:00+00:00" in console.export_text()


AGENTS = '[callback]\nagents = ["79031234567", "79031234568"]\n'


@pytest.mark.parametrize(
    ("channel", "extra", "limit"),
    [
        ("tts", "[limits]\nmax_concurrent = 7\n", 7),
        ("ivr", "[limits]\nmax_concurrent = 7\n", 7),
        ("sms", "[limits]\nmax_concurrent = 7\n", None),
        ("callback", AGENTS + "[limits]\nmax_concurrent = 7\n", 2),  # one callback per agent
    ],
)
def test_live_limit_of_each_channel(channel: str, extra: str, limit: int | None) -> None:
    assert live_limit(make_config(channel=channel, extra=extra)) == limit


def test_status_of_a_callback_campaign(engine: Engine, tmp_path: Path) -> None:
    """Both agents busy: the due contact waits for an agent; contacts a callback connected
    are reached, with the outcome ``connected``."""
    campaign_id = make_campaign(engine, make_config(channel="callback", text="Hi", extra=AGENTS))
    rows = "".join(f"7916123{i:04d}\n" for i in range(5))
    load_contacts(engine, "test", write_csv(tmp_path / "c.csv", "phone\n" + rows))
    heartbeat.beat(engine, "scheduler/host:1", NOW - timedelta(seconds=3))
    with session_scope(engine) as session:
        session.execute(
            update(Campaign)
            .where(col(Campaign.id) == campaign_id)
            .values(state="running", started_at=NOW - timedelta(minutes=5))
        )
        contacts = session.exec(select(Contact).order_by(col(Contact.id))).all()
        contacts[0].status, contacts[0].outcome = "reached", "connected"
        contacts[1].status, contacts[1].outcome = "reached", "connected"
        for contact in contacts[2:4]:
            contact.status = "in_progress"
            session.add(
                Attempt(
                    campaign_id=campaign_id,
                    contact_id=contact.id or 0,
                    channel="callback",
                    status="submitted",
                    number=contact.phone,
                    dialing_at=NOW - timedelta(seconds=30),
                )
            )
        contacts[4].next_attempt_at = NOW - timedelta(seconds=1)
        session.add_all(contacts)
    with session_scope(engine) as session:
        campaign = session.exec(select(Campaign)).one()
    data = campaign_status(engine, campaign, now=NOW).model_dump(mode="json")

    assert {k: v for k, v in data["counts"].items() if v} == {
        "pending": 1,
        "in_progress": 2,
        "reached": 2,
    }
    assert (data["contacts"], data["final"]) == (5, 2)
    assert data["outcomes"] == {"connected": 2}
    assert data["waiting"] == [{"reason": "all 2 agents busy", "count": 1, "next_at": None}]
