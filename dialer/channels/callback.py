"""The ``callback`` channel: MTT's CallBack API rings our agents (side A), whispers who is
calling, then calls the contact (side B) and bridges the two.

Events: ``GET|POST /hooks/{token}/mtt/callback/{attempt}/event.php?event=...&id=...`` (the
``callBackURL`` we send carries the attempt id, so even a callback whose answer was lost is
matched) and ``/hooks/{token}/mtt/callback/event.php``. They carry no cause: after
``end_side_A`` the slot is free and the scheduler reads ``getCallBackFollowmeCallInfo`` for
the result (``dialer.outcomes.callbacks``). Quirks: docs/design.md ("CallBack API").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Literal

import httpx

from dialer.campaign.config import Callback, CampaignConfig
from dialer.campaign.templates import render
from dialer.channels.base import (
    Channel,
    ConfigLookup,
    DialContext,
    Effect,
    Hook,
    TimeoutLookup,
    hook_url,
)
from dialer.channels.callback_providers import CALLBACK_PROVIDERS, CallbackProvider
from dialer.providers.base import EventKind, NormalizedEvent, Submitted
from dialer.providers.callback_base import CallbackClient, CallbackRequest
from dialer.providers.callback_events import CallbackEventKind, parse_callback_event
from dialer.settings import Settings
from dialer.states import Outcome

if TYPE_CHECKING:
    from dialer.db.models import Attempt

CALLBACK_PATH = "mtt/callback"
_ATTEMPT_REF = re.compile(r"[0-9]{1,18}")
_GET_POST = frozenset({"GET", "POST"})
SETTLE_MARGIN = timedelta(minutes=2)
_TOLD = frozenset(
    {
        Outcome.CONNECTED,
        Outcome.AGENT_NO_ANSWER,
        Outcome.BUSY,
        Outcome.NO_ANSWER,
        Outcome.UNREACHABLE,
        Outcome.REJECTED,
    }
)
"""The outcomes a provider's final event may state (``extra["outcome"]``)."""
"""Added to the longest a callback can last before it counts as timed out."""


def _parse(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> list[NormalizedEvent]:
    fields = {key: value for key, value in query.items() if key != "attempt"}
    event = parse_callback_event(fields, body, content_type)
    ref = query.get("attempt", "")
    return [
        NormalizedEvent(
            kind=EventKind.CALLBACK,
            attempt_id=int(ref) if _ATTEMPT_REF.fullmatch(ref) else None,
            provider_id=event.call_id,
            number=event.phone,
            status=event.kind.value if event.kind is not CallbackEventKind.UNKNOWN else event.name,
            occurred_at=event.occurred_at,
            extra=dict(event.extras),
        )
    ]


def callback_url(settings: Settings, attempt_id: int) -> str | None:
    """Where MTT sends this callback's events (it appends ``/event.php``)."""
    return hook_url(settings, f"{CALLBACK_PATH}/{attempt_id}")


def callback_request(ctx: DialContext, settings: Settings) -> CallbackRequest:
    config = ctx.config
    callback = _callback(config)
    message = render(callback.contact_message, ctx.fields) if callback.contact_message else None
    return CallbackRequest(
        contact=ctx.number,
        agents=callback.agents,
        whisper=render(config.message.text, ctx.fields),
        callback_url=callback_url(settings, ctx.attempt_id) or "",
        ring=callback.ring,
        agent_timeout=int(callback.agent_timeout.total_seconds()),
        contact_message=message,
        caller_id=config.message.caller_id,
        record=callback.record,
        max_talk=int(callback.max_talk.total_seconds()),
        description=str(ctx.attempt_id),
    )


class CallbackChannel(Channel):
    name = "callback"
    actor = "place_callback"
    queue = "dialer.callbacks"
    provider = "callback"  # the slot is per provider: see provider_slot
    pool = ("callback",)
    event_kinds = frozenset({EventKind.CALLBACK})
    events_carry_attempt_id = True
    timeout_lookup: ClassVar[TimeoutLookup] = "callback_info"
    reached = "talked"
    live_scope: ClassVar[Literal["account", "campaign"]] = "campaign"
    hooks = (
        Hook("callback", f"{CALLBACK_PATH}/event.php", _GET_POST, _parse),
        Hook("callback", CALLBACK_PATH + "/{attempt}/event.php", _GET_POST, _parse),
    )

    def all_hooks(self) -> tuple[Hook, ...]:
        return self.hooks + tuple(h for p in CALLBACK_PROVIDERS.values() for h in p.hooks)

    def account_key(self, settings: Settings, config: CampaignConfig) -> str:
        return backend(config).account(settings)

    def provider_slot(self, config: CampaignConfig) -> str:
        return f"callback:{_callback(config).provider}"

    def max_live(self, config: CampaignConfig) -> int | None:
        """One live callback per agent: a free agent for every contact we ring."""
        return len(_callback(config).agents)

    def event_timeout(self, config: CampaignConfig) -> timedelta:
        callback = _callback(config)
        rung = callback.agent_timeout * (len(callback.agents) if callback.ring == "sequence" else 1)
        return max(config.retry.event_timeout, rung + callback.max_talk + SETTLE_MARGIN)

    def build_provider(
        self,
        settings: Settings,
        config: CampaignConfig,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> CallbackClient:
        return backend(config).build(settings, transport)

    async def send(self, client: object, ctx: DialContext, settings: Settings) -> Submitted:
        assert isinstance(client, CallbackClient)
        return await client.place_callback(callback_request(ctx, settings))

    def reduce(
        self, attempt: Attempt, event: NormalizedEvent, now: datetime, config: ConfigLookup
    ) -> Effect:
        at = event.occurred_at or now
        name = event.status
        if name == CallbackEventKind.PICKUP_SIDE_A:
            agent = event.number or attempt.agent
            return Effect(attempt={"agent": agent}, contact={"agent": agent}, started=True)
        if name == CallbackEventKind.START_TALK:
            return Effect(attempt={"answered_at": attempt.answered_at or at}, started=True)
        if name == CallbackEventKind.END_SIDE_B and attempt.answered_at is not None:
            if attempt.talk_seconds is not None:
                return Effect()
            talk = max(int((at - attempt.answered_at).total_seconds()), 0)
            return Effect(attempt={"talk_seconds": talk}, contact={"duration": talk})
        if name == CallbackEventKind.END_SIDE_A:
            return self._ended(attempt, event, config(), now)
        if name in (CallbackEventKind.START_SIDE_A, CallbackEventKind.START_SIDE_B):
            return Effect(started=True)
        return Effect()

    def _ended(
        self,
        attempt: Attempt,
        event: NormalizedEvent,
        config: CampaignConfig | None,
        now: datetime,
    ) -> Effect:
        """The call is over: the agent is free. Its result is the final event's ``outcome``
        when the provider says it; else read from the provider (``settle``) when it can;
        else judged from the events seen."""
        told = event.extra.get("outcome")
        if told in _TOLD:
            talk = event.duration if told == Outcome.CONNECTED else None
            fields: dict[str, object] = {}
            if talk is not None:
                fields["talk_seconds"] = talk
                ended_at = event.occurred_at or now
                fields["answered_at"] = attempt.answered_at or ended_at - timedelta(seconds=talk)
            return Effect(
                attempt=fields,
                contact={"duration": talk} if talk is not None else {},
                started=True,
                release_slot=True,
                outcome=Outcome(told),
            )
        if config is None or backend(config).reads_results:
            return Effect(started=True, release_slot=True, settle=True)
        outcome, _ = self.without_event(attempt, ended=True)
        return Effect(started=True, release_slot=True, outcome=outcome)

    def without_event(
        self, attempt: Attempt, *, ended: bool = False
    ) -> tuple[Outcome, Mapping[str, object]]:
        """No call info: judge by the events that came. The agent leg ended with nobody
        taking it: ``agent_no_answer``; an agent took it and the two talked: ``connected``;
        an agent took it, the contact never answered: ``no_answer``; no end at all:
        ``unknown``."""
        if attempt.answered_at is not None:
            return Outcome.CONNECTED, {}
        if attempt.slot_released_at is None and not ended:
            return Outcome.UNKNOWN, {}
        if attempt.agent is None:
            return Outcome.AGENT_NO_ANSWER, {}
        return Outcome.NO_ANSWER, {}

    def missing_settings(self, settings: Settings, config: CampaignConfig) -> list[str]:
        return backend(config).missing(settings) + settings.unset("webhook_token", "public_url")

    def check_settings(self, settings: Settings, config: CampaignConfig) -> str | None:
        return backend(config).check(settings)

    async def check_account(self, settings: Settings, config: CampaignConfig) -> str | None:
        """The agents the provider's account does not know (MTT Business workplaces,
        Bitrix24 lines)."""
        provider = backend(config)
        if provider.check_agents is None:
            return None
        client = provider.build(settings, None)
        try:
            unknown = await provider.check_agents(client, _callback(config).agents)
        finally:
            await client.aclose()
        if unknown:
            return f"{provider.name} does not know the agent(s) {', '.join(unknown)}"
        return None


def backend(config: CampaignConfig) -> CallbackProvider:
    """The campaign's callback provider (the file's ``[callback] provider``)."""
    return CALLBACK_PROVIDERS[_callback(config).provider]


def _callback(config: CampaignConfig) -> Callback:
    if config.callback is None:  # the campaign file's validation forbids it
        raise ValueError(f"campaign {config.name!r} has no [callback] table")
    return config.callback
