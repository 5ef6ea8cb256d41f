"""MttSbClient against the exact request and answer bodies of the sb-api documentation."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable

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
from dialer.providers.base import CallRequest, MenuOption, Submitted
from dialer.providers.mtt_sb import MttSbClient, classify_call_answer

URL = "https://sb-api.mtt.ru/v1/sb"
SIP_ID = "74996489150"
METHOD = "informer-method"
IVR_TEXT = (
    "Здравствуйте, ваш заказа исполнен и готов к выдаче, нажмите 1 если готовы к самовывозу, "
    "2 нужна доставка, 3 если хотите соединиться с оператором для уточнения информации по заказу"
)
SUCCESS = """{
  "result": {
    "success": 1
  },
  "id": "1255490",
  "CallID": "00035c7d92bb061e"
}"""
WRONG_SIP_ID = """
{
  {
    "result": {
      "success": 0,
      "error": "Forbidden"
    },
    "id": "1255490",
    "CallID": "00035c7d9226611f"
  }
}
"""

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers every request alike and keeps the requests."""

    def __init__(self, status: int = 200, body: str = SUCCESS) -> None:
        self.status = status
        self.body = body
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, text=self.body)


def place(handler: Handler, request: CallRequest) -> Submitted:
    async def go() -> Submitted:
        client = MttSbClient(
            URL,
            "login",
            SecretStr("s3cret"),
            SIP_ID,
            METHOD,
            transport=httpx.MockTransport(handler),
        )
        try:
            return await client.place_call(request)
        finally:
            await client.aclose()

    return asyncio.run(go())


def tts(**changes: object) -> CallRequest:
    fields: dict[str, object] = {
        "attempt_id": 1255490,
        "to": "79103880489",
        "caller_id": "74950000000",
        "text": "Информационное сообщение для Вас",
    }
    fields.update(changes)
    return CallRequest(**fields)  # type: ignore[arg-type]


def ivr() -> CallRequest:
    return CallRequest(
        attempt_id=12345678,
        to="79103880489",
        caller_id="74950000000",
        text=IVR_TEXT,
        voice="oksana",
        language="ru-RU",
        emotion="neutral",
        speed=1.0,
        menu=(
            MenuOption(1, "notify", "https://domain.ru/mtt/event.php"),
            MenuOption(2, "notify", "https://domain.ru/mtt/event.php"),
            MenuOption(3, "transfer", "74997090111"),
        ),
    )


def test_informer_request_is_the_documented_body_with_basic_auth() -> None:
    recorder = Recorder()
    request = tts(voice="oksana", language="ru-RU", emotion="good", speed=1.5)

    assert place(recorder, request) == Submitted(provider_id="00035c7d92bb061e", raw=SUCCESS)

    sent = recorder.requests[0]
    assert sent.method == "POST"
    assert str(sent.url) == URL
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(b"login:s3cret").decode()
    assert json.loads(sent.content) == {
        "method": METHOD,
        "data": {
            "messId": "1255490",
            "sip_id": SIP_ID,
            "b_number": "79103880489",
            "a_number": "74950000000",
            "messText": "Информационное сообщение для Вас",
            "langCode": "ru-RU",
            "voice_name": "oksana",
            "emotion": "good",
            "speed_speech": 1.5,
        },
    }


def test_informer_omits_unset_optional_fields() -> None:
    recorder = Recorder()
    place(recorder, tts())
    assert json.loads(recorder.requests[0].content)["data"] == {
        "messId": "1255490",
        "sip_id": SIP_ID,
        "b_number": "79103880489",
        "a_number": "74950000000",
        "messText": "Информационное сообщение для Вас",
    }


def test_informer_without_caller_id_lets_mtt_default_to_sip_id() -> None:
    recorder = Recorder()
    place(recorder, tts(caller_id=""))
    assert "a_number" not in json.loads(recorder.requests[0].content)["data"]


def test_ivr_request_matches_the_documented_example() -> None:
    recorder = Recorder()
    place(recorder, ivr())
    assert json.loads(recorder.requests[0].content) == {
        "method": "ivr-api",
        "data": {
            "messId": "12345678",
            "sip_id": SIP_ID,
            "b_number": "79103880489",
            "a_number": "74950000000",
            "messText": IVR_TEXT,
            "lang_code": "ru-RU",
            "voice_name": "oksana",
            "emotion": "neutral",
            "speed_speech": 1,
            "dtmf": [
                {"dtmf_id": "1", "type": "notify", "value": "https://domain.ru/mtt/event.php"},
                {"dtmf_id": "2", "type": "notify", "value": "https://domain.ru/mtt/event.php"},
                {"dtmf_id": "3", "type": "transfer", "value": "74997090111"},
            ],
        },
    }


@pytest.mark.parametrize(
    ("body", "error", "campaign_level"),
    [
        (
            '{"result": {"success": 0, "error": "\\"b_number\\" should be in e164 format"},'
            ' "id": "1255490", "CallID": "00035c7d92260ed6"}',
            InvalidNumberError,
            None,
        ),
        (
            '{"result": {"success": 0, "error": "\\"a_number\\" should be in e164 format"},'
            ' "id": "1255490", "CallID": "00035c7d92260edc"}',
            ProviderRefusedError,
            True,
        ),
        (
            '{"result": {"success": 0, "error": "\\"messId\\" not found in request body"},'
            ' "id": "00035c7d92bb099a"}',
            ProviderRefusedError,
            True,
        ),
        (
            '{ "result": { "success": 0, "error": "\\"notify\\" value is not allowed" },'
            ' "id": "1255490", "CallID": "00215e8250bf2070" }',
            ProviderRefusedError,
            True,
        ),
        ('\n{\n  "message": "access forbidden"\n}\n', ProviderAuthError, None),
        ('{ "message": "access forbidden" }', ProviderAuthError, None),
        (WRONG_SIP_ID, ProviderAuthError, None),
        ('{"result": {"success": 0, "error": "Forbidden"}, "id": "1"}', ProviderAuthError, None),
        ('{"result": {"success": 0, "error": "speed out of range"}}', ProviderRefusedError, False),
        ('{"result": {"success": 0}}', ProviderRefusedError, False),
    ],
)
def test_documented_error_answers(
    body: str, error: type[ProviderError], campaign_level: bool | None
) -> None:
    with pytest.raises(error) as caught:
        place(Recorder(200, body), tts())
    assert type(caught.value) is error
    assert caught.value.raw == body[:2000]
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level


def test_access_forbidden_with_http_403_is_an_auth_error() -> None:
    with pytest.raises(ProviderAuthError):
        place(Recorder(403, '{"message": "access forbidden"}'), tts())


@pytest.mark.parametrize(
    "body",
    [
        "<html>gateway</html>",
        "",
        '{"result": {"success": 1}, "id": "1255490"}',
        '{"result": {"success": 1}, "id": "1255490", "CallID": ""}',
        '{"unexpected": true}',
        "[1, 2]",
    ],
)
def test_accepted_but_unreadable_answers_are_unknown_outcomes(body: str) -> None:
    with pytest.raises(UnknownOutcomeError):
        place(Recorder(200, body), tts())


def test_success_inside_extra_braces_still_yields_the_call_id() -> None:
    body = '{ { "result": { "success": 1 }, "id": "1", "CallID": "00035c7d92bb0971" } }'
    assert classify_call_answer(200, body).provider_id == "00035c7d92bb0971"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientProviderError),
        (502, TransientProviderError),
        (503, TransientProviderError),
        (429, TransientProviderError),
        (504, UnknownOutcomeError),
        (401, ProviderAuthError),
        (403, ProviderAuthError),
    ],
)
def test_http_statuses(status: int, error: type[ProviderError]) -> None:
    with pytest.raises(error) as caught:
        place(Recorder(status, "oops"), tts())
    assert type(caught.value) is error
    assert caught.value.status_code == status


def test_wrong_url_404_pauses_the_campaign() -> None:
    with pytest.raises(ProviderRefusedError) as caught:
        place(Recorder(404, "not found"), tts())
    assert caught.value.campaign_level


@pytest.mark.parametrize(
    ("exception", "error"),
    [
        (httpx.ConnectError("refused"), TransientProviderError),
        (httpx.ConnectTimeout("slow"), TransientProviderError),
        (httpx.PoolTimeout("busy"), TransientProviderError),
        (httpx.ReadTimeout("no answer"), UnknownOutcomeError),
        (httpx.WriteTimeout("stuck"), UnknownOutcomeError),
        (httpx.ReadError("reset"), UnknownOutcomeError),
        (httpx.RemoteProtocolError("closed"), UnknownOutcomeError),
    ],
)
def test_transport_failures(exception: httpx.TransportError, error: type[ProviderError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        exception.request = request
        raise exception

    with pytest.raises(error) as caught:
        place(handler, tts())
    assert type(caught.value) is error


def never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request may be made")


@pytest.mark.parametrize("to", ["7910000000", "+79103880489", "791038804890", "", "7910388048a"])
def test_bad_b_number_is_refused_without_a_request(to: str) -> None:
    with pytest.raises(InvalidNumberError):
        place(never_called, tts(to=to))


@pytest.mark.parametrize(
    "request_",
    [
        tts(caller_id="7958100000"),
        tts(caller_id="+74950000000"),
        CallRequest(1, "79103880489", "", "text", menu=(MenuOption(1, "notify", "https://x.ru"),)),
        CallRequest(
            1, "79103880489", "74950000000", "t", menu=(MenuOption(1, "notify", "http://x"),)
        ),
        CallRequest(
            1, "79103880489", "74950000000", "t", menu=(MenuOption(3, "transfer", "8800"),)
        ),
        CallRequest(
            1, "79103880489", "74950000000", "t", menu=(MenuOption(0, "transfer", "8800"),)
        ),
    ],
)
def test_campaign_level_mistakes_are_refused_without_a_request(request_: CallRequest) -> None:
    with pytest.raises(ProviderRefusedError) as caught:
        place(never_called, request_)
    assert caught.value.campaign_level


def test_unconfigured_informer_method_is_an_auth_error() -> None:
    async def go() -> None:
        client = MttSbClient(
            URL, "l", SecretStr("p"), SIP_ID, "", transport=httpx.MockTransport(never_called)
        )
        await client.place_call(tts())

    with pytest.raises(ProviderAuthError):
        asyncio.run(go())
