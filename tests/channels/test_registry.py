"""The channel registry: every channel answers what the engine asks, with no name tests."""

from __future__ import annotations

import pytest

from dialer.campaign.config import parse_config
from dialer.channels import CHANNELS, UnknownChannelError, actors, channel_for, hooks, owner_of
from dialer.providers.base import EventKind
from dialer.settings import Settings
from tests.support.factories import callback_toml, make_config


def test_every_event_kind_has_exactly_one_owner() -> None:
    for kind in EventKind:
        owners = [c.name for c in CHANNELS.values() if kind in c.event_kinds]
        assert len({channel_for(o).provider for o in owners}) == 1, (kind, owners)
        assert owner_of(kind).name in owners


def test_routes_are_declared_once_each_and_fit_the_inbox_column() -> None:
    paths = [hook.path for hook in hooks()]
    assert len(paths) == len(set(paths))
    assert {hook.route for hook in hooks()} >= {"call", "ivr", "sms", "callback", "uis"}
    assert all(len(hook.route) <= 8 for hook in hooks())  # provider_events.route is 8 wide


def test_actors_and_queues_one_per_channel_family() -> None:
    assert dict(actors()) == {
        "place_call": "dialer.calls",
        "send_sms": "dialer.sms",
        "place_callback": "dialer.callbacks",
    }


def test_an_unknown_channel_is_a_clear_error() -> None:
    with pytest.raises(UnknownChannelError, match="unknown channel 'fax'"):
        channel_for("fax")


@pytest.mark.parametrize(
    ("channel", "key"),
    [
        ("tts", "mtt:sip-1"),
        ("ivr", "mtt:sip-1"),
        ("sms", "msapi:AC1"),
        ("callback", "mtt-callback:883140500000000"),
    ],
)
def test_rate_keys_are_per_provider_account(channel: str, key: str) -> None:
    settings = Settings(
        mtt_sip_id="sip-1",
        msapi_account_sid="AC1",
        mtt_callback_customer_name="883140500000000",
    )
    config = (
        parse_config(callback_toml()) if channel == "callback" else make_config(channel=channel)
    )
    assert channel_for(channel).account_key(settings, config) == key


def test_live_limits_calls_per_account_sms_unlimited_callbacks_per_agent() -> None:
    tts = make_config(channel="tts")
    assert channel_for("tts").max_live(tts) == tts.limits.max_concurrent
    assert channel_for("sms").max_live(make_config(channel="sms")) is None
    callback = parse_config(callback_toml(agents=("74997090111", "74997090112", "74997090113")))
    assert channel_for("callback").max_live(callback) == 3
    assert channel_for("callback").live_scope == "campaign"
    assert channel_for("tts").pool == channel_for("ivr").pool == ("tts", "ivr")


def test_a_callback_waits_for_its_longest_possible_call_before_timing_out() -> None:
    config = parse_config(
        callback_toml(callback_extra='ring = "sequence"\nagent_timeout = "20s"\nmax_talk = "10m"')
    )
    # two agents rung one after the other (40 s), 10 min of talk, 2 min of margin
    assert channel_for("callback").event_timeout(config).total_seconds() == 40 + 600 + 120


def test_every_callback_provider_a_campaign_file_may_name_is_registered() -> None:
    from typing import get_args

    from dialer.campaign.config import Callback
    from dialer.channels.callback_providers import CALLBACK_PROVIDERS

    assert set(get_args(Callback.model_fields["provider"].annotation)) == set(CALLBACK_PROVIDERS)
