"""Pre-flight checks before ``start``: each channel names what it lacks, in one line."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from dialer.campaign.config import parse_config
from dialer.control import preflight
from dialer.errors import ConfigError, PreflightError
from dialer.settings import Settings
from tests.support.factories import callback_toml, campaign_toml

MTT = {"mtt_login": "l", "mtt_password": SecretStr("p"), "mtt_sip_id": "s"}
HOOKS = {"webhook_token": SecretStr("t" * 20)}


@pytest.mark.parametrize(
    ("campaign", "settings", "message"),
    [
        (
            campaign_toml(),
            {},
            "cannot start 'test': set DIALER_MTT_LOGIN, DIALER_MTT_PASSWORD, DIALER_MTT_SIP_ID, "
            "DIALER_MTT_INFORMER_METHOD",
        ),
        (campaign_toml(), MTT, "cannot start 'test': set DIALER_MTT_INFORMER_METHOD"),
        (
            campaign_toml(channel="ivr"),
            MTT,
            "cannot start 'test': set DIALER_WEBHOOK_TOKEN",
        ),
        (
            campaign_toml(channel="ivr"),
            MTT | HOOKS,
            "cannot start 'test': set DIALER_PUBLIC_URL (MTT posts menu choices there)",
        ),
        (
            campaign_toml(channel="ivr"),
            MTT | HOOKS | {"public_url": "http://hooks.example.com"},
            "cannot start 'test': DIALER_PUBLIC_URL must be https (MTT refuses other notify URLs)",
        ),
        (
            campaign_toml(channel="sms"),
            {"msapi_account_sid": "AC1"},
            "cannot start 'test': set DIALER_MSAPI_TOKEN",
        ),
        (
            callback_toml(),
            MTT | {"public_url": "https://hooks.example.com"},
            "cannot start 'cb': set DIALER_MTT_CALLBACK_CUSTOMER_NAME, DIALER_WEBHOOK_TOKEN",
        ),
    ],
)
def test_what_a_channel_lacks_is_named(
    campaign: str, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(PreflightError) as caught:
        preflight(Settings(**settings), parse_config(campaign))  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("campaign", "settings"),
    [
        (campaign_toml(), MTT | {"mtt_informer_method": "informer"}),
        (  # an IVR menu with transfers only posts nothing back: no public URL needed
            campaign_toml(
                channel="ivr",
                menu="[[menu]]\ndigit = 3\naction = 'transfer'\nto = '74997090111'\n",
            ),
            MTT,
        ),
        (campaign_toml(channel="ivr"), MTT | HOOKS | {"public_url": "https://h.example.com"}),
        (
            callback_toml(),
            MTT
            | HOOKS
            | {"public_url": "https://h.example.com", "mtt_callback_customer_name": "8831"},
        ),
    ],
)
def test_a_configured_channel_passes(campaign: str, settings: dict[str, object]) -> None:
    preflight(Settings(**settings), parse_config(campaign))  # type: ignore[arg-type]


def test_unknown_bitrix24_lines_are_refused_before_dialling() -> None:
    from dialer.sandbox import pointed_at_simulator
    from dialer.simulator.config import SimulatorConfig
    from dialer.simulator.server import SimulatorServer

    sim = SimulatorConfig()
    server = SimulatorServer(sim)
    base = server.start()
    try:
        settings = pointed_at_simulator(
            Settings(public_url="https://h.example.com", webhook_token=SecretStr("t" * 20)),
            base,
            sim,
        )
        lines = "provider = 'bitrix24'\n"
        known = parse_config(callback_toml(agents=("reg1332", "sip7"), callback_extra=lines))
        preflight(settings, known)
        unknown = parse_config(callback_toml(agents=("reg1332", "reg999"), callback_extra=lines))
        with pytest.raises(PreflightError) as caught:
            preflight(settings, unknown)
    finally:
        server.stop()
    assert str(caught.value) == "cannot start 'cb': bitrix24 does not know the agent(s) reg999"


@pytest.mark.parametrize(
    ("provider", "limits", "rps"),
    [
        ("bitrix24", "", 2.0),  # not set: the provider's pace
        ("mtt_business", "", 5.0),
        ("bitrix24", "[limits]\nrps = 1\n", 1.0),
        ("mtt", "", 5.0),
    ],
)
def test_a_callback_provider_sets_the_pace_when_the_file_does_not(
    provider: str, limits: str, rps: float
) -> None:
    agents = ("reg1", "reg2") if provider == "bitrix24" else ("74997090111",)
    if provider == "mtt_business":
        agents = ("883140777380595",)
    text = callback_toml(agents=agents, callback_extra=f"provider = '{provider}'") + limits
    assert parse_config(text).limits.rps == rps


def test_a_stored_pace_faster_than_the_provider_takes_is_held_to_it() -> None:
    """A campaign stored before the provider's limit was known still loads (workers never
    fail on it); it is dialled at the provider's pace."""
    from dialer.campaign.config import CampaignConfig

    text = callback_toml(agents=("reg1",), callback_extra="provider = 'bitrix24'")
    stored = parse_config(text).model_dump_json().replace('"rps":2.0', '"rps":20.0')
    assert CampaignConfig.model_validate_json(stored).limits.rps == 2


def test_a_pace_faster_than_the_provider_takes_is_refused() -> None:
    text = callback_toml(agents=("reg1",), callback_extra="provider = 'bitrix24'")
    with pytest.raises(ConfigError, match=r"x\.toml: limits\.rps: 4 is more than bitrix24 takes"):
        parse_config(text + "[limits]\nrps = 4\n", "x.toml")
