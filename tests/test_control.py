"""Pre-flight checks before ``start``: each channel names what it lacks, in one line."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from dialer.campaign.config import parse_config
from dialer.control import preflight
from dialer.errors import PreflightError
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
