"""One scheduler tick: due contacts become queued attempts, or are told why not."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.campaign.config import parse_config
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Campaign, Contact, DncEntry
from dialer.db.types import utcnow
from dialer.loader.load import load_contacts
from dialer.scheduler.tick import schedule_tick
from tests.support.factories import (
    callback_toml,
    campaign_toml,
    fast_retry,
    make_campaign,
    write_csv,
)


def test_a_tick_queues_due_contacts_and_opts_out_listed_ones(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_id = make_campaign(engine, parse_config(campaign_toml(text="Hi") + fast_retry()))
    rows = "phone\n79161230001\n79161230002\n"
    load_contacts(engine, "test", write_csv(tmp_path / "c.csv", rows))
    with session_scope(engine) as session:
        session.execute(
            update(Campaign).where(col(Campaign.id) == campaign_id).values(state="running")
        )
        # Listed after the load, bypassing add_to_dnc: the scheduler's own gate must catch it.
        session.add(DncEntry(phone="79161230002", source="cli"))

    result = schedule_tick(engine, utcnow())

    assert len(result.enqueue) == 1
    with Session(engine) as session:
        contacts = {c.phone: c for c in session.exec(select(Contact))}
        attempts = session.exec(select(Attempt)).all()
    dialled, listed = contacts["79161230001"], contacts["79161230002"]
    assert (dialled.status, dialled.attempts, dialled.next_attempt_at) == ("in_progress", 1, None)
    assert [a.number for a in attempts] == ["79161230001"]
    assert (listed.status, listed.outcome, listed.attempts) == ("opted_out", "opted_out", 0)
    assert listed.reason == "on the do-not-call list"


def test_callbacks_are_limited_to_one_per_agent_and_a_finished_call_frees_its_agent(
    engine: Engine, tmp_path: Path
) -> None:
    """Two agents: two live callbacks of the campaign at most, whatever the rate; a callback
    whose call is over (``end_side_A``: slot released) frees its agent before its result is
    read; another campaign's callbacks do not count."""
    window = '[schedule]\nwindow = "00:00-24:00"\n[limits]\nrps = 50\n'
    campaign_id = make_campaign(engine, parse_config(callback_toml("cb", extra="") + window))
    other_id = make_campaign(engine, parse_config(callback_toml("other") + window))
    rows = "name,phone\n" + "".join(f"n{i},7916123000{i}\n" for i in range(6))
    load_contacts(engine, "cb", write_csv(tmp_path / "c.csv", rows))
    load_contacts(engine, "other", write_csv(tmp_path / "o.csv", rows))
    with session_scope(engine) as session:
        session.execute(update(Campaign).values(state="running"))

    first = schedule_tick(engine, utcnow())
    assert [c for _, c in first.enqueue] == ["callback"] * 4  # two per campaign
    assert len(schedule_tick(engine, utcnow()).enqueue) == 0
    with session_scope(engine) as session:
        attempt = session.exec(
            select(Attempt).where(Attempt.campaign_id == campaign_id).order_by(col(Attempt.id))
        ).first()
        assert attempt is not None
        attempt.status, attempt.slot_released_at = "submitted", utcnow()
    again = schedule_tick(engine, utcnow())
    assert len(again.enqueue) == 1
    with Session(engine) as session:
        live = session.exec(
            select(Attempt).where(
                Attempt.campaign_id == campaign_id, col(Attempt.slot_released_at).is_(None)
            )
        ).all()
        others = session.exec(select(Attempt).where(Attempt.campaign_id == other_id)).all()
    assert (len(live), len(others)) == (2, 2)
