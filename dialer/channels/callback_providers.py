"""The agent-callback providers, by the name a campaign file gives (``[callback] provider``):
what each needs from the settings, which rate account it spends, and how its client is
built. The one list to extend when a provider is added; its webhook routes go beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from dialer.channels.base import Hook
from dialer.providers.callback_base import CallbackClient
from dialer.settings import Settings

Transport = httpx.AsyncBaseTransport | None


@dataclass(frozen=True, slots=True)
class CallbackProvider:
    """``settings`` are the ``Settings`` fields it cannot work without; ``account`` names the
    rate-limit key (one per provider account, shared by every campaign and worker)."""

    name: str
    settings: tuple[str, ...]
    account: Callable[[Settings], str]
    build: Callable[[Settings, Transport], CallbackClient]
    reads_results: bool = False
    """The provider can say how a call ended (``CallbackClient.callback_result``); without
    it the final event's ``outcome`` decides, or the events seen."""
    hooks: tuple[Hook, ...] = ()


def _mtt(settings: Settings, transport: Transport) -> CallbackClient:
    from dialer.providers.factory import build_callback_client

    return build_callback_client(settings, transport)


CALLBACK_PROVIDERS: dict[str, CallbackProvider] = {
    "mtt": CallbackProvider(
        name="mtt",
        settings=("mtt_login", "mtt_password", "mtt_callback_customer_name"),
        account=lambda settings: f"mtt-callback:{settings.mtt_callback_customer_name}",
        build=_mtt,
        reads_results=True,
    ),
}
