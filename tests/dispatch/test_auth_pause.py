"""A refusal that every further request would meet pauses the campaign, spends nothing, and
puts the contact back to wait: the auth path of ``dial_attempt``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.campaign.config import parse_config
from dialer.db.engine import session_scope
from dialer.db.models import Attempt, Campaign, Contact
from dialer.db.types import utcnow
from dialer.dispatch.dial import DialResult, dial_attempt
from dialer.dispatch.runtime import Runtime
from dialer.errors import (
    ContactBlockedError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
)
from dialer.limits.local import LocalRateLimiter
from dialer.loader.load import load_contacts
from dialer.providers.base import CallProvider, CallRequest, SmsProvider, SmsRequest, Submitted
from dialer.scheduler.tick import schedule_tick
from dialer.settings import Settings
from tests.support.factories import campaign_toml, fast_retry, make_campaign, write_csv


class Refusing(CallProvider, SmsProvider):
    """A provider that refuses every request with ``error`` and counts the requests."""

    def __init__(self, error: ProviderError) -> None:
        self.error = error
        self.requests = 0

    async def place_call(self, request: CallRequest) -> Submitted:
        self.requests += 1
        raise self.error

    async def send_sms(self, request: SmsRequest) -> Submitted:
        self.requests += 1
        raise self.error


def queued_attempt(engine: Engine, tmp_path: Path) -> int:
    """A running TTS campaign with one contact whose attempt the scheduler has queued."""
    campaign_id = make_campaign(engine, parse_config(campaign_toml(text="Hi") + fast_retry()))
    load_contacts(engine, "test", write_csv(tmp_path / "c.csv", "phone\n79161230001\n"))
    with session_scope(engine) as session:
        session.execute(
            update(Campaign).where(col(Campaign.id) == campaign_id).values(state="running")
        )
    result = schedule_tick(engine, utcnow())
    assert len(result.enqueue) == 1
    return result.enqueue[0][0]


@pytest.mark.parametrize(
    "error",
    [
        ProviderAuthError("access forbidden", status_code=403),
        ProviderRefusedError('"a_number" should be in e164 format', campaign_level=True),
    ],
    ids=["auth", "campaign-level refusal"],
)
def test_a_campaign_wide_refusal_pauses_and_spends_nothing(
    engine: Engine, tmp_path: Path, error: ProviderError
) -> None:
    attempt_id = queued_attempt(engine, tmp_path)
    provider = Refusing(error)
    enqueued: list[tuple[int, str, int]] = []
    runtime = Runtime(
        settings=Settings(),
        engine=engine,
        limiter=LocalRateLimiter(),
        enqueue=lambda *message: enqueued.append(message),
        call_provider_factory=lambda: provider,
        sms_provider_factory=lambda: provider,
    )

    async def dial() -> DialResult:
        try:
            return await dial_attempt(runtime, attempt_id)
        finally:
            await runtime.aclose()

    assert asyncio.run(dial()) == DialResult.PAUSED
    assert provider.requests == 1
    assert enqueued == []  # nothing re-sent: the paused campaign waits for a human
    with Session(engine) as session:
        campaign = session.exec(select(Campaign)).one()
        attempt = session.get(Attempt, attempt_id)
        contact = session.exec(select(Contact)).one()
    assert campaign.state == "paused"
    assert campaign.state_reason is not None
    assert str(error) in campaign.state_reason
    assert attempt is not None
    assert attempt.status == "cancelled"
    assert attempt.counts_budget is False
    assert contact.status in ("pending", "retry_wait")
    assert contact.budget_used == 0
    assert contact.reason is not None
    assert "campaign paused" in contact.reason


def test_a_number_the_provider_blocks_for_good_opts_the_contact_out(
    engine: Engine, tmp_path: Path
) -> None:
    attempt_id = queued_attempt(engine, tmp_path)
    provider = Refusing(ContactBlockedError("contact_in_blacklist"))
    runtime = Runtime(
        settings=Settings(),
        engine=engine,
        limiter=LocalRateLimiter(),
        enqueue=lambda *message: None,
        call_provider_factory=lambda: provider,
        sms_provider_factory=lambda: provider,
    )

    async def dial() -> DialResult:
        try:
            return await dial_attempt(runtime, attempt_id)
        finally:
            await runtime.aclose()

    assert asyncio.run(dial()) == DialResult.FAILED
    with Session(engine) as session:
        contact = session.exec(select(Contact)).one()
        campaign = session.exec(select(Campaign)).one()
    assert (contact.status, contact.outcome) == ("opted_out", "opted_out")
    assert campaign.state == "running"
