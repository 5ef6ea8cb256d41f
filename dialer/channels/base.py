"""What a channel is: the one place that says how its attempts are sent and settled.

A channel (``tts``, ``ivr``, ``sms``, ``callback``) states its request and provider (how one
attempt becomes one HTTP request), its limits (the rate account, which channels share a
concurrency pool, how many may be live), its webhook routes and how their events are read,
and how an event moves an attempt on (a pure ``reduce`` that returns an ``Effect``; the
outcome engine writes it). Dispatch, the scheduler, the collector and the outcome engine ask
the registry (``dialer.channels.channel_for``) instead of testing channel names.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

import httpx

from dialer.campaign.config import CampaignConfig
from dialer.providers.base import EventKind, NormalizedEvent, Submitted
from dialer.settings import Settings
from dialer.states import Outcome

if TYPE_CHECKING:
    from dialer.db.models import Attempt


class DialContext(Protocol):
    """What a channel needs to build one request (``dialer.dispatch.store.DialContext``)."""

    @property
    def attempt_id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def config(self) -> CampaignConfig: ...
    @property
    def fields(self) -> Mapping[str, str]: ...


Parser = Callable[[bytes, str | None, Mapping[str, str]], list[NormalizedEvent]]
"""``(body, content type, query and path fields) -> events`` (at least one), or raises
``EventParseError``."""


@dataclass(frozen=True, slots=True)
class Hook:
    """One webhook route: ``/hooks/{token}/<path>``. ``route`` names it in the inbox (at most
    8 characters) and in metrics. ``bind`` makes the parser from the collector's settings
    (a provider's own token in the body); ``redact`` cleans the raw request text before it
    is stored (a provider's tokens in the body)."""

    route: str
    path: str
    methods: frozenset[str]
    parse: Parser
    bind: Callable[[Settings], Parser] | None = None
    redact: Callable[[str], str] | None = None

    def parser(self, settings: Settings) -> Parser:
        return self.bind(settings) if self.bind is not None else self.parse


@dataclass(frozen=True, slots=True)
class OptOut:
    """Put ``number`` (by default the attempt's) on the do-not-call list."""

    source: str
    reason: str
    number: str | None = None


@dataclass(frozen=True, slots=True)
class RequestCallback:
    """Put the attempt's contact into the callback campaign ``campaign``, due at once."""

    campaign: str
    digit: int


Action = OptOut | RequestCallback


@dataclass(frozen=True, slots=True)
class Effect:
    """What one event does to its attempt, for the outcome engine to write.

    ``attempt`` fields are set on the attempt; ``contact`` fields on its contact when the
    attempt is the contact's current one. ``started``: the provider has the request (a
    ``dialing``/``unknown`` attempt becomes ``submitted``). ``outcome``: finish the attempt
    (a final attempt absorbs it). ``release_slot``: the call is over, its concurrency slot is
    free now even though its result is still to be read (``settle``: look it up at once).
    """

    attempt: Mapping[str, object] = field(default_factory=dict)
    contact: Mapping[str, object] = field(default_factory=dict)
    started: bool = False
    outcome: Outcome | None = None
    release_slot: bool = False
    settle: bool = False
    actions: tuple[Action, ...] = ()


NO_EFFECT = Effect()

ConfigLookup = Callable[[], CampaignConfig | None]
"""The attempt's campaign configuration, read only when a reducer asks for it."""

TimeoutLookup = Literal["call_history", "sms_message", "callback_info", "none"]
"""Where the scheduler looks for the result of an attempt whose final event never came."""


class Channel(abc.ABC):
    """One channel. Subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    actor: ClassVar[str]
    """The Dramatiq actor (and queue) that dials this channel's attempts."""
    queue: ClassVar[str]
    provider: ClassVar[str]
    """The pooled client this channel sends with (channels on one API share it); see
    ``provider_slot`` for a channel whose campaigns choose their provider."""
    pool: ClassVar[tuple[str, ...]]
    """The channels whose live attempts count together against the limits."""
    event_kinds: ClassVar[frozenset[EventKind]]
    """The event kinds this channel's webhooks produce."""
    events_carry_attempt_id: ClassVar[bool] = False
    """Whether its events name our attempt id (else they are matched by provider id)."""
    timeout_lookup: ClassVar[TimeoutLookup] = "none"
    reached: ClassVar[str] = "answered"
    """What reaching a contact is called in summaries (``answered``, ``delivered``...)."""
    require_mobile: ClassVar[bool] = False
    """Only mobile numbers can be reached (the loader rejects the rest)."""
    hooks: ClassVar[tuple[Hook, ...]] = ()

    def all_hooks(self) -> tuple[Hook, ...]:
        """Every webhook route of the channel (its providers' too)."""
        return self.hooks

    @abc.abstractmethod
    def account_key(self, settings: Settings, config: CampaignConfig) -> str:
        """The rate-limit key: one per provider account, shared by every campaign."""

    def provider_slot(self, config: CampaignConfig) -> str:
        """The pooled client a campaign of this channel sends with."""
        return self.provider

    def max_live(self, config: CampaignConfig) -> int | None:
        """Most attempts of the pool live at once (``None``: no limit but the rate)."""
        return config.limits.max_concurrent

    live_scope: ClassVar[Literal["account", "campaign"]] = "account"
    """Whether ``max_live`` counts the whole pool or this campaign's attempts only."""

    def event_timeout(self, config: CampaignConfig) -> timedelta:
        """How long a sent attempt may wait for its final event."""
        return config.retry.event_timeout

    @abc.abstractmethod
    def build_provider(
        self,
        settings: Settings,
        config: CampaignConfig,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> object:
        """The client for ``provider_slot(config)`` (built once per process, on first use)."""

    @abc.abstractmethod
    async def send(self, client: object, ctx: DialContext, settings: Settings) -> Submitted:
        """Build the request for one attempt and send it once; raises ``ProviderError``."""

    @abc.abstractmethod
    def reduce(
        self, attempt: Attempt, event: NormalizedEvent, now: datetime, config: ConfigLookup
    ) -> Effect:
        """What ``event`` does to ``attempt`` (pure: reads, never writes)."""

    def without_event(self, attempt: Attempt) -> tuple[Outcome, Mapping[str, object]]:
        """The outcome of an attempt whose final event never came and whose result could
        not be looked up, and the fields to set."""
        return Outcome.UNKNOWN, {}

    def unattached(self, event: NormalizedEvent) -> Effect | None:
        """An event that belongs to no attempt (an inbound SMS): its effect, or ``None``
        when it must wait for its attempt (an orphan)."""
        return None

    def missing_settings(self, settings: Settings, config: CampaignConfig) -> list[str]:
        """The settings a campaign of this channel needs and lacks (environment names)."""
        return []

    def check_settings(self, settings: Settings, config: CampaignConfig) -> str | None:
        """A reason the campaign cannot start with these settings (beyond missing ones)."""
        return None

    async def check_account(self, settings: Settings, config: CampaignConfig) -> str | None:
        """A reason the provider account cannot run the campaign (a network check), or
        ``None``. Raises ``ProviderError`` when the check itself fails."""
        return None


def hook_url(settings: Settings, path: str) -> str | None:
    """``DIALER_PUBLIC_URL/hooks/{token}/<path>``, or ``None`` without a public URL."""
    if not settings.public_url:
        return None
    token = settings.webhook_token.get_secret_value()
    return f"{settings.public_url.rstrip('/')}/hooks/{token}/{path}"
