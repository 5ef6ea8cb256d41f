"""A menu's ``callback`` digit and the campaign it names: checked at creation, at load and
at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from dialer.campaign.config import parse_config
from dialer.control import control_campaign
from dialer.errors import ConfigError, PreflightError
from dialer.loader.load import load_contacts
from dialer.settings import Settings
from tests.support.factories import callback_toml, campaign_toml, make_campaign, write_csv

MENU = "[[menu]]\ndigit = 4\naction = 'callback'\ncampaign = 'leads'\n"
IVR = campaign_toml("ivr-x", channel="ivr", menu=MENU, text="Привет, {name}")


def test_a_menu_naming_no_campaign_is_a_one_line_error(sqlite_engine: Engine) -> None:
    with pytest.raises(ConfigError) as caught:
        make_campaign(sqlite_engine, parse_config(IVR))
    assert str(caught.value) == (
        "ivr-x: menu digit 4: callback campaign 'leads' does not exist; create it first "
        "(dialer campaign create ITS_FILE.toml)"
    )


def test_a_menu_naming_a_campaign_of_another_channel_is_refused(sqlite_engine: Engine) -> None:
    make_campaign(sqlite_engine, parse_config(campaign_toml("leads")))
    with pytest.raises(ConfigError, match="'leads' is a tts campaign, not channel = 'callback'"):
        make_campaign(sqlite_engine, parse_config(IVR))


def test_the_callback_whisper_needs_its_columns_in_the_ivr_file(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    make_campaign(sqlite_engine, parse_config(callback_toml("leads", text="Заявка {order}")))
    make_campaign(sqlite_engine, parse_config(IVR))
    csv = write_csv(tmp_path / "c.csv", "name,phone\nОля,79161234567\n")
    with pytest.raises(ConfigError) as caught:
        load_contacts(sqlite_engine, "ivr-x", csv)
    assert str(caught.value).startswith(
        f"{csv}: the message of callback campaign 'leads' uses {{order}} but the file has no "
        "such column"
    )


def test_a_callback_campaign_starts_with_no_contacts_other_channels_do_not(
    sqlite_engine: Engine,
) -> None:
    make_campaign(sqlite_engine, parse_config(callback_toml("leads")))
    make_campaign(sqlite_engine, parse_config(campaign_toml("empty")))
    settings = Settings(
        mtt_login="l",
        mtt_password="p",  # type: ignore[arg-type]
        mtt_sip_id="s",
        mtt_informer_method="m",
        mtt_callback_customer_name="883140500000000",
        public_url="https://hooks.example.com",
        webhook_token="t" * 20,  # type: ignore[arg-type]
    )
    assert control_campaign(settings, sqlite_engine, "leads", "start") == "running"
    with pytest.raises(PreflightError, match="no contacts loaded"):
        control_campaign(settings, sqlite_engine, "empty", "start")
