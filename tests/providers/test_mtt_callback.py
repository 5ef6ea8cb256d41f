"""MttCallbackClient against the exact requests and answers of MTT's CallBack API docs
(/work/shared/reference/mtt-callback-make-call.txt, mtt-telecom-api.txt lines 789-1081)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import httpx
import pytest
from pydantic import SecretStr

from dialer.errors import (
    InvalidNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    TransientProviderError,
    UnknownOutcomeError,
)
from dialer.providers.mtt_callback import (
    CallbackCallInfo,
    CallbackRequest,
    CallbackSubmitted,
    MttCallbackClient,
    build_make_call_params,
    callback_url_for_mtt,
    read_call_info_answer,
    read_make_call_answer,
)

T = TypeVar("T")
URL = "https://webapicommon.mtt.ru/index.php"
CUSTOMER = "883140500000000"
Handler = Callable[[httpx.Request], httpx.Response]

# The make-call doc's success answer (callbackCall_id) and the Telecom API's (callBackCall_id).
SUCCESS_LOWER = """{
  "jsonrpc": "2.0",
  "id": "1",
  "result": {
    "callbackCall_id": "1256ffb10774226b390ad1a2bc892c9c"
  }
}"""
SUCCESS_UPPER = """{
"jsonrpc": "2.0",
"id": "1",
"result":
{
"callBackCall_id": "1256ffb10774226b390ad1a2bc892c9c"
}
}"""
# The doc's failure example verbatim: not JSON (comments, two messages, no comma).
FAILURE_AS_DOCUMENTED = """{
  "jsonrpc": "2.0",
  "id": "iar_ringall",
  "result":
  {
    "error": 1,
    "message": "Incorrect redirect_number format" - - ( redirect_number)
    "message" : "Incorrect B-number format"- B-.
  }
}"""
CALL_INFO = """{
"jsonrpc": "2.0",
"id": "1",
"result":
{
"callBackFollowmeCallInfoStruct":
{
"destination_A": "+79162795520",
"destination_B": "+79852970306",
"waiting_period_A": "12",
"waiting_period_B": "9",
"call_back_charged_length_A": "60",
"call_back_real_length_A": "15",
"call_back_charged_length_B": "60",
"call_back_real_length_B": "5",
"call_back_cost": 2.98,
"call_back_currency": "RUB",
"call_back_status": "ok",
"call_back_record_URL_A":
{
"downloadURL": "http://fuds.mtt.ru/download/75GV5LxVNdQuohMge0NMFpS2Oxwc3jKTmhjWE3987oPTOhCJ7o"
},
"call_back_record_URL_B":
{
"downloadURL": "http://fuds.mtt.ru/download/0bbDerTSCQFVmqzOdFu6pNX1STQCh5dTrdQ3PdajN3ICHdWyyV"
},
"callDescription": ""
}
}
}"""


def not_found(data: str) -> str:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": "101",
            "error": {"code": -32001, "message": "Data not found", "data": data},
        }
    )


def in_result_error(message: str) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": "1", "result": {"error": 1, "message": message}})


def rpc_error(code: int, message: str) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": message}})


def request(**overrides: object) -> CallbackRequest:
    fields: dict[str, object] = {
        "contact": "79157775533",
        "agents": ("74997090111", "74997090112"),
        "whisper": "Клиент Иванов, заявка 12. Соединяю.",
        "callback_url": "https://hooks.example.com/hooks/tok/mtt/callback/event.php",
        "caller_id": "74950000000",
        "contact_message": "Здравствуйте! Соединяем вас с менеджером.",
        "agent_timeout": 20,
        "max_talk": 900,
        "description": "attempt-42",
    }
    fields.update(overrides)
    return CallbackRequest(**fields)  # type: ignore[arg-type]


def with_client(handler: Handler, use: Callable[[MttCallbackClient], Awaitable[T]]) -> T:
    async def go() -> T:
        client = MttCallbackClient(
            URL, "login", SecretStr("pw"), CUSTOMER, transport=httpx.MockTransport(handler)
        )
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


def answer(body: str, status: int = 200) -> Handler:
    return lambda _request: httpx.Response(status, text=body)


def test_make_call_sends_the_structure_inline() -> None:
    seen: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent)
        return httpx.Response(200, text=SUCCESS_LOWER)

    submitted = with_client(handler, lambda client: client.make_call(request()))

    assert submitted == CallbackSubmitted(
        call_id="1256ffb10774226b390ad1a2bc892c9c", raw=SUCCESS_LOWER
    )
    (sent,) = seen
    assert sent.method == "POST"
    assert str(sent.url) == URL
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"login:pw").decode()
    body = json.loads(sent.content)
    assert body["jsonrpc"] == "2.0"
    assert body["method"] == "makeCallBackCallFollowme"
    assert isinstance(body["id"], str)
    assert body["params"] == {
        "customer_name": CUSTOMER,
        "b_number": "79157775533",
        "callBackURL": "hooks.example.com/hooks/tok/mtt/callback",
        "caller_id": "74950000000",
        "recordEnable": 0,
        "maxtime": "900",
        "callDescription": "attempt-42",
        "simpleCallBackFollowmeStruct": [
            {"order": 1, "timeout": 20, "redirect_number": "74997090111", "type": "ringall"},
            {"order": 2, "timeout": 20, "redirect_number": "74997090112", "type": "ringall"},
            {
                "order": 3,
                "type": "text",
                "value": "Клиент Иванов, заявка 12. Соединяю.",
                "side": "A",
            },
            {
                "order": 4,
                "type": "text",
                "value": "Здравствуйте! Соединяем вас с менеджером.",
                "side": "B",
            },
        ],
    }


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"record": True}, {"recordEnable": 1}),
        ({"record": False}, {"recordEnable": 0}),
        ({"max_talk": None, "caller_id": None, "description": None}, {}),
    ],
)
def test_optional_params(overrides: dict[str, object], expected: dict[str, object]) -> None:
    params = build_make_call_params(request(**overrides), customer_name=CUSTOMER)
    assert "recordEnable" in params  # MTT records by default: always sent
    for key, value in expected.items():
        assert params[key] == value
    if not expected:
        assert {"maxtime", "caller_id", "callDescription"}.isdisjoint(params)


def test_sequence_ring_and_no_contact_message() -> None:
    params = build_make_call_params(
        request(ring="sequence", contact_message=None, agents=("74997090111",)),
        customer_name=CUSTOMER,
    )
    items = params["simpleCallBackFollowmeStruct"]
    assert items == [
        {"order": 1, "timeout": 20, "redirect_number": "74997090111", "type": "linerall"},
        {"order": 2, "type": "text", "value": "Клиент Иванов, заявка 12. Соединяю.", "side": "A"},
    ]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"agents": ()}, "agent"),
        ({"agent_timeout": 0}, "agent_timeout"),
        ({"max_talk": 0}, "max_talk"),
    ],
)
def test_requests_no_campaign_should_make_are_refused(
    overrides: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        build_make_call_params(request(**overrides), customer_name=CUSTOMER)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://hooks.example.com/h/t/mtt/callback/event.php",
            "hooks.example.com/h/t/mtt/callback",
        ),
        (
            "http://hooks.example.com:8080/h/t/mtt/callback/",
            "hooks.example.com:8080/h/t/mtt/callback",
        ),
        ("hooks.example.com/h/t/mtt/callback", "hooks.example.com/h/t/mtt/callback"),
        ("HTTPS://hooks.example.com/x/EVENT.PHP", "hooks.example.com/x"),
    ],
)
def test_callback_url_has_no_scheme(url: str, expected: str) -> None:
    assert callback_url_for_mtt(url) == expected


@pytest.mark.parametrize(
    "url", ["https://www.example.com/cb", "www.example.com/cb", "https://", ""]
)
def test_callback_urls_mtt_cannot_take_are_campaign_errors(url: str) -> None:
    with pytest.raises(ProviderRefusedError) as caught:
        callback_url_for_mtt(url)
    assert caught.value.campaign_level


@pytest.mark.parametrize("body", [SUCCESS_LOWER, SUCCESS_UPPER])
def test_both_id_spellings(body: str) -> None:
    assert read_make_call_answer(200, body).call_id == "1256ffb10774226b390ad1a2bc892c9c"


def test_answer_ids_are_not_compared() -> None:
    body = SUCCESS_LOWER.replace('"id": "1"', '"id": "something-else"')
    assert read_make_call_answer(200, body).call_id == "1256ffb10774226b390ad1a2bc892c9c"


def test_trailing_commas_are_tolerated() -> None:
    body = '{"jsonrpc": "2.0", "id": "1", "result": {"callBackCall_id": "abc",},}'
    assert read_make_call_answer(200, body).call_id == "abc"


def test_the_documented_invalid_json_failure_is_read() -> None:
    # Its first message is the redirect_number one: the agents' numbers are wrong.
    with pytest.raises(ProviderRefusedError) as caught:
        read_make_call_answer(200, FAILURE_AS_DOCUMENTED)
    assert caught.value.campaign_level
    assert "Incorrect redirect_number format" in str(caught.value)
    assert caught.value.raw == FAILURE_AS_DOCUMENTED


@pytest.mark.parametrize(
    ("body", "error", "campaign_level"),
    [
        (in_result_error("Incorrect B-number format"), InvalidNumberError, None),
        (in_result_error("Incorrect redirect_number format"), ProviderRefusedError, True),
        (in_result_error("Access denied"), ProviderAuthError, None),
        (in_result_error("Something else"), ProviderRefusedError, False),
        (rpc_error(-32002, "Permission denied"), ProviderAuthError, None),
        (rpc_error(-32602, "Invalid params"), ProviderRefusedError, True),
        (rpc_error(-32601, "Method not found"), ProviderRefusedError, True),
        ('{"jsonrpc": "2.0", "id": "1", "result": {}}', UnknownOutcomeError, None),
        ("<html>oops</html>", UnknownOutcomeError, None),
    ],
)
def test_make_call_errors(
    body: str, error: type[ProviderError], campaign_level: bool | None
) -> None:
    with pytest.raises(error) as caught:
        read_make_call_answer(200, body)
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level


def test_documented_b_number_failure_alone_is_an_invalid_contact() -> None:
    body = FAILURE_AS_DOCUMENTED.replace(
        '"message": "Incorrect redirect_number format" - - ( redirect_number)\n', ""
    )
    with pytest.raises(InvalidNumberError):
        read_make_call_answer(200, body)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ProviderAuthError),
        (403, ProviderAuthError),
        (429, TransientProviderError),
        (502, TransientProviderError),
        (504, UnknownOutcomeError),
        (404, ProviderRefusedError),
    ],
)
def test_http_statuses(status: int, error: type[ProviderError]) -> None:
    with pytest.raises(error):
        with_client(answer("", status), lambda client: client.make_call(request()))


@pytest.mark.parametrize(
    ("failure", "make_call_error", "info_error"),
    [
        (httpx.ConnectError("refused"), TransientProviderError, TransientProviderError),
        (httpx.ReadTimeout("slow"), UnknownOutcomeError, TransientProviderError),
    ],
)
def test_transport_failures(
    failure: Exception, make_call_error: type[ProviderError], info_error: type[ProviderError]
) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(make_call_error):
        with_client(handler, lambda client: client.make_call(request()))
    with pytest.raises(info_error):
        with_client(handler, lambda client: client.get_call_info("abc"))


def test_call_info_request_and_documented_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent)
        return httpx.Response(200, text=CALL_INFO)

    info = with_client(
        handler, lambda client: client.get_call_info("1256ffb10774226b390ad1a2bc892c9c")
    )

    body = json.loads(seen[0].content)
    assert body["method"] == "getCallBackFollowmeCallInfo"
    assert body["params"] == {
        "customer_name": CUSTOMER,
        "callBackCall_id": "1256ffb10774226b390ad1a2bc892c9c",
    }
    assert info == CallbackCallInfo(
        status="ok",
        agent="+79162795520",
        contact="+79852970306",
        agent_wait_seconds=12,
        contact_wait_seconds=9,
        agent_seconds=15,
        contact_seconds=5,
        agent_charged_seconds=60,
        contact_charged_seconds=60,
        cost=Decimal("2.98"),
        currency="RUB",
        record_urls=(
            "http://fuds.mtt.ru/download/75GV5LxVNdQuohMge0NMFpS2Oxwc3jKTmhjWE3987oPTOhCJ7o",
            "http://fuds.mtt.ru/download/0bbDerTSCQFVmqzOdFu6pNX1STQCh5dTrdQ3PdajN3ICHdWyyV",
        ),
        description="",
    )
    assert info.talked
    assert info.talk_seconds == 5


def test_call_info_as_an_array_like_the_table_says() -> None:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": "1",
            "result": {
                "callBackFollowmeCallInfoStruct": [
                    {"destination_A": "79162795520", "call_back_real_length_B": 7}
                ]
            },
        }
    )
    info = read_call_info_answer(200, body)
    assert info.agent == "79162795520"
    assert info.contact_seconds == 7


@pytest.mark.parametrize(
    ("data", "ended_by", "side"),
    [
        ("Call ended by timeout on side A", "timeout", "A"),
        ("Call ended by cancel on side A", "cancel", "A"),
        ("Call ended by cancel on side B", "cancel", "B"),
        ("Call ended by timeout on side B", "timeout", "B"),
        ("Followme not found", None, None),
    ],
)
def test_call_info_failures_are_results(data: str, ended_by: str | None, side: str | None) -> None:
    info = read_call_info_answer(200, not_found(data))
    assert info.failure == data
    assert info.ended_by == ended_by
    assert info.failed_side == side
    assert not info.talked


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (rpc_error(-32002, "Permission denied"), ProviderAuthError),
        (rpc_error(-32602, "Invalid params"), ProviderRefusedError),
        ('{"jsonrpc": "2.0", "id": "1", "result": {}}', ProviderError),
        ("not json", ProviderError),
    ],
)
def test_call_info_errors(body: str, error: type[ProviderError]) -> None:
    with pytest.raises(error):
        read_call_info_answer(200, body)


def test_secrets_and_numbers_stay_out_of_errors() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(TransientProviderError) as caught:
        with_client(handler, lambda client: client.make_call(request()))
    assert "pw" not in str(caught.value)
    assert "79157775533" not in str(caught.value)
