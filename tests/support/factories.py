"""Typed factories: campaigns and CSV files as the tests need them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from dialer.campaign.config import CampaignConfig, parse_config
from dialer.campaign.store import create_campaign
from dialer.db.engine import session_scope


def campaign_toml(
    name: str = "test",
    channel: str = "tts",
    text: str = "Здравствуйте, {name}!",
    *,
    extra: str = "",
    menu: str = "",
    caller_id: str = "74950000000",
) -> str:
    if channel == "ivr" and not menu:
        menu = (
            "[[menu]]\ndigit = 1\naction = 'notify'\nlabel = 'pickup'\n"
            "[[menu]]\ndigit = 3\naction = 'transfer'\nto = '74997090111'\nlabel = 'operator'\n"
            "[[menu]]\ndigit = 9\naction = 'optout'\nlabel = 'stop'\n"
        )
    return (
        f'name = "{name}"\nchannel = "{channel}"\n{extra}\n'
        f'[message]\ntext = "{text}"\ncaller_id = "{caller_id}"\n{menu}'
    )


def fast_retry(
    max_attempts: int = 3,
    *,
    rps: int = 20,
    event_timeout: str = "30s",
    max_concurrent: int = 10,
) -> str:
    """Campaign sections for tests: the window always open and every retry after a second."""
    return f"""
[schedule]
window = "00:00-24:00"
[limits]
rps = {rps}
max_concurrent = {max_concurrent}
[retry]
max_attempts = {max_attempts}
busy = "1s"
no_answer = "1s"
unreachable = "1s"
network = "1s"
undelivered = "1s"
unknown = "1s"
agent_no_answer = "1s"
event_timeout = "{event_timeout}"
"""


def make_config(**kwargs: str) -> CampaignConfig:
    return parse_config(campaign_toml(**kwargs))


def make_campaign(engine: Engine, config: CampaignConfig) -> int:
    with session_scope(engine) as session:
        campaign, _ = create_campaign(session, config)
        return campaign.id or 0


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def callback_toml(
    name: str = "cb",
    *,
    agents: tuple[str, ...] = ("74997090111", "74997090112"),
    extra: str = "",
    callback_extra: str = "",
    text: str = "Клиент {name}. Соединяю.",
) -> str:
    """A ``channel = "callback"`` campaign file (``extra`` goes before the tables)."""
    quoted = ", ".join(f'"{agent}"' for agent in agents)
    return (
        f'name = "{name}"\nchannel = "callback"\n{extra}\n'
        f'[message]\ntext = "{text}"\ncaller_id = "74950000000"\n'
        f"[callback]\nagents = [{quoted}]\n{callback_extra}\n"
    )
