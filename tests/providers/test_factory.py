"""Clients built from settings talk to the configured URLs with the configured credentials."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
from pydantic import SecretStr

from dialer.providers.base import CallRequest, MenuOption, SmsRequest
from dialer.providers.factory import build_call_provider, build_sms_provider, build_telecom_client
from dialer.providers.http import mask_number
from dialer.settings import Settings


def make_settings(**changes: object) -> Settings:
    fields: dict[str, object] = {
        "mtt_sb_url": "https://sb.example/v1/sb",
        "mtt_login": "login",
        "mtt_password": SecretStr("pw"),
        "mtt_sip_id": "74996489150",
        "mtt_informer_method": "informer",
        "mtt_api_url": "https://rpc.example/index.php",
        "msapi_url": "https://sms.example",
        "msapi_account_sid": "acc1",
        "msapi_token": SecretStr("tok"),
    }
    fields.update(changes)
    return Settings(**fields)  # type: ignore[arg-type]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_factories_wire_urls_and_credentials() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "sb.example":
            return httpx.Response(200, json={"result": {"success": 1}, "CallID": "c1"})
        if request.url.host == "sms.example":
            return httpx.Response(201, json={"uri": "/v2/accounts/acc1/messages/msg1"})
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": {"balance": 5}})

    async def go() -> None:
        transport = httpx.MockTransport(handler)
        settings = make_settings()
        calls = build_call_provider(settings, transport)
        sms = build_sms_provider(settings, transport)
        telecom = build_telecom_client(settings, transport)
        await calls.place_call(CallRequest(1, "79103880489", "74950000000", "hi"))
        await sms.send_sms(SmsRequest(1, "79103880489", "74950000000", "hi"))
        await telecom.get_customer_balance("110000000")
        for client in (calls, sms, telecom):
            await client.aclose()

    asyncio.run(go())

    assert [str(r.url) for r in seen] == [
        "https://sb.example/v1/sb",
        "https://sms.example/v2/accounts/acc1/messages",
        "https://rpc.example/index.php",
    ]
    assert [r.headers["authorization"] for r in seen] == [
        basic("login", "pw"),
        basic("acc1", "tok"),
        basic("login", "pw"),
    ]
    assert json.loads(seen[0].content)["method"] == "informer"


def test_sandbox_allows_plain_http_notify_urls() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"result": {"success": 1}, "CallID": "c1"})

    menu = (MenuOption(1, "notify", "http://127.0.0.1:8080/hooks/t/mtt/ivr"),)
    request = CallRequest(1, "79103880489", "74950000000", "hi", menu=menu)
    sandbox = make_settings(sandbox=True)

    async def go() -> None:
        client = build_call_provider(sandbox, httpx.MockTransport(handler))
        await client.place_call(request)
        await client.aclose()

    asyncio.run(go())
    assert json.loads(seen[0].content)["data"]["dtmf"][0]["value"].startswith("http://")


def test_mask_number_keeps_first_four_and_last_two() -> None:
    assert mask_number("79103880489") == "7910*****89"
    assert mask_number("123456") == "******"
    assert mask_number("") == ""
