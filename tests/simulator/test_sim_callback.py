"""The simulator's MTT CallBack methods and events, read back with the dialer's own client
parsers (``read_make_call_answer``, ``read_call_info_answer``, ``parse_callback_event``)."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from dialer.errors import InvalidNumberError, ProviderAuthError, ProviderRefusedError
from dialer.providers.callback_events import CallbackEventKind, parse_callback_event
from dialer.providers.mtt_callback import (
    CallbackCallInfo,
    CallbackRequest,
    MttCallbackClient,
    build_make_call_params,
    read_call_info_answer,
    read_make_call_answer,
)
from dialer.simulator import Override, create_app, simulator_of_app
from dialer.simulator.callback import CALLBACK_CUSTOMER_NAME
from dialer.simulator.callback_plan import (
    CallbackOutcome,
    DialItem,
    call_info_failure,
    callback_events,
    choose_callback_plan,
)

from .harness import SB_AUTH, Harness, Receiver, make_config, run_sim, wait_until

AGENTS = ("74997090111", "74997090112")
CONTACT = "79157775533"
HOOK = "https://collector.test/hooks/t/mtt/callback"


def _params(**overrides: Any) -> dict[str, object]:
    fields: dict[str, Any] = {
        "contact": CONTACT,
        "agents": AGENTS,
        "whisper": "Клиент, заявка 1",
        "callback_url": HOOK,
        "contact_message": "Соединяем",
        "description": "attempt-1",
    }
    fields.update(overrides)
    return build_make_call_params(CallbackRequest(**fields), customer_name=CALLBACK_CUSTOMER_NAME)


def _rpc(method: str, params: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": "1", "method": method, "params": params}


SEQUENCES = {
    CallbackOutcome.CONNECTED: [
        "start_side_A",
        "pickup_side_A",
        "start_side_B",
        "start_talk",
        "end_side_B",
        "end_side_A",
    ],
    CallbackOutcome.CONTACT_BUSY: [
        "start_side_A",
        "pickup_side_A",
        "start_side_B",
        "end_side_B",
        "end_side_A",
    ],
    CallbackOutcome.CONTACT_NO_ANSWER: [
        "start_side_A",
        "pickup_side_A",
        "start_side_B",
        "end_side_B",
        "end_side_A",
    ],
    CallbackOutcome.AGENT_NO_ANSWER: ["start_side_A", "end_side_A"],
}


@pytest.mark.parametrize(
    ("overrides", "outcome", "failure"),
    [
        ({CONTACT: Override(outcome="answered")}, CallbackOutcome.CONNECTED, None),
        (
            {CONTACT: Override(outcome="busy")},
            CallbackOutcome.CONTACT_BUSY,
            "Call ended by cancel on side B",
        ),
        (
            {CONTACT: Override(outcome="no_answer")},
            CallbackOutcome.CONTACT_NO_ANSWER,
            "Call ended by timeout on side B",
        ),
        (
            {agent: Override(outcome="no_answer") for agent in AGENTS},
            CallbackOutcome.AGENT_NO_ANSWER,
            "Call ended by timeout on side A",
        ),
    ],
)
def test_plans_events_and_failures(
    overrides: dict[str, Override], outcome: CallbackOutcome, failure: str | None
) -> None:
    config = make_config(overrides=overrides)
    agents = [DialItem(number, 20, sequential=False) for number in AGENTS]
    plan = choose_callback_plan(random.Random(1), config, CONTACT, agents)
    assert plan.outcome is outcome
    events = callback_events(plan, "cid")
    assert [event.fields["event"] for event in events] == SEQUENCES[outcome]
    assert [event.at for event in events] == sorted(event.at for event in events)
    assert call_info_failure(plan) == failure
    if outcome is CallbackOutcome.AGENT_NO_ANSWER:
        assert plan.agent is None
        assert events[-1].at >= 20  # the agents rang out their timeout
    else:
        assert plan.agent in AGENTS


def test_sequential_ring_answers_with_the_first_willing_agent() -> None:
    config = make_config(overrides={CONTACT: Override(outcome="answered")})
    agents = [DialItem(number, 20, sequential=True) for number in AGENTS]
    for seed in range(5):
        plan = choose_callback_plan(random.Random(seed), config, CONTACT, agents)
        assert plan.agent in (AGENTS[0], None)


@pytest.mark.parametrize(
    ("contact", "outcome"),
    [("answered", CallbackOutcome.CONNECTED), ("busy", CallbackOutcome.CONTACT_BUSY)],
)
def test_callback_end_to_end(contact: str, outcome: CallbackOutcome) -> None:
    answers: list[httpx.Response] = []
    overrides = {CONTACT: Override(outcome=contact), AGENTS[0]: Override(outcome="answered")}

    async def scenario(h: Harness) -> None:
        made = await h.client.post(
            "/index.php", json=_rpc("makeCallBackCallFollowme", _params()), auth=SB_AUTH
        )
        call_id = read_make_call_answer(made.status_code, made.text).call_id
        await h.settle()
        info = await h.client.post(
            "/index.php",
            json=_rpc(
                "getCallBackFollowmeCallInfo",
                {"customer_name": CALLBACK_CUSTOMER_NAME, "callBackCall_id": call_id},
            ),
            auth=SB_AUTH,
        )
        answers.extend([made, info])

    receiver_hooks: list[Any] = []

    async def run(h: Harness) -> None:
        await scenario(h)
        receiver_hooks.extend(h.receiver.hooks)

    run_sim(make_config(overrides=overrides), run)
    call_id = read_make_call_answer(200, answers[0].text).call_id
    assert all(hook.method == "GET" for hook in receiver_hooks)
    assert all(
        hook.url.startswith("http://collector.test/hooks/t/mtt/callback/event.php?")
        for hook in receiver_hooks
    )
    events = [parse_callback_event(httpx.URL(hook.url).query.decode()) for hook in receiver_hooks]
    assert [event.name for event in events] == SEQUENCES[outcome]
    assert {event.call_id for event in events} == {call_id}
    pickup = next(e for e in events if e.kind is CallbackEventKind.PICKUP_SIDE_A)
    assert pickup.phone == AGENTS[0]  # sent as a literal '+', read back as a space
    assert "phone_A=+74997090111" in receiver_hooks[1].url

    info = read_call_info_answer(answers[1].status_code, answers[1].text)
    if outcome is CallbackOutcome.CONNECTED:
        assert info.talked
        assert info.agent == f"+{AGENTS[0]}"
        assert info.description == "attempt-1"
        assert info.cost is not None
        assert info.cost > Decimal(0)
    else:
        assert (info.ended_by, info.failed_side) == ("cancel", "B")


@pytest.mark.parametrize(
    ("params", "error", "campaign_level"),
    [
        (_params(contact="12"), InvalidNumberError, None),
        (_params(agents=("123",)), ProviderRefusedError, True),
        ({**_params(), "customer_name": "110000000"}, ProviderAuthError, None),
        ({**_params(), "callBackURL": "https://collector.test/x"}, ProviderRefusedError, False),
    ],
)
def test_doc_faithful_refusals(
    params: dict[str, object], error: type[Exception], campaign_level: bool | None
) -> None:
    answers: list[httpx.Response] = []

    async def scenario(h: Harness) -> None:
        answers.append(
            await h.client.post(
                "/index.php", json=_rpc("makeCallBackCallFollowme", params), auth=SB_AUTH
            )
        )

    run_sim(make_config(), scenario)
    (answer,) = answers
    assert answer.status_code == 200
    with pytest.raises(error) as caught:
        read_make_call_answer(answer.status_code, answer.text)
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level


def test_the_client_against_the_simulator() -> None:
    """``MttCallbackClient`` over HTTP (Basic auth, JSON-RPC) to the in-process simulator."""
    receiver = Receiver()
    config = make_config(overrides={CONTACT: Override(outcome="no_answer")})

    async def main() -> CallbackCallInfo:
        app = create_app(config, webhook_transport=httpx.MockTransport(receiver.handle))
        async with app.router.lifespan_context(app):
            client = MttCallbackClient(
                "http://mtt.test/index.php",
                SB_AUTH[0],
                SecretStr(SB_AUTH[1]),
                CALLBACK_CUSTOMER_NAME,
                transport=httpx.ASGITransport(app=app),
            )
            try:
                submitted = await client.make_call(
                    CallbackRequest(CONTACT, AGENTS, "Клиент", HOOK, record=True)
                )
                sim = simulator_of_app(app)
                await wait_until(lambda: sim.pending_tasks == 0)
                return await client.get_call_info(submitted.call_id)
            finally:
                await client.aclose()

    info = asyncio.run(main())
    assert (info.ended_by, info.failed_side) == ("timeout", "B")
    assert [parse_callback_event(httpx.URL(h.url).query.decode()).name for h in receiver.hooks][
        -1
    ] == "end_side_A"


def test_an_agent_on_another_callback_does_not_pick_up() -> None:
    """A faithful PBX: an agent talking to one contact cannot take a second callback."""
    from dialer.simulator.callback_plan import CallbackOutcome, DialItem, choose_callback_plan
    from dialer.simulator.config import SimulatorConfig

    config = SimulatorConfig(seed=1)
    agents = [DialItem("74997090111", 20, False), DialItem("74997090112", 20, False)]
    rng = random.Random(5)
    for _ in range(50):
        plan = choose_callback_plan(
            rng, config, "79161234567", agents, busy=frozenset({"74997090111"})
        )
        assert plan.agent != "74997090111"
    everyone_busy = frozenset(a.number for a in agents)
    plan = choose_callback_plan(rng, config, "79161234567", agents, busy=everyone_busy)
    assert (plan.outcome, plan.agent) == (CallbackOutcome.AGENT_NO_ANSWER, None)
