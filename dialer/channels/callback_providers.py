"""The agent-callback providers, by the name a campaign file gives (``[callback] provider``):
what each needs from the settings, which rate account it spends, and how its client is
built. The one list to extend when a provider is added; its webhook routes go beside it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from dialer.channels.base import Hook
from dialer.providers.bitrix24_events import (
    bitrix24_parser,
    parse_bitrix24_events,
    redact_bitrix24_raw,
)
from dialer.providers.callback_base import CallbackClient
from dialer.providers.mtt_business_events import parse_mtt_business_events
from dialer.providers.uis_events import parse_uis_events
from dialer.settings import Settings

Transport = httpx.AsyncBaseTransport | None


@dataclass(frozen=True, slots=True)
class CallbackProvider:
    """``missing`` names the settings it lacks (environment names); ``check`` says why the
    settings cannot work (or ``None``); ``account`` names the rate-limit key (one per
    provider account, shared by every campaign and worker). What an ``agents`` entry looks
    like for each provider is the campaign file's business (``dialer.campaign.config``)."""

    name: str
    missing: Callable[[Settings], list[str]]
    account: Callable[[Settings], str]
    build: Callable[[Settings, Transport], CallbackClient]
    check: Callable[[Settings], str | None] = lambda settings: None
    check_agents: Callable[[CallbackClient, tuple[str, ...]], Awaitable[list[str]]] | None = None
    """A pre-flight look-up: the agents the provider's account does not know."""
    reads_results: bool = False
    """The provider can say how a call ended (``CallbackClient.callback_result``); without
    it the final event's ``outcome`` decides, or the events seen."""
    hooks: tuple[Hook, ...] = ()


def _mtt(settings: Settings, transport: Transport) -> CallbackClient:
    from dialer.providers.factory import build_callback_client

    return build_callback_client(settings, transport)


def _mtt_check(settings: Settings) -> str | None:
    from dialer.errors import ProviderRefusedError
    from dialer.providers.mtt_callback import callback_url_for_mtt

    try:
        callback_url_for_mtt(settings.public_url or "")
    except ProviderRefusedError as exc:
        return f"DIALER_PUBLIC_URL does not suit MTT's callBackURL: {exc}"
    return None


def _mtt_business(settings: Settings, transport: Transport) -> CallbackClient:
    from dialer.connections.mtt_business import token_source
    from dialer.providers.mtt_business import MttBusinessClient

    return MttBusinessClient(
        settings.mtt_business_api_url,
        token_source(settings),
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        transport=transport,
    )


def _bitrix24(settings: Settings, transport: Transport) -> CallbackClient:
    from dialer.providers.bitrix24 import build_bitrix24_client

    return build_bitrix24_client(settings, transport)


async def _unknown_lines(client: CallbackClient, agents: tuple[str, ...]) -> list[str]:
    from dialer.providers.bitrix24 import Bitrix24Client

    assert isinstance(client, Bitrix24Client)
    return await client.missing_lines(agents)


async def _unknown_workplaces(client: CallbackClient, agents: tuple[str, ...]) -> list[str]:
    from dialer.providers.mtt_business import MttBusinessClient

    assert isinstance(client, MttBusinessClient)
    return await client.missing_agents(agents)


def _bitrix24_account(settings: Settings) -> str:
    from dialer.providers.bitrix24_webhook import portal_host

    return "bitrix24:" + portal_host(settings.bitrix24_webhook_url.get_secret_value())


def _bitrix24_check(settings: Settings) -> str | None:
    from dialer.providers.bitrix24_webhook import parse_rest_webhook

    try:
        parse_rest_webhook(settings.bitrix24_webhook_url.get_secret_value())
    except ValueError as exc:
        return f"DIALER_BITRIX24_WEBHOOK_URL is not an inbound REST webhook URL: {exc}"
    return None


def _uis(settings: Settings, transport: Transport) -> CallbackClient:
    from dialer.providers.uis import build_uis_client

    return build_uis_client(settings, transport)


def _uis_missing(settings: Settings) -> list[str]:
    from dialer.providers.uis import missing_uis_credentials

    return settings.unset("uis_api_url") + missing_uis_credentials(settings)


def _uis_account(settings: Settings) -> str:
    from dialer.providers.uis import uis_account_key

    return uis_account_key(settings)


CALLBACK_PROVIDERS: dict[str, CallbackProvider] = {
    "mtt": CallbackProvider(
        name="mtt",
        missing=lambda s: s.unset("mtt_login", "mtt_password", "mtt_callback_customer_name"),
        account=lambda settings: f"mtt-callback:{settings.mtt_callback_customer_name}",
        build=_mtt,
        reads_results=True,
        check=_mtt_check,
    ),
    "bitrix24": CallbackProvider(
        name="bitrix24",
        missing=lambda s: s.unset("bitrix24_webhook_url", "bitrix24_application_token"),
        account=_bitrix24_account,
        build=_bitrix24,
        check=_bitrix24_check,
        check_agents=_unknown_lines,
        hooks=(
            Hook(
                "bitrix24",
                "bitrix24",
                frozenset({"POST"}),
                parse_bitrix24_events,
                bind=lambda s: bitrix24_parser(s.bitrix24_application_token),
                redact=redact_bitrix24_raw,
            ),
        ),
    ),
    "mtt_business": CallbackProvider(
        name="mtt_business",
        missing=lambda s: s.unset(
            "mtt_business_api_url",
            "mtt_business_client_id",
            "mtt_business_client_secret",
            "secret_key",
        ),
        account=lambda settings: f"mtt-business:{settings.mtt_business_client_id}",
        build=_mtt_business,
        check_agents=_unknown_workplaces,
        hooks=(Hook("mttbiz", "mtt-business", frozenset({"POST"}), parse_mtt_business_events),),
    ),
    "uis": CallbackProvider(
        name="uis",
        missing=_uis_missing,
        account=_uis_account,
        build=_uis,
        hooks=(Hook("uis", "uis", frozenset({"GET", "POST"}), parse_uis_events),),
    ),
}
