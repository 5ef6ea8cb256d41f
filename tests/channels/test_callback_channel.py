"""The callback channel's pure parts: its request, its events, and its verdict without one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from dialer.campaign.config import CampaignConfig, parse_config
from dialer.channels import channel_for
from dialer.channels.callback import callback_request
from dialer.db.models import Attempt
from dialer.providers.base import EventKind, NormalizedEvent
from dialer.providers.mtt_callback import build_make_call_params
from dialer.settings import Settings
from dialer.states import Outcome
from tests.support.factories import callback_toml

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
CHANNEL = channel_for("callback")


@dataclass(frozen=True)
class Ctx:
    attempt_id: int
    number: str
    config: CampaignConfig
    fields: dict[str, str] = field(default_factory=dict)


def settings() -> Settings:
    return Settings(
        public_url="https://hooks.example.com/base",
        webhook_token=SecretStr("t" * 24),
        mtt_callback_customer_name="883140500000000",
    )


def test_the_request_carries_the_campaign_and_an_attempt_specific_callback_url() -> None:
    config = parse_config(
        callback_toml(
            callback_extra='ring = "sequence"\nagent_timeout = "25s"\nmax_talk = "10m"\n'
            'contact_message = "Соединяем, {name}"'
        )
    )
    request = callback_request(Ctx(42, "79161234567", config, {"name": "Ольга"}), settings())
    params = build_make_call_params(request, customer_name="883140500000000")
    assert params["b_number"] == "79161234567"
    assert params["caller_id"] == "74950000000"
    # no scheme, our path with the attempt id: MTT appends /event.php
    assert params["callBackURL"] == f"hooks.example.com/base/hooks/{'t' * 24}/mtt/callback/42"
    assert params["recordEnable"] == 0
    assert params["maxtime"] == "600"
    assert params["callDescription"] == "42"
    items = params["simpleCallBackFollowmeStruct"]
    assert isinstance(items, list)
    assert items[0] == {
        "order": 1,
        "timeout": 25,
        "redirect_number": "74997090111",
        "type": "linerall",
    }
    assert items[2] == {"order": 3, "type": "text", "value": "Клиент Ольга. Соединяю.", "side": "A"}
    assert items[3] == {"order": 4, "type": "text", "value": "Соединяем, Ольга", "side": "B"}


def attempt(**fields: object) -> Attempt:
    return Attempt(
        campaign_id=1,
        contact_id=1,
        channel="callback",
        number="79161234567",
        status="submitted",
        **fields,
    )


def event(name: str, **fields: object) -> NormalizedEvent:
    return NormalizedEvent(EventKind.CALLBACK, provider_id="cb-1", status=name, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("before", "incoming", "attempt_fields", "contact_fields", "flags"),
    [
        ({}, event("start_side_A"), {}, {}, {"started"}),
        (
            {},
            event("pickup_side_A", number="74997090112"),
            {"agent": "74997090112"},
            {"agent": "74997090112"},
            {"started"},
        ),
        ({}, event("start_side_B"), {}, {}, {"started"}),
        ({}, event("start_talk"), {"answered_at": NOW}, {}, {"started"}),
        (
            {"answered_at": NOW - timedelta(seconds=75)},
            event("end_side_B"),
            {"talk_seconds": 75},
            {"duration": 75},
            set(),
        ),
        ({}, event("end_side_B"), {}, {}, set()),  # never talked: nothing to count
        ({}, event("end_side_A"), {}, {}, {"started", "release_slot", "settle"}),
        ({}, event("hold_side_B"), {}, {}, set()),  # undocumented: kept, changes nothing
    ],
)
def test_events_move_a_callback_on(
    before: dict[str, object],
    incoming: NormalizedEvent,
    attempt_fields: dict[str, object],
    contact_fields: dict[str, object],
    flags: set[str],
) -> None:
    effect = CHANNEL.reduce(attempt(**before), incoming, NOW, lambda: None)
    assert dict(effect.attempt) == attempt_fields
    assert dict(effect.contact) == contact_fields
    assert {f for f in ("started", "release_slot", "settle") if getattr(effect, f)} == flags
    assert effect.outcome is None  # the result comes from the call info, never an event


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({}, Outcome.UNKNOWN),  # no end event: nothing is known
        ({"slot_released_at": NOW}, Outcome.AGENT_NO_ANSWER),
        ({"slot_released_at": NOW, "agent": "74997090111"}, Outcome.NO_ANSWER),
        ({"slot_released_at": NOW, "agent": "74997090111", "answered_at": NOW}, Outcome.CONNECTED),
        ({"agent": "74997090111", "answered_at": NOW}, Outcome.CONNECTED),
    ],
)
def test_without_call_info_the_events_decide(fields: dict[str, object], outcome: Outcome) -> None:
    assert CHANNEL.without_event(attempt(**fields))[0] == outcome


def test_preflight_names_every_missing_setting() -> None:
    config = parse_config(callback_toml())
    assert CHANNEL.missing_settings(Settings(), config) == [
        "DIALER_MTT_LOGIN",
        "DIALER_MTT_PASSWORD",
        "DIALER_MTT_CALLBACK_CUSTOMER_NAME",
        "DIALER_WEBHOOK_TOKEN",
        "DIALER_PUBLIC_URL",
    ]


def test_a_public_url_mtt_cannot_take_is_refused_before_dialling() -> None:
    config = parse_config(callback_toml())
    bad = settings().model_copy(update={"public_url": "https://www.example.com"})
    assert "www." in (CHANNEL.check_settings(bad, config) or "")
    assert CHANNEL.check_settings(settings(), config) is None


@pytest.mark.parametrize(
    ("told", "duration", "outcome", "talk"),
    [
        ("connected", 81, Outcome.CONNECTED, 81),
        ("agent_no_answer", None, Outcome.AGENT_NO_ANSWER, None),
        ("busy", None, Outcome.BUSY, None),
        ("no_answer", 0, Outcome.NO_ANSWER, None),
    ],
)
def test_a_final_event_that_says_how_the_call_ended_finishes_it(
    told: str, duration: int | None, outcome: Outcome, talk: int | None
) -> None:
    ended = event("end_side_A", duration=duration, extra={"outcome": told})
    effect = CHANNEL.reduce(attempt(), ended, NOW, lambda: parse_config(callback_toml()))
    assert (effect.outcome, effect.release_slot, effect.settle) == (outcome, True, False)
    assert effect.attempt.get("talk_seconds") == talk
    # the contact answered ``talk`` seconds before the end (the report's funnel needs it)
    expected = NOW - timedelta(seconds=talk) if talk is not None else None
    assert effect.attempt.get("answered_at") == expected


def test_a_provider_that_cannot_read_results_is_settled_by_its_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    from dialer.channels.callback_providers import CALLBACK_PROVIDERS

    monkeypatch.setitem(
        CALLBACK_PROVIDERS, "mtt", replace(CALLBACK_PROVIDERS["mtt"], reads_results=False)
    )
    config = parse_config(callback_toml())
    ended = event("end_side_A")
    picked = attempt(agent="74997090111")
    assert CHANNEL.reduce(attempt(), ended, NOW, lambda: config).outcome == Outcome.AGENT_NO_ANSWER
    assert CHANNEL.reduce(picked, ended, NOW, lambda: config).outcome == Outcome.NO_ANSWER
    talked = attempt(agent="74997090111", answered_at=NOW)
    assert CHANNEL.reduce(talked, ended, NOW, lambda: config).outcome == Outcome.CONNECTED
    # MTT's CallBack reads the result instead
    monkeypatch.undo()
    assert CHANNEL.reduce(attempt(), ended, NOW, lambda: config).settle
