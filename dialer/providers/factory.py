"""Provider clients built from ``Settings``; called by entry points, never at import.

``transport`` replaces the network (tests pass ``httpx.MockTransport``; the sandbox its
in-process simulator). Timeouts come from ``http_connect_timeout``/``http_read_timeout``.
"""

from __future__ import annotations

import httpx

from dialer.providers.msapi import MsapiClient
from dialer.providers.mtt_callback import MttCallbackClient
from dialer.providers.mtt_sb import MttSbClient
from dialer.providers.telecom import TelecomClient
from dialer.settings import Settings


def build_call_provider(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> MttSbClient:
    """The sb-api client (informer and ivr-api calls); in sandbox mode IVR notify URLs may be
    plain http."""
    return MttSbClient(
        settings.mtt_sb_url,
        settings.mtt_login,
        settings.mtt_password,
        settings.mtt_sip_id,
        settings.mtt_informer_method,
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        transport=transport,
        allow_http_notify=settings.sandbox,
    )


def build_sms_provider(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> MsapiClient:
    """The msapi client; Basic auth is ``msapi_account_sid:msapi_token``."""
    return MsapiClient(
        settings.msapi_url,
        settings.msapi_account_sid,
        settings.msapi_token,
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        transport=transport,
    )


def build_telecom_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> TelecomClient:
    """The Telecom API (webapicommon) client; it shares the sb-api login and password, the
    only MTT credentials the settings hold."""
    return TelecomClient(
        settings.mtt_api_url,
        settings.mtt_login,
        settings.mtt_password,
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        transport=transport,
    )


def build_callback_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> MttCallbackClient:
    """The MTT CallBack client: the Telecom endpoint and login, the CallBack account."""
    return MttCallbackClient(
        settings.mtt_api_url,
        settings.mtt_login,
        settings.mtt_password,
        settings.mtt_callback_customer_name,
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        transport=transport,
    )
