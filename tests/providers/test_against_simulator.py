"""The provider clients against the built-in simulator over real HTTP: the two were written
from the docs independently, so agreement here checks both."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from dialer.errors import InvalidNumberError, ProviderAuthError, ProviderRefusedError
from dialer.providers.base import CallRequest, MenuOption, SmsRequest
from dialer.providers.msapi import MsapiClient
from dialer.providers.mtt_sb import MttSbClient
from dialer.providers.telecom import TelecomClient
from dialer.simulator.config import Override, SimulatorConfig
from dialer.simulator.server import SimulatorServer

CONFIG = SimulatorConfig(speed=1000, seed=5, overrides={"79160000001": Override(outcome="busy")})


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with SimulatorServer(CONFIG) as server:
        assert server.base_url is not None
        yield server.base_url


def sb(
    base: str, *, sip_id: str = CONFIG.sip_id, method: str = CONFIG.informer_method
) -> MttSbClient:
    return MttSbClient(
        f"{base}/v1/sb", CONFIG.login, CONFIG.password, sip_id, method, read_timeout=5
    )


def msapi(base: str) -> MsapiClient:
    return MsapiClient(base, CONFIG.account_sid, SecretStr(CONFIG.token.get_secret_value()))


def call(attempt_id: int, to: str = "79160000001", **kwargs: object) -> CallRequest:
    return CallRequest(
        attempt_id=attempt_id, to=to, caller_id="74950000000", text="Привет", **kwargs
    )  # type: ignore[arg-type]


def test_informer_and_ivr_calls_are_accepted(sim: str) -> None:
    async def run() -> tuple[str, str]:
        client = sb(sim)
        try:
            tts = await client.place_call(call(9001))
            ivr = await client.place_call(
                call(
                    9002,
                    menu=(
                        MenuOption(1, "notify", "https://example.ru/hook"),
                        MenuOption(3, "transfer", "74997090111"),
                    ),
                )
            )
            return tts.provider_id, ivr.provider_id
        finally:
            await client.aclose()

    tts_id, ivr_id = asyncio.run(run())
    assert len(tts_id) == 16
    assert tts_id != ivr_id


@pytest.mark.parametrize(
    ("client_kwargs", "request_kwargs", "error"),
    [
        ({"sip_id": "70000000000"}, {}, ProviderAuthError),  # the double-brace "Forbidden"
        ({"method": "nope"}, {}, ProviderAuthError),  # {"message": "access forbidden"}
    ],
)
def test_refusals_are_classified(
    sim: str,
    client_kwargs: dict[str, str],
    request_kwargs: dict[str, object],
    error: type[Exception],
) -> None:
    async def run() -> None:
        client = sb(sim, **client_kwargs)
        try:
            await client.place_call(call(9100, **request_kwargs))
        finally:
            await client.aclose()

    with pytest.raises(error):
        asyncio.run(run())


def test_non_https_notify_is_refused_by_the_simulator_too(sim: str) -> None:
    async def run() -> None:
        client = MttSbClient(
            f"{sim}/v1/sb",
            CONFIG.login,
            CONFIG.password,
            CONFIG.sip_id,
            CONFIG.informer_method,
            allow_http_notify=True,  # let it through our own check, to see MTT's answer
        )
        try:
            await client.place_call(call(9200, menu=(MenuOption(1, "notify", "http://plain"),)))
        finally:
            await client.aclose()

    with pytest.raises(ProviderRefusedError) as info:
        asyncio.run(run())
    assert info.value.campaign_level


def test_invalid_b_number_never_leaves_the_client() -> None:
    async def run() -> None:
        client = sb("http://127.0.0.1:9")  # nothing listens there: a request would fail
        try:
            await client.place_call(call(9300, to="7916000000"))
        finally:
            await client.aclose()

    with pytest.raises(InvalidNumberError):
        asyncio.run(run())


def test_sms_send_numbers_and_history(sim: str) -> None:
    async def run() -> tuple[str, set[str], list[str], list[str]]:
        client = msapi(sim)
        try:
            sent = await client.send_sms(
                SmsRequest(attempt_id=7, to="79161234567", sender="79587625012", text="hi")
            )
            senders = await client.out_numbers()
            listed = [m.message_sid async for m in client.iter_messages(direction="outbound")]
            one = await client.get_message(sent.provider_id)
            return sent.provider_id, senders, listed, [m.message_sid for m in one.messages]
        finally:
            await client.aclose()

    sid, senders, listed, one = asyncio.run(run())
    assert sid.startswith("msg")
    assert "79587625012" in senders
    assert sid in listed
    assert one == [sid]


def test_sms_from_a_number_that_is_not_ours_is_a_campaign_refusal(sim: str) -> None:
    async def run() -> None:
        client = msapi(sim)
        try:
            await client.send_sms(
                SmsRequest(attempt_id=8, to="79161234567", sender="79990000000", text="x")
            )
        finally:
            await client.aclose()

    with pytest.raises(ProviderRefusedError) as info:
        asyncio.run(run())
    assert info.value.campaign_level


def test_balance_and_call_history(sim: str) -> None:
    async def run() -> tuple[object, list[tuple[str | None, int | None]]]:
        calls = sb(sim)
        telecom = TelecomClient(f"{sim}/index.php", CONFIG.login, CONFIG.password)
        try:
            await calls.place_call(call(9400, to="79160000001"))
            await asyncio.sleep(0.5)  # busy at speed 1000: over in milliseconds
            balance = await telecom.get_customer_balance(CONFIG.customer_name)
            now = datetime.now(UTC)
            history = await telecom.get_call_history(
                CONFIG.sip_id, now - timedelta(minutes=5), now + timedelta(minutes=5)
            )
            return balance.balance, [(r.cld, r.disconnect_cause) for r in history.dialed]
        finally:
            await calls.aclose()
            await telecom.aclose()

    balance, dialed = asyncio.run(run())
    assert balance == pytest.approx(CONFIG.balance)
    assert ("79160000001", 17) in dialed
