"""The sb-api channels: ``tts`` (an informer call) and ``ivr`` (an ``ivr-api`` call with a
DTMF menu). One MTT SIP account, one client, one concurrency pool.

Events: ``POST /hooks/{token}/mtt/call`` (call progress, in every shape sb-api sends) and
``POST /hooks/{token}/mtt/ivr`` (menu choices posted to the ``notify`` URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

import httpx

from dialer.campaign.config import CampaignConfig
from dialer.campaign.templates import render
from dialer.channels.base import (
    Action,
    Channel,
    ConfigLookup,
    DialContext,
    Effect,
    Hook,
    OptOut,
    RequestCallback,
    TimeoutLookup,
    hook_url,
)
from dialer.policy.classify import classify_call
from dialer.providers.base import (
    CallProvider,
    CallRequest,
    EventKind,
    MenuOption,
    NormalizedEvent,
    Submitted,
)
from dialer.providers.events import parse_call_events
from dialer.settings import Settings
from dialer.states import LIVE_ATTEMPT_STATUSES

if TYPE_CHECKING:
    from dialer.db.models import Attempt

NOTIFY_PATH = "mtt/ivr"
"""Where MTT posts IVR ``notify`` choices, under ``/hooks/{token}/``."""


def _parse_calls(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> list[NormalizedEvent]:
    return parse_call_events(body, content_type)


_POST = frozenset({"POST"})


def notify_url(settings: Settings) -> str | None:
    """Where MTT posts IVR ``notify`` choices: ``DIALER_PUBLIC_URL/hooks/{token}/mtt/ivr``."""
    return hook_url(settings, NOTIFY_PATH)


class SbCallChannel(Channel):
    """What ``tts`` and ``ivr`` share: the sb-api client, the account, the call events."""

    actor = "place_call"
    queue = "dialer.calls"
    provider = "mtt_sb"
    pool = ("tts", "ivr")
    event_kinds = frozenset(
        {
            EventKind.CALL_STARTED,
            EventKind.CALL_ENDED,
            EventKind.DTMF,
            EventKind.TRANSFER_STARTED,
            EventKind.TRANSFER_ENDED,
        }
    )
    events_carry_attempt_id = True
    timeout_lookup: ClassVar[TimeoutLookup] = "call_history"
    hooks = (
        Hook("call", "mtt/call", _POST, _parse_calls),
        Hook("ivr", NOTIFY_PATH, _POST, _parse_calls),
    )

    def account_key(self, settings: Settings, config: CampaignConfig) -> str:
        return f"mtt:{settings.mtt_sip_id}"

    def build_provider(
        self,
        settings: Settings,
        config: CampaignConfig,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> CallProvider:
        from dialer.providers.factory import build_call_provider

        return build_call_provider(settings, transport)

    def request(self, ctx: DialContext, settings: Settings) -> CallRequest:
        message = ctx.config.message
        return CallRequest(
            attempt_id=ctx.attempt_id,
            to=ctx.number,
            caller_id=message.caller_id,
            text=render(message.text, ctx.fields),
            voice=message.voice,
            language=message.language,
            emotion=message.emotion,
            speed=message.speed,
            menu=self.menu(ctx.config, settings),
        )

    def menu(self, config: CampaignConfig, settings: Settings) -> tuple[MenuOption, ...]:
        return ()

    async def send(self, client: object, ctx: DialContext, settings: Settings) -> Submitted:
        assert isinstance(client, CallProvider)
        return await client.place_call(self.request(ctx, settings))

    def reduce(
        self, attempt: Attempt, event: NormalizedEvent, now: datetime, config: ConfigLookup
    ) -> Effect:
        if event.kind == EventKind.CALL_STARTED:
            return Effect(started=True)
        if event.kind == EventKind.CALL_ENDED:
            fields: dict[str, object] = {"cause": event.cause, "duration": event.duration}
            if event.occurred_at is not None and event.duration:
                fields["answered_at"] = event.occurred_at - timedelta(seconds=event.duration)
            live = attempt.status in LIVE_ATTEMPT_STATUSES
            contact = {"last_cause": event.cause, "duration": event.duration} if live else {}
            return Effect(
                attempt=fields,
                contact=contact,
                outcome=classify_call(event.cause, event.duration),
            )
        if event.kind in (EventKind.DTMF, EventKind.TRANSFER_STARTED, EventKind.TRANSFER_ENDED):
            return _ivr_detail(attempt, event, config())
        return Effect()

    def missing_settings(self, settings: Settings, config: CampaignConfig) -> list[str]:
        return settings.unset("mtt_login", "mtt_password", "mtt_sip_id")


class TtsChannel(SbCallChannel):
    name = "tts"

    def missing_settings(self, settings: Settings, config: CampaignConfig) -> list[str]:
        return settings.unset("mtt_login", "mtt_password", "mtt_sip_id", "mtt_informer_method")


class IvrChannel(SbCallChannel):
    name = "ivr"

    def menu(self, config: CampaignConfig, settings: Settings) -> tuple[MenuOption, ...]:
        url = notify_url(settings) or ""
        # notify, optout and callback all come back to us as a notify event.
        return tuple(
            MenuOption(item.digit, "transfer", item.to or "")
            if item.action == "transfer"
            else MenuOption(item.digit, "notify", url)
            for item in config.menu
        )

    def check_settings(self, settings: Settings, config: CampaignConfig) -> str | None:
        if not any(item.action != "transfer" for item in config.menu):
            return None
        url = notify_url(settings)
        if not settings.webhook_token.get_secret_value():
            return "set DIALER_WEBHOOK_TOKEN"
        if url is None:
            return "set DIALER_PUBLIC_URL (MTT posts menu choices there)"
        if not url.startswith("https://") and not settings.sandbox:
            return "DIALER_PUBLIC_URL must be https (MTT refuses other notify URLs)"
        return None


def _ivr_detail(attempt: Attempt, event: NormalizedEvent, config: CampaignConfig | None) -> Effect:
    """DTMF choices and transfer legs enrich the attempt (even a final one)."""
    fields: dict[str, object] = {}
    actions: list[Action] = []
    if event.dtmf is not None:
        fields["dtmf"] = str(event.dtmf)
        fields["dtmf_label"] = config.menu_label(event.dtmf) if config else None
        item = next((m for m in config.menu if m.digit == event.dtmf), None) if config else None
        if item is not None and item.action == "optout":
            actions.append(OptOut(source="ivr", reason="opt-out digit"))
        if item is not None and item.action == "callback" and item.campaign:
            actions.append(RequestCallback(item.campaign, item.digit))
    elif event.kind == EventKind.DTMF and attempt.dtmf is None:
        fields["dtmf_label"] = "no choice"
    if event.kind == EventKind.TRANSFER_STARTED:
        fields["transfer_number"] = event.number
    if event.kind == EventKind.TRANSFER_ENDED:
        fields["transfer_number"] = attempt.transfer_number or event.number
        fields["transfer_cause"] = event.cause
        fields["transfer_duration"] = event.duration
    dtmf = fields.get("dtmf", attempt.dtmf)
    contact = {
        "dtmf": dtmf,
        "dtmf_label": fields.get("dtmf_label", attempt.dtmf_label),
        "transfer_duration": fields.get("transfer_duration", attempt.transfer_duration),
    }
    return Effect(attempt=fields, contact=contact, actions=tuple(actions))
