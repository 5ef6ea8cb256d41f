"""Agent callbacks in the outcome engine, on real tables: a menu press feeding a callback
campaign, settling from the call info, and the pause after the agents miss too many."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from dialer.campaign.config import parse_config
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Campaign, Contact
from dialer.dnc import add_to_dnc
from dialer.outcomes.apply import apply_events
from dialer.outcomes.callbacks import LOOKUP_AGAIN, Lookup, due_for_lookup, settle
from dialer.outcomes.inbox import store_event
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.events import dedupe_key
from dialer.providers.mtt_callback_answers import CallbackCallInfo
from dialer.states import AttemptStatus, CampaignState, ContactStatus
from tests.support.factories import callback_toml, campaign_toml, make_campaign

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
IVR_MENU = (
    "[[menu]]\ndigit = 1\naction = 'notify'\n"
    "[[menu]]\ndigit = 4\naction = 'callback'\ncampaign = 'cb'\nlabel = 'call me back'\n"
)


def add_contact_and_attempt(
    engine: Engine,
    campaign_id: int,
    channel: str,
    *,
    phone: str = "79161234567",
    status: str = "submitted",
    provider_id: str | None = None,
    fields: dict[str, str] | None = None,
) -> int:
    with session_scope(engine) as session:
        contact = Contact(
            campaign_id=campaign_id,
            phone=phone,
            timezone="Asia/Yekaterinburg",
            status="in_progress",
            attempts=1,
            fields_json=json.dumps(fields or {"name": "Ольга"}, ensure_ascii=False),
        )
        session.add(contact)
        session.flush()
        attempt = Attempt(
            campaign_id=campaign_id,
            contact_id=contact.id or 0,
            channel=channel,
            status=status,
            number=phone,
            provider_id=provider_id,
            submitted_at=NOW,
        )
        session.add(attempt)
        session.flush()
        contact.last_attempt_id = attempt.id
        return attempt.id or 0


def deliver(engine: Engine, route: str, *events: NormalizedEvent, now: datetime = NOW) -> None:
    ids = []
    with session_scope(engine) as session:
        for event in events:
            event_id, _ = store_event(
                session, route=route, raw="", event=event, dedupe_key=dedupe_key(event), now=now
            )
            if event_id is not None:
                ids.append(event_id)
    apply_events(engine, ids, now)


def pair(engine: Engine) -> tuple[int, int]:
    """A callback campaign ``cb`` and an IVR campaign whose digit 4 feeds it."""
    callback_id = make_campaign(engine, parse_config(callback_toml("cb")))
    ivr_id = make_campaign(
        engine, parse_config(campaign_toml("ivr-x", channel="ivr", menu=IVR_MENU))
    )
    return callback_id, ivr_id


def press(engine: Engine, attempt_id: int, digit: int, now: datetime = NOW) -> None:
    deliver(
        engine, "ivr", NormalizedEvent(EventKind.DTMF, attempt_id=attempt_id, dtmf=digit), now=now
    )


def callback_contacts(engine: Engine, campaign_id: int) -> list[Contact]:
    with Session(engine) as session:
        return list(session.exec(select(Contact).where(Contact.campaign_id == campaign_id)))


def test_a_callback_press_puts_the_contact_into_the_callback_campaign(
    sqlite_engine: Engine,
) -> None:
    callback_id, ivr_id = pair(sqlite_engine)
    attempt_id = add_contact_and_attempt(
        sqlite_engine, ivr_id, "ivr", fields={"name": "Ольга", "Заказ": "A-1"}
    )
    press(sqlite_engine, attempt_id, 4)
    [contact] = callback_contacts(sqlite_engine, callback_id)
    assert (contact.phone, contact.status, contact.next_attempt_at) == (
        "79161234567",
        ContactStatus.PENDING,
        NOW,
    )
    assert json.loads(contact.fields_json) == {"name": "Ольга", "Заказ": "A-1"}
    assert contact.timezone == "Asia/Yekaterinburg"
    assert contact.source == "ivr:ivr-x digit 4"
    with Session(sqlite_engine) as session:
        ivr_attempt = session.get(Attempt, attempt_id)
        assert ivr_attempt is not None
        assert (ivr_attempt.dtmf, ivr_attempt.dtmf_label) == ("4", "call me back")


def test_pressing_again_does_not_duplicate_and_a_finished_contact_is_asked_again(
    sqlite_engine: Engine,
) -> None:
    callback_id, ivr_id = pair(sqlite_engine)
    first = add_contact_and_attempt(sqlite_engine, ivr_id, "ivr")
    press(sqlite_engine, first, 4)
    press(sqlite_engine, first, 4, now=NOW + timedelta(minutes=1))  # a redelivery, later
    assert len(callback_contacts(sqlite_engine, callback_id)) == 1
    with session_scope(sqlite_engine) as session:
        contact = session.exec(select(Contact).where(Contact.campaign_id == callback_id)).one()
        contact.status, contact.budget_used, contact.outcome = "not_reached", 3, "no_answer"
        campaign = session.get(Campaign, callback_id)
        assert campaign is not None
        campaign.state = CampaignState.COMPLETED.value
    second = add_contact_and_attempt(sqlite_engine, ivr_id, "ivr", phone="79031112233")
    press(sqlite_engine, second, 4)
    # the other number is new; and the first number asking again is reopened
    again = add_contact_and_attempt(
        sqlite_engine,
        make_campaign(
            sqlite_engine, parse_config(campaign_toml("ivr-y", channel="ivr", menu=IVR_MENU))
        ),
        "ivr",
    )
    press(sqlite_engine, again, 4, now=NOW + timedelta(hours=1))
    contacts = {c.phone: c for c in callback_contacts(sqlite_engine, callback_id)}
    assert set(contacts) == {"79161234567", "79031112233"}
    reopened = contacts["79161234567"]
    assert (reopened.status, reopened.budget_used, reopened.outcome) == ("pending", 0, None)
    assert reopened.source == "ivr:ivr-y digit 4"
    with Session(sqlite_engine) as session:
        campaign = session.get(Campaign, callback_id)
        assert campaign is not None
        assert campaign.state == CampaignState.RUNNING  # a completed feed runs again


def test_an_opted_out_number_is_not_called_back(sqlite_engine: Engine) -> None:
    callback_id, ivr_id = pair(sqlite_engine)
    first = add_contact_and_attempt(sqlite_engine, ivr_id, "ivr")
    press(sqlite_engine, first, 4)
    with session_scope(sqlite_engine) as session:
        add_to_dnc(session, ["79161234567"], source="cli", now=NOW)
    press(sqlite_engine, first, 4, now=NOW + timedelta(minutes=5))
    [contact] = callback_contacts(sqlite_engine, callback_id)
    assert contact.status == ContactStatus.OPTED_OUT


def test_a_press_naming_a_vanished_campaign_is_logged_not_fatal(sqlite_engine: Engine) -> None:
    callback_id, ivr_id = pair(sqlite_engine)
    attempt_id = add_contact_and_attempt(sqlite_engine, ivr_id, "ivr")
    with session_scope(sqlite_engine) as session:
        campaign = session.get(Campaign, callback_id)
        assert campaign is not None
        campaign.name = "renamed"
    press(sqlite_engine, attempt_id, 4)
    assert callback_contacts(sqlite_engine, callback_id) == []
    with Session(sqlite_engine) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        assert attempt.dtmf == "4"


def callback_event(name: str, attempt_id: int | None = None, **fields: object) -> NormalizedEvent:
    return NormalizedEvent(
        EventKind.CALLBACK,
        attempt_id=attempt_id,
        provider_id="cb-1",
        status=name,
        **fields,  # type: ignore[arg-type]
    )


def test_events_then_call_info_settle_a_connected_callback(sqlite_engine: Engine) -> None:
    callback_id, _ = pair(sqlite_engine)
    attempt_id = add_contact_and_attempt(sqlite_engine, callback_id, "callback", status="dialing")
    deliver(
        sqlite_engine,
        "callback",
        callback_event("start_side_A", attempt_id),
        callback_event("pickup_side_A", attempt_id, number="74997090112"),
        callback_event("start_talk", attempt_id),
    )
    with Session(sqlite_engine) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        assert (attempt.status, attempt.provider_id, attempt.agent) == (
            "submitted",
            "cb-1",
            "74997090112",
        )
        assert due_for_lookup(session, NOW) == []  # still talking, not timed out
    deliver(sqlite_engine, "callback", callback_event("end_side_A", attempt_id))
    with Session(sqlite_engine) as session:
        assert due_for_lookup(session, NOW) == [Lookup(attempt_id, "cb-1")]
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        assert attempt.slot_released_at == NOW
    info = CallbackCallInfo(
        status="ok",
        agent="+74997090112",
        contact_seconds=95,
        cost=Decimal("4.47"),
    )
    with session_scope(sqlite_engine) as session:
        assert settle(session, {attempt_id: info}, NOW, [Lookup(attempt_id, "cb-1")]) == 1
    with Session(sqlite_engine) as session:
        attempt = session.get(Attempt, attempt_id)
        contact = session.exec(select(Contact).where(Contact.campaign_id == callback_id)).one()
    assert attempt is not None
    assert (attempt.outcome, attempt.talk_seconds, attempt.cost) == ("connected", 95, "4.47")
    assert (contact.status, contact.agent, contact.duration) == ("reached", "74997090112", 95)


def test_an_agent_miss_spends_no_budget_and_a_run_of_them_pauses_the_campaign(
    sqlite_engine: Engine,
) -> None:
    callback_id = make_campaign(
        sqlite_engine, parse_config(callback_toml("cb", callback_extra="pause_after_misses = 3"))
    )
    with session_scope(sqlite_engine) as session:
        campaign = session.get(Campaign, callback_id)
        assert campaign is not None
        campaign.state = CampaignState.RUNNING.value
    missed = CallbackCallInfo(
        failure="Call ended by timeout on side A", ended_by="timeout", failed_side="A"
    )
    for index in range(3):
        attempt_id = add_contact_and_attempt(
            sqlite_engine,
            callback_id,
            "callback",
            phone=f"7916000000{index}",
            provider_id=f"cb-{index}",
        )
        with session_scope(sqlite_engine) as session:
            settle(
                session,
                {attempt_id: missed},
                NOW + timedelta(seconds=index),
                [Lookup(attempt_id, f"cb-{index}")],
            )
        with Session(sqlite_engine) as session:
            attempt = session.get(Attempt, attempt_id)
            contact = session.exec(
                select(Contact).where(Contact.phone == f"7916000000{index}")
            ).one()
            campaign = session.get(Campaign, callback_id)
        assert attempt is not None
        assert campaign is not None
        assert (attempt.outcome, attempt.counts_budget) == ("agent_no_answer", False)
        assert (contact.status, contact.budget_used) == ("retry_wait", 0)
        assert contact.next_attempt_at == NOW + timedelta(seconds=index, minutes=1)
        expected = CampaignState.PAUSED if index == 2 else CampaignState.RUNNING
        assert campaign.state == expected
    assert campaign.state_reason is not None
    assert campaign.state_reason.startswith("the agents missed 3 callbacks in a row")


def test_a_result_mtt_does_not_have_yet_is_asked_again_later(sqlite_engine: Engine) -> None:
    callback_id, _ = pair(sqlite_engine)
    attempt_id = add_contact_and_attempt(sqlite_engine, callback_id, "callback", provider_id="cb-1")
    deliver(sqlite_engine, "callback", callback_event("end_side_A", attempt_id))
    lookup = [Lookup(attempt_id, "cb-1")]
    with session_scope(sqlite_engine) as session:
        assert (
            settle(session, {attempt_id: CallbackCallInfo(failure="Data not found")}, NOW, lookup)
            == 0
        )
        assert settle(session, {}, NOW, lookup) == 0  # the read failed
    with Session(sqlite_engine) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        assert (attempt.status, attempt.not_before) == (AttemptStatus.SUBMITTED, NOW + LOOKUP_AGAIN)
        assert due_for_lookup(session, NOW) == []
        assert due_for_lookup(session, NOW + LOOKUP_AGAIN) == lookup


def test_callback_events_before_the_answer_are_matched_by_the_attempt_in_the_url(
    sqlite_engine: Engine,
) -> None:
    """The callBackURL carries the attempt id, so events find their attempt even when the
    answer with MTT's id never came back (the attempt is ``unknown``)."""
    callback_id, _ = pair(sqlite_engine)
    attempt_id = add_contact_and_attempt(sqlite_engine, callback_id, "callback", status="unknown")
    deliver(
        sqlite_engine, "callback", callback_event("pickup_side_A", attempt_id, number="74997090111")
    )
    with Session(sqlite_engine) as session:
        attempt = session.get(Attempt, attempt_id)
    assert attempt is not None
    assert (attempt.status, attempt.provider_id, attempt.agent) == (
        "submitted",
        "cb-1",
        "74997090111",
    )
