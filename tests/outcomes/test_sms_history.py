"""SMS events the collector missed, recovered from msapi's message history (issue 10.10)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.campaign.config import parse_config
from dialer.control import control_campaign
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Contact, DncEntry, ProviderEvent
from dialer.embedded import embedded_stack, wait_until_done
from dialer.loader.load import load_contacts
from dialer.outcomes import sms_history
from dialer.outcomes.sms_history import InboundScan, event_from_history, recover_from_history
from dialer.providers.events import dedupe_key, parse_sms_body
from dialer.providers.msapi_models import MsapiMessage
from dialer.scheduler import heartbeat
from dialer.settings import Settings
from dialer.simulator.config import Override, SimulatorConfig
from dialer.simulator.encoding import FORM_TYPE, sms_event_fields
from dialer.simulator.records import MessageRecord
from tests.support.factories import campaign_toml, fast_retry, make_campaign, write_csv

OURS, THEIRS, ACCOUNT = "79587625012", "79161110001", "acc-1"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def record(direction: str, status: str, text: str = "Привет") -> MessageRecord:
    sender, recipient = (OURS, THEIRS) if direction == "outbound" else (THEIRS, OURS)
    return MessageRecord(
        message_sid="msg-1",
        direction=direction,  # type: ignore[arg-type]
        sender=sender,
        recipient=recipient,
        text=text,
        created_at=int(T0.timestamp()),
        status=status,
    )


@pytest.mark.parametrize(
    ("direction", "status", "text"),
    [
        ("outbound", "delivered", "Привет"),
        ("outbound", "undelivered", "Привет"),
        ("outbound", "sent", "Привет"),
        ("inbound", "received", " стоп "),
        ("inbound", "received", "STOP"),
    ],
)
def test_a_history_message_is_the_event_its_webhook_would_have_been(
    direction: str, status: str, text: str
) -> None:
    message = record(direction, status, text)
    webhook = parse_sms_body(sms_event_fields(message, ACCOUNT, status).encode(), FORM_TYPE, {})
    listed = MsapiMessage.model_validate(message.listing(ACCOUNT))
    recovered = event_from_history(listed)

    assert recovered is not None
    assert dedupe_key(recovered) == dedupe_key(webhook)  # one inbox row, whichever comes first
    assert (recovered.kind, recovered.sender, recovered.number, recovered.status) == (
        webhook.kind,
        webhook.sender,
        webhook.number,
        webhook.status,
    )


@pytest.mark.parametrize(
    "fields", [{"direction": "sideways", "status": "sent"}, {"direction": "inbound", "status": ""}]
)
def test_a_message_without_a_known_direction_or_status_is_skipped(
    fields: dict[str, str],
) -> None:
    assert event_from_history(MsapiMessage(message_sid="msg-1", **fields)) is None


def test_the_inbound_scan_looks_back_to_its_last_good_read() -> None:
    scan = InboundScan(timedelta(seconds=30))
    assert scan.due(T0)
    assert scan.since(T0) == T0 - timedelta(hours=24)
    scan.tried(T0, ok=True)
    assert not scan.due(T0 + timedelta(seconds=29))
    assert scan.due(T0 + timedelta(seconds=30))
    scan.tried(T0 + timedelta(seconds=30), ok=False)  # msapi was down
    assert scan.since(T0 + timedelta(seconds=60)) == T0 - timedelta(minutes=5)


def inbound(sid: str, sender: str, text: str) -> MsapiMessage:
    return MsapiMessage(
        message_sid=sid,
        direction="inbound",
        number=OURS,
        external_number=sender,
        status="received",
        text=text,
        created_at=int(T0.timestamp()),
    )


def test_an_inbound_stop_is_applied_once(sqlite_engine: Engine) -> None:
    messages = [
        inbound("msg-a", "79161110001", "СТОП"),
        inbound("msg-b", "79161110002", "спасибо"),
        inbound("msg-c", "79161110003", "отписка"),
    ]
    assert recover_from_history(sqlite_engine, messages, T0) == 3
    # Read again (overlapping scans), and once more in another shape of the same message.
    assert recover_from_history(sqlite_engine, messages, T0) == 0
    reshaped = messages[0].model_copy(update={"text": "СТОП "})
    assert recover_from_history(sqlite_engine, [reshaped], T0) == 0

    with Session(sqlite_engine) as session:
        listed = set(session.exec(select(DncEntry.phone)).all())
        events = session.exec(select(ProviderEvent)).all()
    assert listed == {"79161110001", "79161110003"}
    assert sorted((e.provider_id, e.status) for e in events) == [
        ("msg-a", "applied"),
        ("msg-b", "ignored"),
        ("msg-c", "applied"),
    ]
    assert {e.route for e in events} == {sms_history.ROUTE}


def test_an_inbound_the_collector_stored_is_not_applied_again(sqlite_engine: Engine) -> None:
    from dialer.outcomes.inbox import store_event

    webhook = parse_sms_body(
        b"direction=inbound&from=79161110001&to=79587625012&message_sid=msg-a"
        b"&status=received&text=STOP&extra=1",
        FORM_TYPE,
        {},
    )
    with session_scope(sqlite_engine) as session:
        store_event(
            session, route="sms", raw="...", event=webhook, dedupe_key="other-shape", now=T0
        )
    assert recover_from_history(sqlite_engine, [inbound("msg-a", THEIRS, "stop")], T0) == 0


NUMBERS: dict[str, dict[str, Any]] = {
    "79161110001": {"override": Override(sms_status="delivered"), "outcome": "delivered"},
    "79161110002": {"override": Override(sms_status="undelivered"), "outcome": "undelivered"},
}


@pytest.mark.timeout(120)
def test_lost_sms_statuses_and_a_lost_stop_are_recovered(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every webhook is dropped (the collector is down as far as msapi can tell): delivery
    statuses come from the message list after the event timeout, and a STOP sent meanwhile
    still opts its sender out."""
    monkeypatch.setattr(sms_history, "INBOUND_SCAN_EVERY", timedelta(seconds=0.5))
    toml = campaign_toml(
        name="sms-lost", channel="sms", text="Привет {name}", caller_id=OURS
    ) + fast_retry(1, event_timeout="3s")
    make_campaign(sqlite_engine, parse_config(toml))
    rows = "name,phone\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(NUMBERS))
    load_contacts(sqlite_engine, "sms-lost", write_csv(tmp_path / "c.csv", rows))
    sim = SimulatorConfig(
        speed=200,
        seed=1,
        allow_http_notify=True,
        overrides={n: spec["override"] for n, spec in NUMBERS.items()},
        faults={"drop_rate": 1.0},
    )
    with embedded_stack(Settings(sandbox=True), sqlite_engine, simulator=sim) as stack:
        control_campaign(stack.settings, sqlite_engine, "sms-lost", "start")
        assert wait_until_done(sqlite_engine, "sms-lost", 60) == "completed"
        with Session(sqlite_engine) as session:  # the embedded scheduler beats too
            assert heartbeat.last_seen(session) is not None
        assert stack.simulator is not None
        base = stack.simulator.base_url
        reply = {"from": "79161110002", "to": OURS, "text": "СТОП"}
        assert httpx.post(f"{base}/_sim/inbound-sms", json=reply).status_code < 300
        opted_out = wait_for_status(sqlite_engine, "79161110002", "opted_out", 20)
        stats = httpx.get(f"{base}/_sim/stats").json()

    assert stats["webhooks_sent"] == 0
    assert stats["webhooks_dropped"] >= 3
    assert opted_out
    with Session(sqlite_engine) as session:
        contacts = {c.phone: c for c in session.exec(select(Contact))}
        attempts = session.exec(select(Attempt).order_by(col(Attempt.id))).all()
    assert contacts["79161110001"].outcome == "delivered"
    assert contacts["79161110001"].status == "reached"
    assert contacts["79161110002"].sms_status == "undelivered"
    assert [a.outcome for a in attempts] == ["delivered", "undelivered"]


def wait_for_status(engine: Engine, phone: str, status: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            contact = session.exec(select(Contact).where(Contact.phone == phone)).one()
        if contact.status == status:
            return True
        time.sleep(0.2)
    return False
