"""The UIS provider behind the callback channel, through the registry entry proposed for
``dialer/channels/callback_providers.py`` (patched in here; the campaign file's
``provider`` literal is widened with ``model_copy``): the channel's request becomes a UIS
call, and the notifications of each simulated outcome settle the attempt as documented."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from dialer.campaign.config import CampaignConfig, parse_config
from dialer.channels import channel_for
from dialer.channels.callback import callback_request
from dialer.db.models import Attempt
from dialer.providers.uis import (
    UisClient,
    build_simple_call_params,
)
from dialer.providers.uis_events import NOTIFICATIONS, body_template, parse_uis_events
from dialer.settings import Settings
from dialer.simulator import Override
from dialer.simulator.callback_plan import CallbackOutcome
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.uis_plan import UisCallSpec, choose_uis_plan, uis_notifications
from dialer.states import Outcome
from tests.support.factories import callback_toml

CHANNEL = channel_for("callback")
START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
CONTACT = "79161234567"
AGENTS = ("74997090111", "74997090112")


@dataclass(frozen=True)
class Ctx:
    attempt_id: int
    number: str
    config: CampaignConfig
    fields: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def config() -> CampaignConfig:
    return parse_config(callback_toml(agents=AGENTS, callback_extra='provider = "uis"'))


def test_the_channel_request_becomes_a_uis_call(config: CampaignConfig) -> None:
    settings = Settings(uis_access_token=SecretStr("key"))
    request = callback_request(Ctx(43, CONTACT, config, {"name": "Ольга"}), settings)
    params = build_simple_call_params(request, access_token="key")
    assert params["external_id"] == "43"
    assert params["operator"] == AGENTS[43 % 2]
    assert params["virtual_phone_number"] == "74950000000"
    assert params["operator_message"] == {"type": "tts", "value": "Клиент Ольга. Соединяю."}
    assert isinstance(CHANNEL.build_provider(settings, config), UisClient)
    assert CHANNEL.account_key(settings, config).startswith("uis:key-")
    assert CHANNEL.provider_slot(config) == "callback:uis"


def _apply(attempt: Attempt, outcome: CallbackOutcome, config: CampaignConfig) -> Outcome | None:
    sim = SimulatorConfig(
        seed=1,
        overrides={
            CallbackOutcome.CONNECTED: {CONTACT: Override(outcome="answered", transfer_seconds=42)},
            CallbackOutcome.CONTACT_BUSY: {CONTACT: Override(outcome="busy")},
            CallbackOutcome.CONTACT_NO_ANSWER: {CONTACT: Override(outcome="no_answer")},
            CallbackOutcome.AGENT_NO_ANSWER: {AGENTS[0]: Override(outcome="no_answer")},
        }[outcome],
    )
    spec = UisCallSpec(900, AGENTS[0], CONTACT, "74950000000", "43")
    plan = choose_uis_plan(random.Random(3), sim, spec, frozenset())
    assert plan.outcome is outcome
    by_event = {n.event: n for n in NOTIFICATIONS}
    told: Outcome | None = None
    for note in uis_notifications(plan, spec):
        at = START + timedelta(seconds=note.at)
        values = {**note.values, "notification_time": at.isoformat()}
        body = body_template(by_event[note.event])
        for name, value in values.items():
            body = body.replace("{{" + name + "}}", json.dumps(value))
        (event,) = parse_uis_events(body.encode(), "application/json", {})
        assert event.attempt_id == 43
        effect = CHANNEL.reduce(attempt, event, at, lambda: config)
        for name, value in effect.attempt.items():
            setattr(attempt, name, value)
        if effect.release_slot:
            attempt.slot_released_at = at
        assert not effect.settle  # UIS has no result method: never asked
        told = effect.outcome or told
    return told


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (CallbackOutcome.CONNECTED, Outcome.CONNECTED),
        (CallbackOutcome.AGENT_NO_ANSWER, Outcome.AGENT_NO_ANSWER),
        (CallbackOutcome.CONTACT_NO_ANSWER, Outcome.NO_ANSWER),
        # UIS says nothing that tells busy from no answer: the shorter retry is lost.
        (CallbackOutcome.CONTACT_BUSY, Outcome.NO_ANSWER),
    ],
)
def test_each_outcome_settles_from_the_notifications(
    config: CampaignConfig, outcome: CallbackOutcome, expected: Outcome
) -> None:
    attempt = Attempt(
        campaign_id=1, contact_id=1, channel="callback", number=CONTACT, status="submitted"
    )
    assert _apply(attempt, outcome, config) == expected
    if expected is Outcome.CONNECTED:
        assert attempt.talk_seconds == 42
        assert attempt.agent == AGENTS[0]
