"""The outcome engine on real tables: orphans, duplicates, reordering, forward-only states."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Contact, ProviderEvent
from dialer.outcomes.apply import apply_events
from dialer.outcomes.inbox import store_event
from dialer.outcomes.orphans import match_orphans
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.events import dedupe_key
from tests.support.factories import make_campaign, make_config

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def contact_with_attempt(
    engine: Engine, channel: str = "tts", provider_id: str | None = None
) -> int:
    campaign_id = make_campaign(engine, make_config(channel=channel, caller_id="79587625012"))
    with session_scope(engine) as session:
        contact = Contact(
            campaign_id=campaign_id,
            phone="79161234567",
            timezone="Europe/Moscow",
            status="in_progress",
            attempts=1,
        )
        session.add(contact)
        session.flush()
        attempt = Attempt(
            campaign_id=campaign_id,
            contact_id=contact.id or 0,
            channel=channel,
            status="submitted",
            number="79161234567",
            provider_id=provider_id,
        )
        session.add(attempt)
        session.flush()
        contact.last_attempt_id = attempt.id
        return attempt.id or 0


def deliver(engine: Engine, *events: NormalizedEvent) -> list[int]:
    ids = []
    with session_scope(engine) as session:
        for event in events:
            event_id, _ = store_event(
                session, route="call", raw="", event=event, dedupe_key=dedupe_key(event), now=NOW
            )
            if event_id is not None:
                ids.append(event_id)
    apply_events(engine, ids, NOW)
    return ids


def statuses(engine: Engine) -> tuple[str, str | None, str, str | None]:
    with Session(engine) as session:
        attempt = session.exec(select(Attempt)).one()
        contact = session.exec(select(Contact)).one()
        return attempt.status, attempt.outcome, contact.status, contact.outcome


def test_a_final_state_absorbs_late_and_duplicate_events(sqlite_engine: Engine) -> None:
    attempt_id = contact_with_attempt(sqlite_engine)
    ended = NormalizedEvent(
        EventKind.CALL_ENDED, attempt_id=attempt_id, provider_id="c1", cause=16, duration=9
    )
    busy = NormalizedEvent(
        EventKind.CALL_ENDED, attempt_id=attempt_id, provider_id="c1", cause=17, duration=0
    )
    started = NormalizedEvent(EventKind.CALL_STARTED, attempt_id=attempt_id, provider_id="c1")
    deliver(sqlite_engine, ended)
    assert deliver(sqlite_engine, ended) == []  # the exact duplicate is not even stored
    deliver(sqlite_engine, busy, started)  # a contradicting late event and a late o_
    assert statuses(sqlite_engine) == ("completed", "answered", "reached", "answered")
    with Session(sqlite_engine) as session:
        contact = session.exec(select(Contact)).one()
    assert (contact.last_cause, contact.duration, contact.budget_used) == (16, 9, 1)


def test_an_sms_status_before_its_attempt_is_known_is_matched_later(sqlite_engine: Engine) -> None:
    contact_with_attempt(sqlite_engine, channel="sms", provider_id=None)
    early = NormalizedEvent(EventKind.SMS_STATUS, provider_id="msg-1", status="delivered")
    (event_id,) = deliver(sqlite_engine, early)
    with Session(sqlite_engine) as session:
        assert session.get(ProviderEvent, event_id).status == "orphan"  # type: ignore[union-attr]
    with session_scope(sqlite_engine) as session:
        attempt = session.exec(select(Attempt)).one()
        attempt.provider_id = "msg-1"
        session.add(attempt)
    assert match_orphans(sqlite_engine, now=NOW, provider_id="msg-1") == {"applied": 1}
    assert statuses(sqlite_engine) == ("completed", "delivered", "reached", "delivered")


def test_sms_statuses_only_move_forward(sqlite_engine: Engine) -> None:
    contact_with_attempt(sqlite_engine, channel="sms", provider_id="msg-2")
    for status in ("queued", "delivered", "sent", "queued"):
        deliver(
            sqlite_engine, NormalizedEvent(EventKind.SMS_STATUS, provider_id="msg-2", status=status)
        )
    with Session(sqlite_engine) as session:
        assert session.exec(select(Contact)).one().sms_status == "delivered"
    assert statuses(sqlite_engine)[2] == "reached"


def test_a_batch_applies_each_pending_event_once_and_records_its_status(
    sqlite_engine: Engine,
) -> None:
    attempt_id = contact_with_attempt(sqlite_engine)
    ended = NormalizedEvent(EventKind.CALL_ENDED, attempt_id=attempt_id, cause=16, duration=9)
    stray = NormalizedEvent(EventKind.CALL_ENDED, provider_id="unknown-call", cause=16)
    with session_scope(sqlite_engine) as session:
        ids = [
            store_event(session, route="call", raw="", event=e, dedupe_key=dedupe_key(e), now=NOW)[
                0
            ]
            for e in (ended, stray)
        ]
    ended_id, stray_id = ids
    assert ended_id is not None
    assert stray_id is not None
    batch = [stray_id, ended_id, ended_id, stray_id + 1000]  # a repeat and an unknown id
    assert apply_events(sqlite_engine, batch, NOW) == {"orphan": 1, "applied": 1}
    assert apply_events(sqlite_engine, batch, NOW) == {}  # nothing pending any more
    with Session(sqlite_engine) as session:
        rows = {row.id: row for row in session.exec(select(ProviderEvent))}
    assert (rows[ended_id].status, rows[ended_id].applied_at) == ("applied", NOW)
    assert (rows[stray_id].status, rows[stray_id].applied_at) == ("orphan", None)
    assert statuses(sqlite_engine) == ("completed", "answered", "reached", "answered")


def test_a_poison_event_fails_alone_and_the_rest_of_its_batch_applies(
    sqlite_engine: Engine,
) -> None:
    attempt_id = contact_with_attempt(sqlite_engine)
    started = NormalizedEvent(EventKind.CALL_STARTED, attempt_id=attempt_id)
    ended = NormalizedEvent(EventKind.CALL_ENDED, attempt_id=attempt_id, cause=16, duration=9)
    with session_scope(sqlite_engine) as session:
        ids = [
            store_event(session, route="call", raw="", event=e, dedupe_key=dedupe_key(e), now=NOW)[
                0
            ]
            for e in (started, ended)
        ]
        poison = session.get(ProviderEvent, ids[0])
        assert poison is not None
        poison.payload_json = "{not json"
        session.add(poison)
    assert apply_events(sqlite_engine, [i for i in ids if i is not None], NOW) == {
        "error": 1,
        "applied": 1,
    }
    with Session(sqlite_engine) as session:
        rows = {row.id: row for row in session.exec(select(ProviderEvent))}
    assert rows[ids[0]].status == "error"
    assert (rows[ids[0]].error or "").startswith("JSONDecodeError")
    assert rows[ids[1]].status == "applied"
    assert statuses(sqlite_engine) == ("completed", "answered", "reached", "answered")
