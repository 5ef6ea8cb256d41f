from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from dialer.campaign.config import load_config, parse_config
from dialer.campaign.values import Window, parse_duration
from dialer.errors import ConfigError

BASE = """
name = "x"
channel = "tts"
[message]
text = "Привет, {name}"
caller_id = "74950000000"
"""


CAMPAIGNS = sorted((Path(__file__).resolve().parents[2] / "campaigns").glob("*.toml"))


def test_the_example_campaigns_are_found() -> None:
    """Found from this file, not the working directory: never a silently empty table."""
    assert len(CAMPAIGNS) >= 3


@pytest.mark.parametrize("path", CAMPAIGNS, ids=[path.stem for path in CAMPAIGNS])
def test_example_campaigns_are_valid(path: Path) -> None:
    config = load_config(path)
    assert config.name == path.stem


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), (45, 45)],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["10", "10x", "m", "-5m", "1.5h", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("09:00-21:00", [time(9), time(20, 59)], [time(8, 59), time(21), time(23)]),
        ("21:00-02:00", [time(21), time(23, 30), time(0), time(1, 59)], [time(2), time(12)]),
        ("00:00-24:00", [time(0), time(12), time(23, 59)], []),
    ],
)
def test_windows(text: str, inside: list[time], outside: list[time]) -> None:
    window = Window.parse(text)
    assert all(window.contains(t) for t in inside)
    assert not any(window.contains(t) for t in outside)


@pytest.mark.parametrize("text", ["9-21", "25:00-26:00", "09:00-09:00", "09:60-10:00", "x"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(ValueError, match=r"window|impossible|empty"):
        Window.parse(text)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[limits]\nrsp = 4\n", "x.toml: limits.rsp: unknown key"),
        ("colour = 'red'\n", "x.toml: colour: unknown key"),
        ("[retry]\nbusy = 'soon'\n", "x.toml: retry.busy: 'soon' is not a duration"),
        ("[schedule]\nwindow = '9-5'\n", "x.toml: schedule.window: '9-5' is not a window"),
        ("[schedule]\ntimezone = 'Mars/Base'\n", "x.toml: schedule.timezone: 'Mars/Base' is not"),
        ("countries = ['XX']\n", "x.toml: countries: unknown country code"),
    ],
)
def test_bad_keys_are_named(extra: str, message: str) -> None:
    head, _, rest = BASE.partition("[message]")
    text = head + (extra if not extra.startswith("[") else "") + "[message]" + rest
    if extra.startswith("["):
        text += extra
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


IVR = BASE.replace('channel = "tts"', 'channel = "ivr"')


@pytest.mark.parametrize(
    ("menu", "message"),
    [
        ("", "an ivr campaign needs at least one [[menu]]"),
        ("[[menu]]\ndigit = 0\naction = 'notify'\n", "menu[1].digit"),
        ("[[menu]]\ndigit = 10\naction = 'notify'\n", "menu[1].digit"),
        (
            "[[menu]]\ndigit = 1\naction = 'notify'\n[[menu]]\ndigit = 1\naction = 'optout'\n",
            "menu digits must be unique",
        ),
        ("[[menu]]\ndigit = 3\naction = 'transfer'\n", "a transfer needs 'to'"),
        ("[[menu]]\ndigit = 3\naction = 'transfer'\nto = '8499709011'\n", "exactly 11 digits"),
        ("[[menu]]\ndigit = 1\naction = 'notify'\nto = '74997090111'\n", "only for action"),
        ("[[menu]]\ndigit = 1\naction = 'call'\n", "menu[1].action"),
    ],
)
def test_menu_rules(menu: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(IVR + menu, "x.toml")


def test_menu_on_a_tts_campaign_is_refused() -> None:
    with pytest.raises(ConfigError, match="only for channel = 'ivr'"):
        parse_config(BASE + "[[menu]]\ndigit = 1\naction = 'notify'\n", "x.toml")


def test_caller_id_must_be_eleven_digits() -> None:
    with pytest.raises(ConfigError, match=r"message.caller_id: caller_id must be exactly 11"):
        parse_config(BASE.replace("74950000000", "+74950000000"), "x.toml")


def test_round_trip_through_json() -> None:
    config = parse_config(IVR + "[[menu]]\ndigit = 3\naction = 'transfer'\nto = '74997090111'\n")
    again = type(config).model_validate_json(config.model_dump_json())
    assert again == config
    assert again.menu_label(3) == "transfer"


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.toml: file not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = ", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        load_config(bad)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            'days = ["mon", "tus"]',
            "x.toml: schedule.days[2]: 'tus' is not one of 'mon', 'tue', 'wed', 'thu', 'fri', "
            "'sat' or 'sun'",
        ),
        (
            'days = ["Sunday", "mon", "tus"]',
            "x.toml: schedule.days[1]: 'Sunday' is not one of 'mon', 'tue', 'wed', 'thu', 'fri', "
            "'sat' or 'sun' (1 more problem, first at schedule.days[3])",
        ),
        (
            'window = "9-21"\ndays = ["mon", "x", "y"]',
            "x.toml: schedule.window: '9-21' is not a window; use 'HH:MM-HH:MM', e.g. "
            "'09:00-21:00' (2 more problems, first at schedule.days[2])",
        ),
    ],
)
def test_a_bad_value_is_named_with_the_good_ones(schedule: str, message: str) -> None:
    """Not "... 'sun' (and 1 more)", which reads like an eighth weekday."""
    with pytest.raises(ConfigError) as caught:
        parse_config(f"{BASE}\n[schedule]\n{schedule}\n", "x.toml")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("menu", "message"),
    [
        ("[[menu]]\ndigit = 4\naction = 'callback'\n", "a callback needs 'campaign'"),
        ("[[menu]]\ndigit = 4\naction = 'callback'\ncampaign = 'a b'\n", "'a b' is not a name"),
        ("[[menu]]\ndigit = 1\naction = 'notify'\ncampaign = 'cb'\n", "'campaign' is only for"),
    ],
)
def test_menu_callback_rules(menu: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(IVR + menu, "x.toml")


def test_a_menu_callback_names_its_campaign() -> None:
    menu = "[[menu]]\ndigit = 4\naction = 'callback'\ncampaign = 'leads'\nlabel = 'call me'\n"
    config = parse_config(IVR + menu)
    assert config.callback_campaigns() == ("leads",)


CALLBACK = """
name = "cb"
channel = "callback"
[message]
text = "Клиент {name}"
caller_id = "74950000000"
"""


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("", "a callback campaign needs a [callback] table"),
        ("[callback]\n", r"x.toml: callback.agents: missing required key"),
        ("[callback]\nagents = []\n", "callback.agents"),
        ("[callback]\nagents = ['8499709011']\n", "a mtt agent must be exactly 11 digits"),
        ("[callback]\nagents = ['74997090111', '74997090111']\n", "agents repeat"),
        ("[callback]\nagents = ['74997090111']\nring = 'random'\n", "'random' is not one of"),
        ("[callback]\nagents = ['74997090111']\nagent_timeout = '5s'\n", "15s to 2m"),
        ("[callback]\nagents = ['74997090111']\nmax_talk = '30s'\n", "1m to 4h"),
        ("[callback]\nagents = ['74997090111']\nprovider = 'nope'\n", "'nope' is not one of 'mtt'"),
        (
            "[callback]\nagents = ['8499709011']\nprovider = 'uis'\n",
            "a uis agent must be exactly 11",
        ),
        ("[callback]\nagents = ['74997090111']\nwhisper = 'x'\n", "callback.whisper: unknown key"),
        ("[callback]\nagents = ['74997090111']\npause_after_misses = 0\n", "pause_after_misses"),
    ],
)
def test_callback_table_rules(table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(CALLBACK + table, "x.toml")


def test_a_callback_table_on_another_channel_is_refused() -> None:
    with pytest.raises(ConfigError, match="only for channel = 'callback', not 'tts'"):
        parse_config(BASE + "[callback]\nagents = ['74997090111']\n", "x.toml")


def test_callback_defaults_are_the_safe_ones() -> None:
    config = parse_config(CALLBACK + "[callback]\nagents = ['74997090111']\n")
    assert config.callback is not None
    assert config.callback.record is False  # MTT records unless told not to
    assert (config.callback.ring, config.callback.agent_timeout) == ("all", timedelta(seconds=20))
    assert config.callback.pause_after_misses == 5
    assert config.retry.agent_no_answer == timedelta(minutes=1)
