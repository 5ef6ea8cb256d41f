"""The simulator's UIS Call API (``login.user``, ``start.simple_call``) and notifications,
driven by the dialer's own ``UisClient`` and read back with ``parse_uis_events``."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from dialer.errors import (
    ContactBlockedError,
    InvalidNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    TransientProviderError,
)
from dialer.providers.base import NormalizedEvent
from dialer.providers.callback_base import CallbackRequest
from dialer.providers.uis import UisClient
from dialer.providers.uis_answers import read_simple_call_answer
from dialer.providers.uis_events import parse_uis_events
from dialer.simulator import Override, create_app, simulator_of_app
from dialer.simulator.callback_plan import CallbackOutcome
from dialer.simulator.config import SimulatorConfig
from dialer.simulator.uis import FIRST_CALL_SESSION_ID, expire_sessions, uis_calls_of
from dialer.simulator.uis_plan import UisCallSpec, choose_uis_plan, uis_notifications

from .harness import Receiver, make_config, wait_until

T = TypeVar("T")
API = "http://uis.test/uis/v4.0"
HOOK = "https://collector.test/hooks/t/uis"
VIRTUAL = "74993720692"
OPERATOR = "79262444491"
CONTACT = "79260000000"
LOGIN = ("sim-uis-login", SecretStr("sim-uis-password"))

SEQUENCES = {
    CallbackOutcome.CONNECTED: [
        "start_side_A",
        "start_side_A",
        "pickup_side_A",
        "start_side_B",
        "start_talk",
        "end_side_B",
        "talk_finished",
        "end_side_A",
    ],
    CallbackOutcome.CONTACT_BUSY: [
        "start_side_A",
        "start_side_A",
        "pickup_side_A",
        "start_side_B",
        "talk_finished",
        "end_side_A",
    ],
    CallbackOutcome.CONTACT_NO_ANSWER: [
        "start_side_A",
        "start_side_A",
        "pickup_side_A",
        "start_side_B",
        "talk_finished",
        "end_side_A",
    ],
    CallbackOutcome.AGENT_NO_ANSWER: ["start_side_A", "start_side_A", "end_side_A"],
}
OVERRIDES = {
    CallbackOutcome.CONNECTED: {CONTACT: Override(outcome="answered", transfer_seconds=42)},
    CallbackOutcome.CONTACT_BUSY: {CONTACT: Override(outcome="busy")},
    CallbackOutcome.CONTACT_NO_ANSWER: {CONTACT: Override(outcome="no_answer")},
    CallbackOutcome.AGENT_NO_ANSWER: {OPERATOR: Override(outcome="no_answer")},
}


def _config(**changes: Any) -> SimulatorConfig:
    return make_config(uis_webhook_url=HOOK, **changes)


def _request(**changes: Any) -> CallbackRequest:
    fields: dict[str, Any] = {
        "contact": CONTACT,
        "agents": (OPERATOR,),
        "whisper": "Клиент Иван",
        "callback_url": "",
        "caller_id": VIRTUAL,
        "contact_message": "Соединяем",
        "description": "17",
    }
    fields.update(changes)
    return CallbackRequest(**fields)


def _spec() -> UisCallSpec:
    return UisCallSpec(FIRST_CALL_SESSION_ID, OPERATOR, CONTACT, VIRTUAL, "17")


def _run(
    config: SimulatorConfig,
    scenario: Callable[[UisClient, Starlette], Awaitable[T]],
    receiver: Receiver | None = None,
    **client: Any,
) -> T:
    hooks = receiver or Receiver()

    async def main() -> T:
        app = create_app(config, webhook_transport=httpx.MockTransport(hooks.handle))
        async with app.router.lifespan_context(app):
            auth = client or {"login": LOGIN[0], "password": LOGIN[1]}
            uis = UisClient(API, transport=httpx.ASGITransport(app=app), **auth)
            try:
                return await scenario(uis, app)
            finally:
                await uis.aclose()

    return asyncio.run(main())


async def _settle(app: Starlette) -> None:
    sim = simulator_of_app(app)
    await wait_until(lambda: sim.pending_tasks == 0)


def _events(receiver: Receiver) -> list[NormalizedEvent]:
    parsed: list[NormalizedEvent] = []
    for hook in receiver.hooks:
        query = dict(httpx.URL(hook.url).params)
        parsed.extend(parse_uis_events(hook.body.encode(), hook.content_type, query))
    return parsed


@pytest.mark.parametrize("outcome", list(CallbackOutcome))
def test_plans_and_notifications(outcome: CallbackOutcome) -> None:
    config = _config(overrides=OVERRIDES[outcome])
    plan = choose_uis_plan(random.Random(1), config, _spec(), frozenset())
    assert plan.outcome is outcome
    notes = uis_notifications(plan, _spec())
    assert [n.at for n in notes] == sorted(n.at for n in notes)
    assert notes[-1].event == "call_finished"
    assert notes[-1].values["talk_time_duration"] == plan.talk_seconds
    if outcome is CallbackOutcome.AGENT_NO_ANSWER:
        assert notes[-1].at >= 30  # the operator rang out


def test_an_operator_on_another_call_does_not_pick_up() -> None:
    config = _config(overrides={OPERATOR: Override(outcome="answered")})
    plan = choose_uis_plan(random.Random(1), config, _spec(), frozenset({OPERATOR}))
    assert plan.outcome is CallbackOutcome.AGENT_NO_ANSWER


@pytest.mark.parametrize("outcome", list(CallbackOutcome))
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_end_to_end(method: str, outcome: CallbackOutcome) -> None:
    receiver = Receiver()

    async def scenario(client: UisClient, app: Starlette) -> str:
        submitted = await client.place_callback(_request())
        await _settle(app)
        return submitted.provider_id

    call_id = _run(
        _config(overrides=OVERRIDES[outcome], uis_webhook_method=method), scenario, receiver
    )
    assert call_id == str(FIRST_CALL_SESSION_ID)
    assert {hook.method for hook in receiver.hooks} == {method}
    events = _events(receiver)
    assert [event.status for event in events] == SEQUENCES[outcome]
    assert {event.provider_id for event in events} == {call_id}
    assert {event.attempt_id for event in events} == {17}
    assert all(event.occurred_at is not None for event in events)
    final = events[-1]
    if outcome is CallbackOutcome.CONNECTED:
        assert (final.extra.get("outcome"), final.duration) == ("connected", 42)
        assert next(e for e in events if e.status == "end_side_B").duration == 42
    else:
        assert "outcome" not in final.extra
    if outcome is not CallbackOutcome.AGENT_NO_ANSWER:
        assert next(e for e in events if e.status == "pickup_side_A").number == OPERATOR


def test_the_permanent_key() -> None:
    async def scenario(client: UisClient, app: Starlette) -> str:
        return (await client.place_callback(_request())).provider_id

    key = {"access_token": SecretStr("sim-uis-key")}
    assert _run(_config(), scenario, **key) == str(FIRST_CALL_SESSION_ID)


def test_a_stale_session_key_is_renewed_once() -> None:
    logins: list[str] = []

    async def scenario(client: UisClient, app: Starlette) -> list[str]:
        sim = simulator_of_app(app)
        first = await client.place_callback(_request())
        expire_sessions(sim)  # UIS ends the session; the client still holds its key
        second = await client.place_callback(_request(description="18"))
        logins.append(str(sim.stats.requests_by_api["uis"]))
        return [first.provider_id, second.provider_id]

    ids = _run(_config(), scenario)
    assert ids == [str(FIRST_CALL_SESSION_ID), str(FIRST_CALL_SESSION_ID + 1)]
    # login, call, call refused (access_token_invalid), login, call
    assert logins == ["5"]


def test_a_short_lived_session_key_expires() -> None:
    async def scenario(client: UisClient, app: Starlette) -> int:
        await client.place_callback(_request())
        await asyncio.sleep(0.3)  # past the session's life
        await client.place_callback(_request(description="18"))
        return simulator_of_app(app).stats.requests_by_api["uis"]

    # expire_at is whole seconds (rounded down): with no margin the client renews on time.
    requests = _run(
        _config(uis_session_ttl_s=0.2),
        scenario,
        login=LOGIN[0],
        password=LOGIN[1],
        renew_margin=0.0,
    )
    assert requests == 4  # login, call, login, call


def test_wrong_login() -> None:
    async def scenario(client: UisClient, app: Starlette) -> None:
        await client.place_callback(_request())

    with pytest.raises(ProviderAuthError):
        _run(_config(), scenario, login="nobody", password=SecretStr("x"))


@pytest.mark.parametrize(
    ("config", "changes", "error", "campaign_level"),
    [
        ({"uis_blacklist": [CONTACT]}, {}, ContactBlockedError, None),
        ({}, {"caller_id": "74950000000"}, ProviderRefusedError, True),
        ({}, {"contact": VIRTUAL}, InvalidNumberError, None),
        ({"uis_tts_max_length": 5}, {}, ProviderRefusedError, True),
    ],
)
def test_doc_faithful_refusals(
    config: dict[str, Any],
    changes: dict[str, Any],
    error: type[ProviderError],
    campaign_level: bool | None,
) -> None:
    async def scenario(client: UisClient, app: Starlette) -> None:
        await client.place_callback(_request(**changes))

    with pytest.raises(error) as caught:
        _run(_config(**config), scenario)
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level


def test_the_minute_limit() -> None:
    async def scenario(client: UisClient, app: Starlette) -> None:
        await client.place_callback(_request())
        await client.place_callback(_request(description="18"))

    with pytest.raises(TransientProviderError, match="limit_exceeded"):
        _run(_config(uis_calls_per_minute=1), scenario)


def _raw(params: dict[str, Any], method: str = "start.simple_call") -> httpx.Response:
    async def main() -> httpx.Response:
        app = create_app(_config(), webhook_transport=httpx.MockTransport(Receiver().handle))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http,
        ):
            body = {"jsonrpc": "2.0", "id": "req1", "method": method, "params": params}
            return await http.post(API, json=body)

    return asyncio.run(main())


DOC_PARAMS: dict[str, Any] = {
    "access_token": "sim-uis-key",
    "first_call": "operator",
    "switch_at_once": True,
    "media_file_id": 2701,
    "show_virtual_phone_number": False,
    "virtual_phone_number": VIRTUAL,
    "external_id": "334otr01",
    "dtmf_string": ".1.2.3",
    "direction": "in",
    "contact": CONTACT,
    "operator": OPERATOR,
    "contact_message": {"type": "tts", "value": "Привет"},
    "operator_message": {"type": "media", "value": "2561"},
}


def test_the_doc_request_gets_the_doc_answer() -> None:
    answer = _raw(DOC_PARAMS)
    assert answer.json()["id"] == "req1"
    assert answer.json()["result"]["data"] == {"call_session_id": 237859081}
    assert read_simple_call_answer(200, answer.text).call_session_id == "237859081"


@pytest.mark.parametrize(
    ("changes", "code", "mnemonic", "field"),
    [
        ({"callback_url": "x"}, -32602, "unexpected_parameters", "callback_url"),
        ({"operator": None}, -32602, "data_type_error", "operator"),
        ({"first_call": "employee"}, -32602, "invalid_parameter_value", "first_call"),
        ({"contact": "+79260000000"}, -32602, "invalid_parameter_value", "contact"),
        ({"switch_at_once": "yes"}, -32602, "data_type_error", "switch_at_once"),
        (
            {"early_switching": True, "switch_at_once": False},
            -32602,
            "invalid_parameters_combination",
            None,
        ),
        ({"media_file_id": 1}, -32602, "media_file_not_found", None),
        (
            {"operator_message": {"type": "media", "value": "99"}},
            -32602,
            "media_file_not_found",
            None,
        ),
        (
            {"contact_message": {"type": "tts", "value": "x", "lang": "ru"}},
            -32602,
            "unexpected_parameters",
            "contact_message.lang",
        ),
        ({"access_token": "unknown"}, -32001, "access_token_invalid", None),
        ({"operator_confirmation": "yes"}, -32602, "invalid_parameter_value", None),
    ],
)
def test_request_validation(
    changes: dict[str, Any], code: int, mnemonic: str, field: str | None
) -> None:
    error = _raw({**DOC_PARAMS, **changes}).json()["error"]
    assert (error["code"], error["data"]["mnemonic"]) == (code, mnemonic)
    if field is not None:
        assert error["data"]["field"] == field


def test_a_missing_required_parameter() -> None:
    params = {key: value for key, value in DOC_PARAMS.items() if key != "virtual_phone_number"}
    error = _raw(params).json()["error"]
    assert error["data"]["mnemonic"] == "required_parameter_missed"
    assert error["data"]["field"] == "virtual_phone_number"


def test_protocol_errors() -> None:
    async def main() -> list[dict[str, Any]]:
        app = create_app(_config())
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http,
        ):
            bodies = [
                b"{not json",
                "{}".encode("utf-16"),
                b"[]",
                b'{"jsonrpc": "2.0", "method": "login.user", "params": {}}',
                b'{"jsonrpc": "2.0", "id": 1, "method": "start.call", "params": {}}',
            ]
            return [(await http.post(API, content=body)).json()["error"] for body in bodies]

    mnemonics = [error["data"]["mnemonic"] for error in asyncio.run(main())]
    assert mnemonics == [
        "parse_error",
        "character_encoding_not_allowed",
        "batch_opreations_not_supported",
        "notifications_not_supported",
        "method_not_found",
    ]


def test_a_reset_forgets_uis_calls() -> None:
    async def scenario(client: UisClient, app: Starlette) -> tuple[int, int]:
        sim = simulator_of_app(app)
        await client.place_callback(_request())
        before = len(uis_calls_of(sim))
        await sim.reset()
        return before, len(uis_calls_of(sim))

    assert _run(_config(), scenario, access_token=SecretStr("sim-uis-key")) == (1, 0)


def test_settings_that_point_at_the_simulator() -> None:
    from dialer.providers.uis import build_uis_client
    from dialer.settings import Settings
    from dialer.simulator.uis import uis_settings_for

    config = _config()
    settings = Settings().model_copy(update=uis_settings_for("http://127.0.0.1:9", config))
    assert settings.uis_api_url == "http://127.0.0.1:9/uis/v4.0"
    assert isinstance(build_uis_client(settings), UisClient)
