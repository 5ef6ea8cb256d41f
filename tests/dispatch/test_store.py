"""What a worker reads before it dials: one joined SELECT."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.campaign.config import parse_config
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Contact, DncEntry
from dialer.dispatch.store import read_dial_context
from dialer.loader.load import load_contacts
from tests.support.factories import campaign_toml, make_campaign, write_csv


def test_the_dial_context_of_an_attempt(engine: Engine, tmp_path: Path) -> None:
    config = parse_config(campaign_toml(channel="ivr", text="Заказ {name}"))
    campaign_id = make_campaign(engine, config)
    rows = "name,phone,timezone\nАнна,79161234567,Asia/Omsk\nБорис,79161234568,\n"
    load_contacts(engine, "test", write_csv(tmp_path / "c.csv", rows))
    with session_scope(engine) as session:
        contacts = {c.phone: c for c in session.exec(select(Contact))}
        for phone, contact in contacts.items():
            session.add(
                Attempt(
                    campaign_id=campaign_id,
                    contact_id=contact.id or 0,
                    channel="ivr",
                    number=phone,
                )
            )
        session.add(DncEntry(phone="79161234568", source="cli"))
    with Session(engine) as session:
        ids = {a.number: a.id or 0 for a in session.exec(select(Attempt))}
        anna = read_dial_context(session, ids["79161234567"])
        boris = read_dial_context(session, ids["79161234568"])
        missing = read_dial_context(session, max(ids.values()) + 1)

    assert anna is not None
    assert boris is not None
    assert missing is None
    assert (anna.attempt_status, anna.channel, anna.campaign_state) == ("queued", "ivr", "draft")
    assert anna.config == config
    assert anna.fields == {"name": "Анна", "phone": "79161234567", "timezone": "Asia/Omsk"}
    assert anna.zones[0] == "Asia/Omsk"
    assert (anna.on_dnc, boris.on_dnc) == (False, True)
    assert boris.zones[0] == config.schedule.timezone
