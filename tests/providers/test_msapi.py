"""MsapiClient against the exact paths, bodies and answers of the msapi documentation."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
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
from dialer.providers.base import SmsRequest, Submitted
from dialer.providers.msapi import MsapiClient, message_sid_from_uri
from dialer.providers.msapi_models import MessagesPage, MsapiMessage, MsapiNumber, NumbersPage

T = TypeVar("T")
BASE = "https://msapi.mtt.ru:443/"
SID = "accefd5c385-f2aa-3dd4-9c0b-01abf00ccfe"
MESSAGES_PATH = f"/v2/accounts/{SID}/messages"
# The documented uri really has a Cyrillic "е" at the end of its account sid.
URI = (
    "/v2/accounts/accefd5c385-f2aa-3dd4-9c0b-01abf00cccfе"
    "/messages/msgb0789d2f-8932-400d-8768-b6c12abbb872"
)
CREATED = f"""
{{
  "status_code": 201,
  "status_message": "CREATED",
  "uri": "{URI}"
}}"""
TEXT_EMPTY = """{
  "status_code": 400,
  "request_id": "7f4d9823-fd41-4697-ba9b-11940e7932d0",
  "error": "Invalid params: text shouldn't be empty"
}"""
NUMBERS = """{
  "page": 1,
  "total": 1,
  "limit": 20,
  "offset": 0,
  "prev": "",
  "next": "",
  "numbers": [
    {
      "number": "35800445016",
      "direction": "OUT"
    }
  ]
}"""
# The first half of the documented list answer, trailing commas included.
MESSAGES = """{
  "page": 1,
  "total": 379,
  "limit": 5,
  "offset": 0,
  "prev": "",
  "next": "http://172.16.102.108:8985/v2/accounts/accefd5c385-f2aa-3dd4-9c0b-01abf00ccffe/messages?limit=5&offset=5",
  "messages": [
    {
      "account_sid": "accefd5c385-f2aa-3dd4-9c0b-01abf00ccffe",
      "message_sid": "msg204815e0-68d3-4193-999b-d142b749fd39",
      "text": "",
      "created_at": 1518091728,
      "direction": "inbound",
      "number": "79587625002",
      "external_number": "79057259771",
      "status": "received",
      "segment_count": 1,
    },
    {
      "account_sid": "accefd5c385-f2aa-3dd4-9c0b-01abf00ccffe",
      "message_sid": "msg660c1d96-bdd3-4e62-a682-9665309b5cc3",
      "text": "tester2 Privet!",
      "created_at": 1518091728,
      "direction": "inbound",
      "number": "79587625002",
      "external_number": "79166597045",
      "status": "received",
      "segment_count": 1,
    },
    {
      "account_sid": "accefd5c385-f2aa-3dd4-9c0b-01abf00ccffe",
      "message_sid": "msgfe14221b-4dff-4959-9962-de507af92f4a",
      "text": "",
    }
  ]
}"""
ONE_MESSAGE = """{
  "page": 1,
  "total": 1,
  "limit": 5,
  "offset": 0,
  "prev": "",
  "next": "",
  "messages": [
    {
      "account_sid": "accefd5c385-f2aa-3dd4-9c0b-01abf00cccf",
      "message_sid": "msg204815e0-68d3-4193-999b-d142b749fd39",
      "text": "",
      "created_at": 1518091728,
      "direction": "inbound",
      "number": "79587625002",
      "external_number": "79057259771",
      "status": "received",
      "segment_count": 1,
    }
  ]
}"""
SMS = SmsRequest(
    attempt_id=42, to="79587625004", sender="79587625004", text="Hello, I am sending message"
)

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self, status: int = 201, body: str = CREATED) -> None:
        self.status = status
        self.body = body
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, text=self.body)


def with_client(handler: Handler, use: Callable[[MsapiClient], Awaitable[T]]) -> T:
    async def go() -> T:
        client = MsapiClient(BASE, SID, SecretStr("t0ken"), transport=httpx.MockTransport(handler))
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


def send(handler: Handler, request: SmsRequest = SMS) -> Submitted:
    return with_client(handler, lambda client: client.send_sms(request))


def test_send_posts_the_documented_body_and_returns_the_uri_tail() -> None:
    recorder = Recorder()

    submitted = send(recorder)

    assert submitted == Submitted(
        provider_id="msgb0789d2f-8932-400d-8768-b6c12abbb872", raw=CREATED
    )
    sent = recorder.requests[0]
    assert sent.method == "POST"
    assert str(sent.url) == f"https://msapi.mtt.ru{MESSAGES_PATH}"
    assert (
        sent.headers["authorization"]
        == "Basic " + base64.b64encode(f"{SID}:t0ken".encode()).decode()
    )
    assert json.loads(sent.content) == {
        "from": "79587625004",
        "to": "79587625004",
        "text": "Hello, I am sending message",
        "tag": "42",
    }


@pytest.mark.parametrize(
    ("body", "error", "campaign_level"),
    [
        (TEXT_EMPTY, ProviderRefusedError, False),
        (
            '{"status_code": 400, "request_id": "r", "error": "Invalid params: to must be e164"}',
            InvalidNumberError,
            None,
        ),
        (
            '{"status_code": 400, "error": "Invalid params: field \'to\' is bad"}',
            InvalidNumberError,
            None,
        ),
        (
            '{"status_code": 400, "request_id": "r", "error": "Invalid params: from is not yours"}',
            ProviderRefusedError,
            True,
        ),
        (
            '{"status_code": 400, "request_id": "r", "error": "Invalid params: unable to parse"}',
            ProviderRefusedError,
            False,
        ),
        ("not json", ProviderRefusedError, False),
    ],
)
def test_documented_and_plausible_400_answers(
    body: str, error: type[ProviderError], campaign_level: bool | None
) -> None:
    with pytest.raises(error) as caught:
        send(Recorder(400, body))
    assert type(caught.value) is error
    assert caught.value.status_code == 400
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ProviderAuthError),
        (403, ProviderAuthError),
        (429, TransientProviderError),
        (503, TransientProviderError),
        (404, ProviderRefusedError),
    ],
)
def test_http_statuses(status: int, error: type[ProviderError]) -> None:
    with pytest.raises(error):
        send(Recorder(status, "{}"))


@pytest.mark.parametrize("body", ['{"status_code": 201}', "garbage", '{"uri": "/"}'])
def test_accepted_without_a_message_uri_is_an_unknown_outcome(body: str) -> None:
    with pytest.raises(UnknownOutcomeError):
        send(Recorder(201, body))


def never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request may be made")


@pytest.mark.parametrize("to", ["", "7958", "+79587625004", "7958762500x"])
def test_bad_recipient_is_refused_without_a_request(to: str) -> None:
    with pytest.raises(InvalidNumberError):
        send(never_called, SmsRequest(1, to, "79587625004", "hi"))


def test_empty_sender_pauses_the_campaign_without_a_request() -> None:
    with pytest.raises(ProviderRefusedError) as caught:
        send(never_called, SmsRequest(1, "79587625004", "", "hi"))
    assert caught.value.campaign_level


@pytest.mark.parametrize(
    ("exception", "error"),
    [
        (httpx.ConnectError("refused"), TransientProviderError),
        (httpx.ReadTimeout("no answer"), UnknownOutcomeError),
    ],
)
def test_send_transport_failures(
    exception: httpx.TransportError, error: type[ProviderError]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        exception.request = request
        raise exception

    with pytest.raises(error):
        send(handler)


def test_list_numbers_parses_the_documented_answer() -> None:
    recorder = Recorder(200, NUMBERS)

    page = with_client(recorder, lambda client: client.list_numbers())

    assert page == NumbersPage(
        page=1,
        total=1,
        limit=20,
        offset=0,
        prev="",
        next="",
        numbers=(MsapiNumber(number="35800445016", direction="OUT"),),
    )
    sent = recorder.requests[0]
    assert sent.method == "GET"
    assert sent.url.path == f"/v2/accounts/{SID}/numbers"
    assert dict(sent.url.params) == {"limit": "20", "offset": "0"}


def numbers_handler(total: int, directions: Callable[[int], str] = lambda i: "OUT") -> Recorder:
    class Pages(Recorder):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            offset = int(request.url.params["offset"])
            limit = int(request.url.params["limit"])
            numbers = [
                {"number": f"7900000{i:04d}", "direction": directions(i)}
                for i in range(offset, min(offset + limit, total))
            ]
            body = {"page": offset // limit, "total": total, "limit": limit, "offset": offset}
            return httpx.Response(200, json={**body, "numbers": numbers})

    return Pages()


@pytest.mark.parametrize(("total", "offsets"), [(45, [0, 20, 40]), (40, [0, 20]), (0, [0])])
def test_iter_numbers_follows_offsets_until_total(total: int, offsets: list[int]) -> None:
    handler = numbers_handler(total)

    async def collect(client: MsapiClient) -> list[str]:
        return [number.number async for number in client.iter_numbers()]

    numbers = with_client(handler, collect)

    assert numbers == [f"7900000{i:04d}" for i in range(total)]
    assert [int(r.url.params["offset"]) for r in handler.requests] == offsets
    assert {r.url.params["limit"] for r in handler.requests} == {"20"}


def test_out_numbers_keeps_only_direction_out() -> None:
    handler = numbers_handler(25, lambda i: "OUT" if i % 2 else "IN")
    numbers = with_client(handler, lambda client: client.out_numbers())
    assert numbers == {f"7900000{i:04d}" for i in range(25) if i % 2}


def test_list_messages_parses_the_documented_answer_with_trailing_commas() -> None:
    recorder = Recorder(200, MESSAGES)

    page = with_client(
        recorder,
        lambda client: client.list_messages(limit=5, direction="inbound", status="received"),
    )

    assert (page.total, page.limit, page.offset, len(page.messages)) == (379, 5, 0, 3)
    assert page.messages[1] == MsapiMessage(
        account_sid="accefd5c385-f2aa-3dd4-9c0b-01abf00ccffe",
        message_sid="msg660c1d96-bdd3-4e62-a682-9665309b5cc3",
        text="tester2 Privet!",
        created_at=1518091728,
        direction="inbound",
        number="79587625002",
        external_number="79166597045",
        status="received",
        segment_count=1,
    )
    assert page.messages[1].created == datetime(2018, 2, 8, 12, 8, 48, tzinfo=UTC)
    assert page.messages[2].created_at is None
    assert dict(recorder.requests[0].url.params) == {
        "limit": "5",
        "offset": "0",
        "direction": "inbound",
        "status": "received",
    }


def test_iter_messages_passes_filters_on_every_page() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        assert request.url.params["number"] == "79587625002"
        count = 20 if offset == 0 else 3
        messages = [{"message_sid": f"msg{offset + i}"} for i in range(count)]
        return httpx.Response(200, json={"total": 23, "offset": offset, "messages": messages})

    async def collect(client: MsapiClient) -> list[str]:
        return [m.message_sid async for m in client.iter_messages(number="79587625002")]

    assert with_client(handler, collect) == [f"msg{i}" for i in range(23)]


def test_get_message_reads_the_page_shape() -> None:
    recorder = Recorder(200, ONE_MESSAGE)
    sid = "msg204815e0-68d3-4193-999b-d142b749fd39"

    page = with_client(recorder, lambda client: client.get_message(sid))

    assert isinstance(page, MessagesPage)
    assert [m.message_sid for m in page.messages] == [sid]
    assert page.messages[0].status == "received"
    assert recorder.requests[0].url.path == f"{MESSAGES_PATH}/{sid}"


def test_reads_retry_safely_after_a_lost_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    with pytest.raises(TransientProviderError):
        with_client(handler, lambda client: client.list_numbers())


@pytest.mark.parametrize("body", ["<html>", '{"numbers": "nope"}', "[]"])
def test_unreadable_list_answer_is_a_provider_error(body: str) -> None:
    with pytest.raises(ProviderError) as caught:
        with_client(Recorder(200, body), lambda client: client.list_numbers())
    assert type(caught.value) is ProviderError


@pytest.mark.parametrize("limit", [0, 21])
def test_limit_is_1_to_20(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        with_client(never_called, lambda client: client.list_numbers(limit=limit))


def test_message_sid_from_uri() -> None:
    assert message_sid_from_uri("/v2/accounts/a/messages/msg1/") == "msg1"
    assert message_sid_from_uri("msg2") == "msg2"
