"""The campaign file schema (TOML), validated with pydantic.

Unknown or wrong keys are refused by name: ``campaign.toml: limits.rsp: unknown key``.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from dialer.campaign.values import WEEKDAYS, Weekday, Window, format_duration, parse_duration
from dialer.errors import ConfigError

_ELEVEN_DIGITS = re.compile(r"^\d{11}$")
_NAME = re.compile(r"^[\w.\-]{1,200}$")

Duration = Annotated[
    timedelta,
    BeforeValidator(lambda v: v if isinstance(v, timedelta) else parse_duration(v)),
    PlainSerializer(format_duration, return_type=str),
]
WindowText = Annotated[
    Window,
    BeforeValidator(lambda v: v if isinstance(v, Window) else Window.parse(str(v))),
    PlainSerializer(str, return_type=str),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _eleven_digits(value: str, what: str) -> str:
    if not _ELEVEN_DIGITS.match(value):
        raise ValueError(f"{what} must be exactly 11 digits (E.164 without '+'), got {value!r}")
    return value


class Message(_Strict):
    text: str = Field(min_length=1, max_length=4000)
    """Template: ``{column}`` fields are filled from the contact's CSV columns."""
    caller_id: str
    """a_number for calls, sender number for SMS: 11 digits."""
    voice: str | None = None
    language: Literal["ru-RU", "en-US", "tr-TR"] = "ru-RU"
    emotion: Literal["good", "evil", "neutral"] | None = None
    speed: float | None = Field(default=None, ge=0.1, le=3.0)

    @field_validator("caller_id")
    @classmethod
    def _caller_id(cls, value: str) -> str:
        return _eleven_digits(value, "caller_id")

    @field_validator("voice")
    @classmethod
    def _voice(cls, value: str | None) -> str | None:
        voices = {"alyss", "jane", "oksana", "omazh", "zahar", "ermil", "erkanyavas"}
        if value is not None and value not in voices:
            raise ValueError(f"unknown voice {value!r}; MTT offers {', '.join(sorted(voices))}")
        return value


class MenuItem(_Strict):
    digit: int = Field(ge=1, le=9)
    action: Literal["notify", "transfer", "optout", "callback"]
    label: str = Field(default="", max_length=100)
    to: str | None = None
    """The operator's 11-digit number, for ``transfer`` only."""
    campaign: str | None = None
    """The callback campaign (``channel = "callback"``) a press puts the contact into, for
    ``callback`` only."""

    @model_validator(mode="after")
    def _target(self) -> MenuItem:
        if self.action == "transfer":
            if self.to is None:
                raise ValueError(f"menu digit {self.digit}: a transfer needs 'to'")
            _eleven_digits(self.to, f"menu digit {self.digit}: 'to'")
        elif self.to is not None:
            raise ValueError(f"menu digit {self.digit}: 'to' is only for action = 'transfer'")
        if self.action == "callback":
            if not self.campaign:
                raise ValueError(
                    f"menu digit {self.digit}: a callback needs 'campaign' (the callback "
                    "campaign's name)"
                )
            if not _NAME.match(self.campaign):
                raise ValueError(f"menu digit {self.digit}: {self.campaign!r} is not a name")
        elif self.campaign is not None:
            raise ValueError(f"menu digit {self.digit}: 'campaign' is only for action = 'callback'")
        return self

    @property
    def display_label(self) -> str:
        return self.label or self.action


class Schedule(_Strict):
    window: WindowText = Window.parse("09:00-21:00")
    days: tuple[Weekday, ...] = WEEKDAYS
    timezone: str = "Europe/Moscow"
    """For numbers that map to no single zone, and rows without a ``timezone`` column."""
    strict: bool = False
    """Call a number that maps to several zones only while the window is open in all of them."""

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        if not value:
            raise ValueError("at least one day is needed")
        if len(set(value)) != len(value):
            raise ValueError("days repeat")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value


AGENT_FORMATS: dict[str, tuple[str, str]] = {
    "mtt": (r"[0-9]{11}", "exactly 11 digits (E.164 without '+')"),
    "uis": (r"[0-9]{11}", "exactly 11 digits (E.164 without '+')"),
    "mtt_business": (r"[0-9]{5,20}", "a workplace's SIP ID (digits)"),
    "bitrix24": (r"(?:reg|sip)?[0-9]{1,15}", "a line ID (123, reg123 or sip123)"),
}
PROVIDER_MAX_RPS: dict[str, float] = {"mtt_business": 5, "bitrix24": 2}
"""Requests per second a callback provider takes at most (MTT Business: per integration;
Bitrix24: its leaky bucket's drain rate); a campaign that sets no ``limits.rps`` gets this."""
SINGLE_AGENT_PROVIDERS = frozenset({"mtt_business", "uis", "bitrix24"})
"""Providers whose call rings one agent: ``ring = "sequence"`` means nothing to them."""
UNSUPPORTED: dict[str, tuple[str, ...]] = {
    "bitrix24": ("contact_message", "record"),
    "mtt_business": ("contact_message", "record"),
}
"""What a provider's method cannot do: setting it in the campaign file is an error, not
silently ignored."""
"""What an ``agents`` entry is for each callback provider: a pattern, and it in words."""


class Callback(_Strict):
    """``[callback]``: how an agent callback rings our agents (side A) before the contact."""

    provider: Literal["mtt", "mtt_business", "uis", "bitrix24"] = "mtt"
    agents: tuple[str, ...] = Field(min_length=1, max_length=50)
    """The agents (11-digit numbers for MTT and UIS, workplace SIP IDs for MTT Business); also
    the most callbacks live at once."""
    ring: Literal["all", "sequence"] = "all"
    agent_timeout: Duration = timedelta(seconds=20)
    """How long each agent is rung (MTT recommends at least 15 s)."""
    contact_message: str | None = Field(default=None, min_length=1, max_length=1000)
    """Spoken to the contact (side B) before the bridge; a template like the whisper."""
    record: bool = False
    """Record the call. MTT records unless told not to: off unless set."""
    max_talk: Duration = timedelta(minutes=15)
    """The longest a callback may last, both legs (MTT's ``maxtime``)."""
    pause_after_misses: int = Field(default=5, ge=1, le=1000)
    """Pause the campaign when the agents miss this many callbacks in a row."""

    @field_validator("agents")
    @classmethod
    def _agents_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("agents repeat")
        return value

    @model_validator(mode="after")
    def _agents_fit_the_provider(self) -> Callback:
        pattern, words = AGENT_FORMATS[self.provider]
        for agent in self.agents:
            if not re.fullmatch(pattern, agent):
                raise ValueError(f"a {self.provider} agent must be {words}, got {agent!r}")
        if self.ring == "sequence" and self.provider in SINGLE_AGENT_PROVIDERS:
            raise ValueError(
                f"ring = 'sequence' is not possible with {self.provider} (one agent per call: "
                "the agents take turns)"
            )
        for key in UNSUPPORTED.get(self.provider, ()):
            if getattr(self, key) not in (None, False):
                raise ValueError(f"{key} is not possible with {self.provider}")
        return self

    @field_validator("agent_timeout")
    @classmethod
    def _agent_timeout(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=15) <= value <= timedelta(minutes=2):
            raise ValueError(
                f"must be 15s to 2m (MTT recommends at least 15s), got {format_duration(value)}"
            )
        return value

    @field_validator("max_talk")
    @classmethod
    def _max_talk(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(hours=4):
            raise ValueError(f"must be 1m to 4h, got {format_duration(value)}")
        return value


class Limits(_Strict):
    rps: float = Field(default=5, gt=0, le=1000)
    """Requests per second, per provider account, across every worker."""
    max_concurrent: int = Field(default=30, ge=1, le=10_000)
    """Calls between submission and hangup, per provider account."""


class Retry(_Strict):
    max_attempts: int = Field(default=3, ge=1, le=20)
    busy: Duration = timedelta(minutes=10)
    no_answer: Duration = timedelta(minutes=30)
    unreachable: Duration = timedelta(hours=2)
    rejected: Duration = timedelta(days=1)
    network: Duration = timedelta(minutes=5)
    undelivered: Duration = timedelta(hours=1)
    agent_no_answer: Duration = timedelta(minutes=1)
    """Agent callback: no agent took it (the contact's budget is not spent)."""
    event_timeout: Duration = timedelta(minutes=5)
    """No final event by then: the attempt is ``unknown``."""
    unknown: Duration = timedelta(hours=1)
    """Delay before an ``unknown`` attempt's contact is tried again."""


class CampaignConfig(_Strict):
    name: str
    channel: Literal["tts", "ivr", "sms", "callback"]
    purpose: Literal["informational", "debt_collection", "advertising"] = "informational"
    countries: tuple[str, ...] = ("RU",)
    phone_column: str | None = None
    message: Message
    menu: tuple[MenuItem, ...] = ()
    callback: Callback | None = None
    schedule: Schedule = Schedule()
    limits: Limits = Limits()
    retry: Retry = Retry()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use letters, digits, '.', '-' or '_' (at most 200)")
        return value

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = phonenumbers.SUPPORTED_REGIONS
        upper = tuple(code.upper() for code in value)
        bad = [code for code in upper if code not in known]
        if bad or not upper:
            raise ValueError(f"unknown country code(s) {bad}; use ISO codes like 'RU'")
        return upper

    @model_validator(mode="after")
    def _menu(self) -> CampaignConfig:
        digits = [item.digit for item in self.menu]
        if len(set(digits)) != len(digits):
            raise ValueError("menu digits must be unique")
        if self.channel == "ivr" and not self.menu:
            raise ValueError("an ivr campaign needs at least one [[menu]] entry")
        if self.channel != "ivr" and self.menu:
            raise ValueError(f"[[menu]] is only for channel = 'ivr', not {self.channel!r}")
        if self.channel == "callback" and self.callback is None:
            raise ValueError("a callback campaign needs a [callback] table (agents at least)")
        if self.channel != "callback" and self.callback is not None:
            raise ValueError(f"[callback] is only for channel = 'callback', not {self.channel!r}")
        return self._within_provider_rate()

    def _within_provider_rate(self) -> CampaignConfig:
        """A callback provider's pace bounds the campaign's (``PROVIDER_MAX_RPS``). A file
        asking for more is refused when it is read (``config_from_mapping``); here, for a
        stored campaign too, the pace is simply held to the provider's."""
        cap = PROVIDER_MAX_RPS.get(self.callback.provider) if self.callback else None
        if cap is None or self.limits.rps <= cap:
            return self
        return self.model_copy(update={"limits": self.limits.model_copy(update={"rps": cap})})

    def templates(self) -> list[tuple[str, str]]:
        """Every message template, with what it is: ``("message", text)`` and, for a
        callback, ``("contact_message", text)``."""
        found = [("message", self.message.text)]
        if self.callback is not None and self.callback.contact_message:
            found.append(("contact_message", self.callback.contact_message))
        return found

    def callback_campaigns(self) -> tuple[str, ...]:
        """The callback campaigns this campaign's menu feeds, in menu order."""
        return tuple(item.campaign for item in self.menu if item.campaign)

    def menu_label(self, digit: str | int | None) -> str | None:
        for item in self.menu:
            if str(item.digit) == str(digit):
                return item.display_label
        return None


def _location(loc: tuple[int | str, ...]) -> str:
    """``schedule.days[3]``: keys joined by dots, list items by their 1-based position."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(file)"


def _message(error: ErrorDetails) -> str:
    """What is wrong, naming the offending value where pydantic's text does not."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing required key"
    if kind in ("literal_error", "enum"):
        expected = str(error.get("ctx", {}).get("expected", ""))
        return f"{error['input']!r} is not one of {expected}"
    return str(error["msg"]).removeprefix("Value error, ")


def describe_validation_error(error: ValidationError, source: str) -> str:
    """One line naming the file, the first offending key and value, and where the next
    problem is when there are more: ``f.toml: schedule.days[3]: 'tus' is not one of 'mon',
    ..., 'sat' or 'sun' (1 more problem, at schedule.window)``."""
    errors = error.errors()
    first = errors[0]
    line = f"{source}: {_location(first['loc'])}: {_message(first)}"
    if len(errors) > 1:
        others = len(errors) - 1
        noun = "problem" if others == 1 else "problems"
        line += f" ({others} more {noun}, first at {_location(errors[1]['loc'])})"
    return line


def parse_config(text: str, source: str = "<campaign>") -> CampaignConfig:
    """Parse and validate a campaign file's text. Raises ``ConfigError`` with one line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return config_from_mapping(data, source)


def config_from_mapping(data: object, source: str = "<campaign>") -> CampaignConfig:
    try:
        config = CampaignConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None
    _check_provider_rate(data, config, source)
    return config


def _check_provider_rate(data: object, config: CampaignConfig, source: str) -> None:
    """A file that asks for a faster pace than its callback provider takes is an error (a
    file that says nothing gets the provider's)."""
    limits = data.get("limits") if isinstance(data, dict) else None
    asked = limits.get("rps") if isinstance(limits, dict) else None
    provider = config.callback.provider if config.callback else ""
    cap = PROVIDER_MAX_RPS.get(provider)
    if cap is not None and isinstance(asked, int | float) and asked > cap:
        raise ConfigError(
            f"{source}: limits.rps: {asked:g} is more than {provider} takes "
            f"({cap:g} requests per second)"
        )


def load_config(path: Path) -> CampaignConfig:
    """Read and validate a campaign file. Raises ``ConfigError`` naming file and key."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a campaign file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_config(text, str(path))
