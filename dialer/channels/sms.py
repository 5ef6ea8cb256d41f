"""The ``sms`` channel: msapi messages, their delivery statuses and inbound STOP replies.

Events: ``GET|POST /hooks/{token}/mtt/sms`` (a form body, or the query string for a GET).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

import httpx

from dialer.campaign.config import CampaignConfig
from dialer.campaign.templates import render
from dialer.channels.base import (
    Channel,
    ConfigLookup,
    DialContext,
    Effect,
    Hook,
    OptOut,
    TimeoutLookup,
)
from dialer.dnc import is_opt_out_text
from dialer.policy.classify import classify_sms, sms_status_advances
from dialer.providers.base import EventKind, NormalizedEvent, SmsProvider, SmsRequest, Submitted
from dialer.providers.events import parse_sms_body
from dialer.providers.msapi import MsapiClient
from dialer.settings import Settings

if TYPE_CHECKING:
    from dialer.db.models import Attempt


def _parse_sms(
    body: bytes, content_type: str | None, query: Mapping[str, str]
) -> list[NormalizedEvent]:
    return [parse_sms_body(body, content_type, query)]


class SmsChannel(Channel):
    name = "sms"
    actor = "send_sms"
    queue = "dialer.sms"
    provider = "msapi"
    pool = ("sms",)
    event_kinds = frozenset({EventKind.SMS_STATUS, EventKind.SMS_INBOUND})
    timeout_lookup: ClassVar[TimeoutLookup] = "sms_message"
    reached = "delivered"
    require_mobile = True
    hooks = (Hook("sms", "mtt/sms", frozenset({"GET", "POST"}), _parse_sms),)

    def account_key(self, settings: Settings, config: CampaignConfig) -> str:
        return f"msapi:{settings.msapi_account_sid}"

    def max_live(self, config: CampaignConfig) -> int | None:
        return None  # a message is not a line: only the rate limits it

    def build_provider(
        self,
        settings: Settings,
        config: CampaignConfig,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> MsapiClient:
        from dialer.providers.factory import build_sms_provider

        return build_sms_provider(settings, transport)

    async def send(self, client: object, ctx: DialContext, settings: Settings) -> Submitted:
        assert isinstance(client, SmsProvider)
        message = ctx.config.message
        request = SmsRequest(
            attempt_id=ctx.attempt_id,
            to=ctx.number,
            sender=message.caller_id,
            text=render(message.text, ctx.fields),
        )
        return await client.send_sms(request)

    def reduce(
        self, attempt: Attempt, event: NormalizedEvent, now: datetime, config: ConfigLookup
    ) -> Effect:
        if (
            event.kind != EventKind.SMS_STATUS
            or not event.status
            or not sms_status_advances(attempt.sms_status, event.status)
        ):
            return Effect()
        return Effect(
            attempt={"sms_status": event.status},
            contact={"sms_status": event.status},
            outcome=classify_sms(event.status),
        )

    def unattached(self, event: NormalizedEvent) -> Effect | None:
        if event.kind != EventKind.SMS_INBOUND:
            return None
        if event.sender and is_opt_out_text(event.text):
            stop = OptOut(source="sms", reason="inbound SMS stop", number=event.sender)
            return Effect(actions=(stop,))
        return Effect()

    def missing_settings(self, settings: Settings, config: CampaignConfig) -> list[str]:
        return settings.unset("msapi_account_sid", "msapi_token")

    async def check_account(self, settings: Settings, config: CampaignConfig) -> str | None:
        client = self.build_provider(settings, config)
        try:
            senders = await client.out_numbers()
        finally:
            await client.aclose()
        if config.message.caller_id not in senders:
            return (
                f"sender {config.message.caller_id} is not one of the msapi account's OUT numbers"
            )
        return None
