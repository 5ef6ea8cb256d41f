"""The simulator's Bitrix24 portal: the REST webhook (``voximplant.callback.start``,
``voximplant.line.get``, its errors and request limit) driven by the dialer's own
``Bitrix24Client``, and the ``OnVoximplantCall*`` events read back with the dialer's parser."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr

from dialer.errors import (
    InvalidNumberError,
    ProviderAuthError,
    ProviderRefusedError,
    TransientProviderError,
)
from dialer.providers.base import NormalizedEvent
from dialer.providers.bitrix24 import Bitrix24Client
from dialer.providers.bitrix24_events import read_bitrix24_event
from dialer.providers.callback_base import CallbackRequest
from dialer.simulator import Override, SimulatorConfig, create_app, simulator_of_app
from dialer.simulator.bitrix24 import bitrix24_calls, portal_of
from dialer.simulator.bitrix24_plan import bitrix24_events, choose_bitrix24_plan
from dialer.simulator.callback_plan import CallbackOutcome
from dialer.simulator.config import Bitrix24Line
from dialer.simulator.state import Simulator

from .harness import Receiver, make_config, wait_until

T = TypeVar("T")
CONTACT = "79157775533"
LINE = "reg1332"
HOOK = "https://collector.test/hooks/t/bitrix24"
WEBHOOK = "http://portal.test/rest/1/sim0bitrix24code/"
APP_TOKEN = SecretStr("sim-bitrix24-application-token")


def config(**changes: Any) -> SimulatorConfig:
    return make_config(bitrix24_webhook_url=HOOK, **changes)


def request(contact: str = CONTACT, line: str = LINE) -> CallbackRequest:
    return CallbackRequest(contact, (line,), "Клиент Иванов, заявка 12", callback_url="")


def run(
    sim_config: SimulatorConfig,
    use: Callable[[Bitrix24Client, Simulator], Awaitable[T]],
    receiver: Receiver | None = None,
    *,
    webhook: str = WEBHOOK,
) -> T:
    hooks = receiver or Receiver()

    async def main() -> T:
        app = create_app(sim_config, webhook_transport=httpx.MockTransport(hooks.handle))
        async with app.router.lifespan_context(app):
            client = Bitrix24Client(SecretStr(webhook), transport=httpx.ASGITransport(app=app))
            try:
                return await use(client, simulator_of_app(app))
            finally:
                await client.aclose()

    return asyncio.run(main())


async def settle(sim: Simulator) -> None:
    await wait_until(lambda: sim.pending_tasks == 0)


def read_events(receiver: Receiver) -> list[NormalizedEvent]:
    return [
        read_bitrix24_event(hook.body, hook.content_type, expected_token=APP_TOKEN)
        for hook in receiver.hooks
    ]


SEQUENCES = {
    CallbackOutcome.CONNECTED: ("ONVOXIMPLANTCALLINIT", "ONVOXIMPLANTCALLSTART", "200"),
    CallbackOutcome.CONTACT_BUSY: ("ONVOXIMPLANTCALLINIT", "ONVOXIMPLANTCALLSTART", "486"),
    CallbackOutcome.CONTACT_NO_ANSWER: ("ONVOXIMPLANTCALLINIT", "ONVOXIMPLANTCALLSTART", "304"),
    CallbackOutcome.AGENT_NO_ANSWER: ("ONVOXIMPLANTCALLINIT", "304"),
}


@pytest.mark.parametrize(
    ("overrides", "answers", "outcome"),
    [
        ({CONTACT: Override(outcome="answered")}, True, CallbackOutcome.CONNECTED),
        ({CONTACT: Override(outcome="busy")}, True, CallbackOutcome.CONTACT_BUSY),
        ({CONTACT: Override(outcome="no_answer")}, True, CallbackOutcome.CONTACT_NO_ANSWER),
        ({CONTACT: Override(outcome="answered")}, False, CallbackOutcome.AGENT_NO_ANSWER),
    ],
)
def test_plans_and_their_events(
    overrides: dict[str, Override], answers: bool, outcome: CallbackOutcome
) -> None:
    from datetime import UTC, datetime

    line = Bitrix24Line(user_id=5, agent_answers=answers)
    plan = choose_bitrix24_plan(random.Random(3), config(overrides=overrides), CONTACT, LINE, line)
    assert plan.outcome is outcome
    events = bitrix24_events(
        plan,
        call_id="callback.x.1",
        line_id=LINE,
        line=line,
        contact=CONTACT,
        started_at=datetime(2026, 3, 17, tzinfo=UTC),
    )
    names = [e.fields["event"] for e in events[:-1]]
    assert (*names, events[-1].fields["data[CALL_FAILED_CODE]"]) == SEQUENCES[outcome]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert {e.fields["data[CALL_ID]"] for e in events} == {"callback.x.1"}
    end = events[-1].fields
    assert end["data[CALL_TYPE]"] == "4"
    assert end["data[PHONE_NUMBER]"] == f"+{CONTACT}"
    assert end["data[PORTAL_NUMBER]"] == LINE
    if outcome is CallbackOutcome.AGENT_NO_ANSWER:
        assert end["data[PORTAL_USER_ID]"] == "0"
        assert events[-1].at >= 20  # the line's queue rang out
    else:
        assert events[1].fields["data[USER_ID]"] == "5"


@pytest.mark.parametrize(
    ("contact", "status", "told", "talked"),
    [
        ("answered", "end_side_A", "connected", True),
        ("busy", "end_side_A", "busy", False),
        ("no_answer", "end_side_A", None, False),
    ],
)
def test_callback_end_to_end(contact: str, status: str, told: str | None, talked: bool) -> None:
    receiver = Receiver()
    lines = {LINE: Bitrix24Line(user_id=1, agent_answers=True)}
    sim_config = config(overrides={CONTACT: Override(outcome=contact)}, bitrix24_lines=lines)

    async def use(client: Bitrix24Client, sim: Simulator) -> str:
        submitted = await client.place_callback(request())
        await settle(sim)
        return submitted.provider_id

    call_id = run(sim_config, use, receiver)
    assert call_id.startswith("callback.")
    assert all(hook.method == "POST" and hook.url == HOOK for hook in receiver.hooks)
    assert all(hook.content_type == "application/x-www-form-urlencoded" for hook in receiver.hooks)
    assert "data%5BCALL_ID%5D=callback." in receiver.hooks[0].body
    events = read_events(receiver)
    assert [e.status for e in events] == ["start_side_A", "pickup_side_A", status]
    assert {e.provider_id for e in events} == {call_id}
    assert events[1].number == "1"
    assert events[-1].extra.get("outcome") == told
    if talked:
        assert (events[-1].duration or 0) > 0
    else:
        assert events[-1].duration is None


def test_nobody_takes_the_line() -> None:
    receiver = Receiver()
    lines = {LINE: Bitrix24Line(agent_answers=False)}

    async def use(client: Bitrix24Client, sim: Simulator) -> None:
        await client.place_callback(request())
        await settle(sim)

    run(config(bitrix24_lines=lines), use, receiver)
    events = read_events(receiver)
    assert [e.status for e in events] == ["start_side_A", "end_side_A"]
    assert events[-1].extra["failed_code"] == "304"
    assert "outcome" not in events[-1].extra  # the channel: no pickup -> agent_no_answer


def test_an_employee_on_a_callback_does_not_pick_up_another() -> None:
    receiver = Receiver()
    lines = {
        LINE: Bitrix24Line(user_id=3, agent_answers=True),
        "sip7": Bitrix24Line(user_id=3, agent_answers=True),  # the same employee
    }
    sim_config = config(
        overrides={CONTACT: Override(outcome="answered", transfer_seconds=100)},
        bitrix24_lines=lines,
        speed=50.0,
    )

    async def use(client: Bitrix24Client, sim: Simulator) -> list[str]:
        first = await client.place_callback(request())
        second = await client.place_callback(request(line="sip7"))
        await settle(sim)
        calls = bitrix24_calls(sim)
        return [calls[first.provider_id].plan.outcome, calls[second.provider_id].plan.outcome]

    assert run(sim_config, use, receiver) == [
        CallbackOutcome.CONNECTED,
        CallbackOutcome.AGENT_NO_ANSWER,
    ]


@pytest.mark.parametrize(
    ("callback", "webhook", "error", "campaign_level"),
    [
        (request(line="reg9"), WEBHOOK, ProviderRefusedError, True),  # Could not find line
        (request(contact="12"), WEBHOOK, InvalidNumberError, None),
        (request(), "http://portal.test/rest/1/wrongcode/", ProviderAuthError, None),
        (request(), "http://portal.test/rest/2/sim0bitrix24code/", ProviderAuthError, None),
    ],
)
def test_doc_faithful_refusals(
    callback: CallbackRequest, webhook: str, error: type[Exception], campaign_level: bool | None
) -> None:
    async def use(client: Bitrix24Client, sim: Simulator) -> None:
        await client.place_callback(callback)

    with pytest.raises(error) as caught:
        run(config(), use, webhook=webhook)
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level
    assert "wrongcode" not in str(caught.value)


def test_raw_answers() -> None:
    async def main() -> list[httpx.Response]:
        app = create_app(config())
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://portal.test"
            ) as http,
        ):
            base = "/rest/1/sim0bitrix24code"
            return [
                await http.post(f"{base}/voximplant.callback.start", json={}),
                await http.post(f"{base}/no.such.method.json", json={}),
                await http.get(f"{base}/voximplant.line.get.json"),
                await http.post(
                    f"{base}/voximplant.callback.start.json",
                    data={"FROM_LINE": LINE, "TO_NUMBER": CONTACT, "TEXT_TO_PRONOUNCE": "x"},
                ),
            ]

    answers = asyncio.run(main())
    missing_line, no_method, lines, form_start = answers
    assert (missing_line.status_code, missing_line.json()) == (
        400,
        {"error": "ERROR_CORE", "error_description": "Could not find line "},
    )
    assert no_method.status_code == 404
    assert no_method.json()["error"] == "ERROR_METHOD_NOT_FOUND"
    assert lines.json()["result"] == {
        "reg1332": "Cloud PBX",
        "reg151083": "Cloud PBX (9)",
        "sip7": "Office PBX 1",
    }
    assert "time" in lines.json()
    assert form_start.json()["result"]["RESULT"] is True


def test_line_get_through_the_client() -> None:
    async def use(client: Bitrix24Client, sim: Simulator) -> list[str]:
        return await client.missing_lines(("reg1332", "sip7", "reg404"))

    assert run(config(), use) == ["reg404"]


def test_query_limit_exceeded_is_a_503_the_client_backs_off_from() -> None:
    """The documented leaky bucket, shrunk to 3 requests: the 4th in a burst is refused."""

    async def use(client: Bitrix24Client, sim: Simulator) -> list[str]:
        results: list[str] = []
        for _ in range(5):
            try:
                await client.lines()
                results.append("ok")
            except TransientProviderError as exc:
                results.append(f"{exc.status_code} {exc}")
        return results

    results = run(config(bitrix24_query_limit=(0.001, 3)), use)
    limited = "503 voximplant.line.get: QUERY_LIMIT_EXCEEDED Too many requests"
    assert results == ["ok", "ok", "ok", limited, limited]


def test_the_bucket_drains_two_per_second() -> None:
    async def use(client: Bitrix24Client, sim: Simulator) -> list[bool]:
        from dialer.simulator.bitrix24 import _admitted

        portal = portal_of(sim)
        start = portal.drained_at
        burst = [_admitted(sim, start) for _ in range(51)]
        return [
            *burst[-2:],
            _admitted(sim, start + 0.49),  # not yet one request drained
            _admitted(sim, start + 0.51),  # one drained: one more admitted
            _admitted(sim, start + 0.52),
            _admitted(sim, start + 10.0),  # 2 per second: plenty again
        ]

    assert run(config(), use) == [True, False, False, True, False, True]
