"""The simulator's MTT Business Open API (OAuth server, makeCall, workplacesInfo, call
notifications), driven by the dialer's own clients and parser."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from dialer.errors import (
    GrantLapsedError,
    InvalidNumberError,
    ProviderAuthError,
    ProviderRefusedError,
    TransientProviderError,
)
from dialer.providers.base import NormalizedEvent, Submitted
from dialer.providers.callback_base import CallbackRequest
from dialer.providers.mtt_business import MttBusinessClient, StaticTokenSource, Workplace
from dialer.providers.mtt_business_events import (
    PlacedCallback,
    match_notification,
    parse_mtt_business_events,
)
from dialer.providers.mtt_business_oauth import SCOPE, OAuthClient, TokenSet
from dialer.simulator import Override, create_app, simulator_of_app
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.state import Simulator

from .harness import Receiver, make_config, wait_until

BASE = "http://mtt.test"
OAUTH_URL = f"{BASE}/mtt-business"
API_URL = f"{BASE}/mtt-business/api"
HOOK = "https://collector.test/hooks/t/mtt-business"
REDIRECT = HOOK  # the Redirect URI is also where notifications go (doc 7.3)
CLIENT_ID = "ccb350cc-6218-40b0-b134-3d290f00b9e7"
SECRET = SecretStr("sim-mtt-business-secret")
WORKPLACE = "883140582526566"
OTHER_WORKPLACE = "88314077716581"
CONTACT = "79219462761"


def config(**changes: Any) -> SimulatorConfig:
    account = changes.pop("mtt_business", {})
    return make_config(mtt_business_webhook_url=HOOK, mtt_business=account, **changes)


@dataclass
class World:
    app: Any
    sim: Simulator
    http: httpx.AsyncClient
    oauth: OAuthClient
    receiver: Receiver

    def api(self, tokens: Any) -> MttBusinessClient:
        return MttBusinessClient(API_URL, tokens, transport=httpx.ASGITransport(app=self.app))

    async def connect(self, state: str = "st-1") -> TokenSet:
        """What ``dialer connect`` does: the person approves, the code is exchanged."""
        answer = await self.http.get(self.oauth.authorize_url(state))
        assert answer.status_code == 302
        query = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
        assert query["state"] == state
        return await self.oauth.exchange_code(query["code"])

    async def counters(self) -> dict[str, int]:
        return (await self.http.get("/_sim/mtt-business")).json()  # type: ignore[no-any-return]

    async def expire(self, **which: bool) -> None:
        await self.http.post("/_sim/mtt-business/expire", json=which)

    def events(self) -> list[NormalizedEvent]:
        return [
            event
            for hook in self.receiver.hooks
            for event in parse_mtt_business_events(hook.body.encode(), hook.content_type, {})
        ]


def run(cfg: SimulatorConfig, scenario: Callable[[World], Awaitable[None]]) -> None:
    receiver = Receiver()

    async def main() -> None:
        app = create_app(cfg, webhook_transport=httpx.MockTransport(receiver.handle))
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=BASE) as http,
        ):
            oauth = OAuthClient(OAUTH_URL, CLIENT_ID, SECRET, REDIRECT, transport=transport)
            try:
                await scenario(World(app, simulator_of_app(app), http, oauth, receiver))
            finally:
                await oauth.aclose()

    asyncio.run(main())


class MemoryTokens:
    """A token source like the lead's store, in memory: one refresh at a time, and none
    when another caller already replaced the rejected token."""

    def __init__(self, oauth: OAuthClient, tokens: TokenSet) -> None:
        self.oauth = oauth
        self.tokens = tokens
        self.lock = asyncio.Lock()
        self.refreshes = 0

    async def access_token(self) -> str:
        return self.tokens.access_token

    async def refreshed(self, rejected: str) -> str:
        async with self.lock:
            if self.tokens.access_token == rejected:
                self.tokens = await self.oauth.refresh(self.tokens.refresh_token)
                self.refreshes += 1
            return self.tokens.access_token


def request(contact: str = CONTACT, workplace: str = WORKPLACE) -> CallbackRequest:
    return CallbackRequest(contact=contact, agents=(workplace,), whisper="Клиент", callback_url="")


def test_connect_exchange_and_refresh() -> None:
    async def scenario(w: World) -> None:
        first = await w.connect()
        assert first.scope == "https://mtt.ru/auth/openapi.readwrite"  # as 8.2 prints it
        second = await w.oauth.refresh(first.refresh_token)
        assert second.scope == SCOPE  # 8.3's, spaces stripped
        assert second.access_token != first.access_token
        assert (await w.counters())["refresh_uses"] == 1
        # A refresh token is good once: the second use is refused and counted.
        with pytest.raises(GrantLapsedError):
            await w.oauth.refresh(first.refresh_token)
        counters = await w.counters()
        assert (counters["refresh_uses"], counters["refresh_rejected"]) == (1, 1)
        await w.oauth.refresh(second.refresh_token)
        assert (await w.counters())["refresh_uses"] == 2

    run(config(), scenario)


def test_a_code_is_good_once_and_for_its_redirect_uri() -> None:
    async def scenario(w: World) -> None:
        answer = await w.http.get(w.oauth.authorize_url("s"))
        code = dict(parse_qsl(urlsplit(answer.headers["location"]).query))["code"]
        other = OAuthClient(
            OAUTH_URL, CLIENT_ID, SECRET, REDIRECT + "/x", transport=w.http._transport
        )
        try:
            with pytest.raises(GrantLapsedError):  # another redirect_uri: invalid_grant
                await other.exchange_code(code)
        finally:
            await other.aclose()
        with pytest.raises(GrantLapsedError):  # the code was spent by that attempt
            await w.oauth.exchange_code(code)
        with pytest.raises(GrantLapsedError):
            await w.oauth.exchange_code("never-issued")

    run(config(), scenario)


def test_wrong_client_credentials_are_not_a_lapsed_grant() -> None:
    async def scenario(w: World) -> None:
        tokens = await w.connect()
        wrong = OAuthClient(
            OAUTH_URL, CLIENT_ID, SecretStr("nope"), REDIRECT, transport=w.http._transport
        )
        try:
            with pytest.raises(ProviderAuthError) as caught:
                await wrong.refresh(tokens.refresh_token)
        finally:
            await wrong.aclose()
        assert type(caught.value) is ProviderAuthError
        assert caught.value.status_code == 401

    run(config(), scenario)


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ({"client_id": "someone-else"}, 400, None),
        ({"redirect_uri": "https://elsewhere.test/cb"}, 400, None),
        ({"scope": "https://mtt.ru/other"}, 302, "invalid_scope"),
        ({"response_type": "token"}, 302, "unsupported_response_type"),
    ],
)
def test_authorize_refusals(query: dict[str, str], status: int, error: str | None) -> None:
    async def scenario(w: World) -> None:
        params = {
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "scope": SCOPE,
            "response_type": "code",
            "state": "s9",
            **query,
        }
        answer = await w.http.get("/mtt-business/oauth/authorize", params=params)
        assert answer.status_code == status
        if error is not None:
            location = answer.headers["location"]
            assert location.startswith(REDIRECT + "?")
            assert dict(parse_qsl(urlsplit(location).query)) == {"error": error, "state": "s9"}

    run(config(mtt_business={"redirect_uri": REDIRECT}), scenario)


def test_a_lapsed_refresh_token_raises_grant_lapsed() -> None:
    async def scenario(w: World) -> None:
        tokens = await w.connect()
        await w.expire(access=True, refresh=True)
        client = w.api(MemoryTokens(w.oauth, tokens))
        try:
            with pytest.raises(GrantLapsedError, match="reconnect MTT Business"):
                await client.place_callback(request())
        finally:
            await client.aclose()
        counters = await w.counters()
        assert (counters["refresh_uses"], counters["refresh_rejected"]) == (0, 1)
        assert counters["make_calls"] == 0

    run(config(), scenario)


def test_a_token_expiring_mid_use_is_refreshed_once_and_the_call_goes_through_once() -> None:
    submitted: list[Submitted] = []

    async def scenario(w: World) -> None:
        tokens = MemoryTokens(w.oauth, await w.connect())
        client = w.api(tokens)
        try:
            submitted.append(await client.place_callback(request()))
            await w.expire(access=True)
            submitted.append(await client.place_callback(request(workplace=OTHER_WORKPLACE)))
        finally:
            await client.aclose()
        counters = await w.counters()
        assert tokens.refreshes == 1
        assert counters["refresh_uses"] == 1
        assert counters["refresh_rejected"] == 0
        assert counters["api_unauthorized"] == 1
        assert counters["make_calls"] == 2  # the refused request placed nothing

    run(config(), scenario)
    assert len({s.provider_id for s in submitted}) == 2


def test_concurrent_calls_on_an_expired_token_share_one_refresh() -> None:
    async def scenario(w: World) -> None:
        tokens = MemoryTokens(w.oauth, await w.connect())
        await w.expire(access=True)
        client = w.api(tokens)
        try:
            workplaces = list(w.sim.config.mtt_business.workplaces)
            await asyncio.gather(*(client.place_callback(request(workplace=p)) for p in workplaces))
        finally:
            await client.aclose()
        counters = await w.counters()
        assert (counters["refresh_uses"], counters["refresh_rejected"]) == (1, 0)
        assert counters["make_calls"] == 3

    run(config(mtt_business={"rps_limit": None}), scenario)


def test_access_tokens_live_their_configured_seconds() -> None:
    async def scenario(w: World) -> None:
        tokens = await w.connect()
        client = w.api(StaticTokenSource(tokens.access_token))
        try:
            assert await client.workplaces()
            await asyncio.sleep(0.3)
            with pytest.raises(ProviderAuthError):  # 401; a static token cannot be refreshed
                await client.workplaces()
        finally:
            await client.aclose()

    run(config(mtt_business={"access_token_seconds": 0.2}), scenario)


def test_workplaces_and_make_call_refusals() -> None:
    async def scenario(w: World) -> None:
        client = w.api(StaticTokenSource((await w.connect()).access_token))
        try:
            assert await client.workplaces() == [
                Workplace("883140582526566", "Администратор"),
                Workplace("88314077716581", "Оператор 1"),
                Workplace("883140777380595", "Оператор 2"),
            ]
            assert await client.missing_agents((WORKPLACE, "74997090111")) == ["74997090111"]
            with pytest.raises(ProviderRefusedError) as refused:
                await client.place_callback(request(workplace="74997090111"))
            assert refused.value.campaign_level
            with pytest.raises(InvalidNumberError):  # refused by the API, not by the client
                await client.place_callback(request(contact="123456"))
        finally:
            await client.aclose()
        assert (await w.counters())["make_calls"] == 0

    run(config(), scenario)


def test_the_make_call_answer_is_printed_as_the_doc_prints_it() -> None:
    async def scenario(w: World) -> None:
        token = (await w.connect()).access_token
        answer = await w.http.post(
            "/mtt-business/api/makeCall",
            json={"params": {"calleid": "89219462761", "callerId": WORKPLACE}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200
        assert answer.text.rstrip().endswith("},\n}")  # 10.3.1's trailing comma
        with pytest.raises(json.JSONDecodeError):
            json.loads(answer.text)
        unauthorized = await w.http.post("/mtt-business/api/makeCall", json={})
        assert unauthorized.status_code == 401

    run(config(), scenario)


def test_the_integration_is_limited_to_five_requests_a_second() -> None:
    async def scenario(w: World) -> None:
        client = w.api(StaticTokenSource((await w.connect()).access_token))
        try:
            for _ in range(5):
                await client.workplaces()
            with pytest.raises(TransientProviderError):
                await client.workplaces()
        finally:
            await client.aclose()
        assert (await w.counters())["api_rate_limited"] == 1

    run(config(), scenario)


SEQUENCES = {
    "connected": [
        "start_side_A",
        "start_side_A",
        "pickup_side_A",
        "hiding",
        "end_side_A",
        "recorded",
    ],
    "busy": ["start_side_A", "start_side_A", "pickup_side_A", "hiding", "end_side_A"],
    "no_answer": ["start_side_A", "start_side_A", "pickup_side_A", "hiding", "end_side_A"],
    "agent_no_answer": ["start_side_A", "start_side_A", "end_side_A"],
}


@pytest.mark.parametrize(
    ("account", "contact", "sequence"),
    [
        ({}, "answered", "connected"),
        ({}, "busy", "busy"),
        ({}, "no_answer", "no_answer"),
        ({"silent_workplaces": [WORKPLACE]}, "answered", "agent_no_answer"),
    ],
)
def test_notifications_of_each_outcome(
    account: dict[str, Any], contact: str, sequence: str
) -> None:
    placed_at = datetime.now(UTC)
    results: dict[str, Any] = {}

    async def scenario(w: World) -> None:
        client = w.api(StaticTokenSource((await w.connect()).access_token))
        try:
            results["submitted"] = await client.place_callback(request())
        finally:
            await client.aclose()
        await wait_until(lambda: w.sim.pending_tasks == 0)
        results["events"] = w.events()
        results["hooks"] = list(w.receiver.hooks)

    cfg = config(overrides={CONTACT: Override(outcome=contact)}, mtt_business=account)
    run(cfg, scenario)
    events: list[NormalizedEvent] = results["events"]
    assert [event.status for event in events] == SEQUENCES[sequence]
    assert all(hook.method == "POST" and hook.url == HOOK for hook in results["hooks"])
    assert all(hook.content_type == "application/json" for hook in results["hooks"])
    final = next(event for event in events if event.status == "end_side_A")
    if sequence == "connected":
        assert final.extra["outcome"] == "connected"
        assert final.duration is not None
        assert final.duration > 0
        assert events[-1].extra["record_url"].endswith(".mp3")
    else:
        assert "outcome" not in final.extra
    if sequence != "agent_no_answer":
        pickup = next(event for event in events if event.status == "pickup_side_A")
        assert pickup.number == WORKPLACE
    # The notifications do not repeat makeCall's id; they match by contact and time, and
    # then by their own id.
    submitted: Submitted = results["submitted"]
    assert submitted.provider_id not in {event.provider_id for event in events}
    attempt = PlacedCallback(17, CONTACT, WORKPLACE, placed_at)
    first = events[0]
    assert match_notification(first, [attempt], received_at=placed_at) == 17
    known = PlacedCallback(
        17,
        CONTACT,
        WORKPLACE,
        placed_at,
        frozenset({submitted.provider_id, first.provider_id or ""}),
    )
    assert all(match_notification(e, [known], received_at=placed_at) == 17 for e in events)


def test_a_workplace_on_another_call_does_not_answer() -> None:
    statuses: list[list[str | None]] = []

    async def scenario(w: World) -> None:
        client = w.api(StaticTokenSource((await w.connect()).access_token))
        try:
            first = await client.place_callback(request())
            await wait_until(
                lambda: any(e.status == "pickup_side_A" for e in w.events()), timeout=10
            )
            second = await client.place_callback(request(contact="79161234567"))
        finally:
            await client.aclose()
        await wait_until(lambda: w.sim.pending_tasks == 0)
        by_contact: dict[str, list[str | None]] = {}
        for event in w.events():
            by_contact.setdefault(event.extra.get("contact", ""), []).append(event.status)
        statuses.extend([by_contact[CONTACT], by_contact["79161234567"]])
        assert first.provider_id != second.provider_id

    overrides = {CONTACT: Override(outcome="answered", transfer_seconds=60)}
    run(config(overrides=overrides, speed=200.0), scenario)
    assert "pickup_side_A" in statuses[0]
    assert statuses[1] == ["start_side_A", "start_side_A", "end_side_A"]


def test_reset_forgets_tokens_and_counters() -> None:
    async def scenario(w: World) -> None:
        tokens = await w.connect()
        await w.oauth.refresh(tokens.refresh_token)
        assert (await w.counters())["refresh_uses"] == 1
        await w.http.post("/_sim/reset")
        counters = await w.counters()
        assert counters["refresh_uses"] == 0
        assert counters["access_tokens_valid"] == 0

    run(config(), scenario)


def test_over_real_http() -> None:
    """The same flow through uvicorn, so the routes work outside ASGI tests too."""
    from dialer.simulator import SimulatorServer

    with SimulatorServer(config()) as server:
        base = server.base_url
        assert base is not None

        async def main() -> str:
            oauth = OAuthClient(f"{base}/mtt-business", CLIENT_ID, SECRET, REDIRECT)
            try:
                async with httpx.AsyncClient() as http:
                    answer = await http.get(oauth.authorize_url("x"))
                code = dict(parse_qsl(urlsplit(answer.headers["location"]).query))["code"]
                tokens = await oauth.exchange_code(code)
            finally:
                await oauth.aclose()
            client = MttBusinessClient(
                f"{base}/mtt-business/api", StaticTokenSource(tokens.access_token)
            )
            try:
                return (await client.place_callback(request())).provider_id
            finally:
                await client.aclose()

        started = time.monotonic()
        assert "@" in asyncio.run(main())
        assert time.monotonic() - started < 10


def _shape(value: object) -> object:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__


@pytest.mark.parametrize("state", ["trying", "showing", "connected", "hiding", "finished"])
def test_notification_bodies_have_the_shape_of_the_docs_examples(state: str) -> None:
    """Keys and value types as in 10.1.2 and 10.1.4-10.1.7's outgoing examples."""
    from dialer.simulator.mtt_business_plan import BusinessLeg, NotificationPlan, notification_body
    from tests.providers.test_mtt_business_events import outgoing

    leg = BusinessLeg("SDx-1@127.0.0.1", "sdx-1", WORKPLACE, CONTACT, "78005560251")
    finished = state == "finished"
    item = NotificationPlan(0.0, state, 3 if finished else None, "r" if finished else None)
    at = datetime(2020, 6, 24, 12, 1, 45, tzinfo=UTC)
    body = notification_body(item, leg, at)
    extra = {"duration": 3, "reason": "r", "reasonCode": None} if finished else {}
    doc = outgoing(state, "+79219462761", None if finished else "2020-06-24 15:01:45", **extra)
    assert _shape(body) == _shape(doc)
    if not finished:
        assert body["result"]["callInfo"]["startTime"] == "2020-06-24 15:01:45"  # type: ignore[index]
