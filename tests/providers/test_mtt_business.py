"""MttBusinessClient against the requests and answers of the Open API doc: ``makeCall``
(10.3.1, lines 872-907) and ``workplacesInfo`` (9.2, lines 332-362), with the Bearer token
and the one retry after a 401 (7.6)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TypeVar

import httpx
import pytest

from dialer.errors import (
    GrantLapsedError,
    InvalidNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    TransientProviderError,
    UnknownOutcomeError,
)
from dialer.providers.callback_base import CallbackRequest
from dialer.providers.mtt_business import (
    MttBusinessClient,
    StaticTokenSource,
    Workplace,
    build_make_call_params,
    missing_workplaces,
)
from dialer.providers.mtt_business_answers import read_make_call_answer, read_workplaces_answer

T = TypeVar("T")
API = "https://openapi.example/v1"
WORKPLACE = "883140582526566"  # the doc's callerId
CALL_ID = "7NKe6!8fa1FMSlc6ypZdb1GSV6ZN@10.133.51.137"
Handler = Callable[[httpx.Request], httpx.Response]

# Doc 10.3.1's request and answer verbatim (the answer ends with a trailing comma).
MAKE_CALL_REQUEST = """{
  "params": {
    "calleid": "89219462761",
    "callerId": "883140582526566"
  }
}"""
MAKE_CALL_ANSWER = """{
  "result": {
    "call": {
      "id": "7NKe6!8fa1FMSlc6ypZdb1GSV6ZN@10.133.51.137"
    },
    "success": 1
  },
}"""
# Doc 9.2's answer verbatim (the table says "Total", the example "total").
WORKPLACES_ANSWER = """{
  "result": {
    "total": 1,
    "workplacesList": [{
      "workplace": "88314077716581",
      "name": "Администратор"
    }]
  }
}"""


def _request(
    contact: str = "79219462761", agents: tuple[str, ...] = (WORKPLACE,)
) -> CallbackRequest:
    return CallbackRequest(
        contact=contact,
        agents=agents,
        whisper="Клиент Иванов",
        callback_url="",
        contact_message="Соединяем",
        caller_id="74996480000",
        record=True,
        max_talk=600,
        description="42",
    )


def test_make_call_request_is_the_docs_example() -> None:
    params = build_make_call_params(_request(contact="89219462761"))
    assert params == json.loads(MAKE_CALL_REQUEST)


def test_make_call_sends_only_the_two_documented_fields() -> None:
    """The whisper, timeouts, caller id, recording and description have no parameter."""
    params = build_make_call_params(_request(contact="+79219462761", agents=(WORKPLACE, "1")))
    assert params == {"params": {"calleid": "79219462761", "callerId": WORKPLACE}}


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (_request(agents=("+7 499 648-00-00",)), ProviderRefusedError),
        (_request(agents=("workplace-1",)), ProviderRefusedError),
        (_request(agents=()), ValueError),
        (_request(contact="abc"), InvalidNumberError),
    ],
)
def test_requests_that_cannot_be_sent(request_: CallbackRequest, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        build_make_call_params(request_)
    if isinstance(caught.value, ProviderRefusedError):
        assert caught.value.campaign_level


def test_the_docs_make_call_answer() -> None:
    assert read_make_call_answer(200, MAKE_CALL_ANSWER) == CALL_ID


@pytest.mark.parametrize(
    ("status", "body", "error", "campaign_level"),
    [
        (200, "", UnknownOutcomeError, None),
        (200, "<html>ok</html>", UnknownOutcomeError, None),
        (200, '{"result": {"success": 1}}', UnknownOutcomeError, None),
        (200, '{"result": {"call": {}, "success": 1}}', UnknownOutcomeError, None),
        (200, '{"result": {"success": 0}}', ProviderRefusedError, False),
        (200, '{"result": {"success": 0, "message": "Invalid calleid"}}', InvalidNumberError, None),
        (
            200,
            '{"result": {"success": 0, "message": "callerId is not a workplace"}}',
            ProviderRefusedError,
            True,
        ),
        (400, '{"error": {"code": 400, "message": "Invalid calleid"}}', InvalidNumberError, None),
        (
            400,
            '{"error": {"code": 404, "message": "Workplace not found"}}',
            ProviderRefusedError,
            True,
        ),
        (400, '{"error": "bad_request"}', ProviderRefusedError, True),
        (400, "", ProviderRefusedError, True),
        (404, "<html>Not Found</html>", ProviderRefusedError, True),
        (405, "", ProviderRefusedError, True),
        (422, '{"error": "params required"}', ProviderRefusedError, True),
        (200, '{"error": "insufficient_scope"}', ProviderAuthError, None),
        (409, '{"error": {"code": 1, "message": "busy"}}', ProviderRefusedError, False),
    ],
)
def test_make_call_refusals(
    status: int, body: str, error: type[Exception], campaign_level: bool | None
) -> None:
    with pytest.raises(error) as caught:
        read_make_call_answer(status, body)
    assert type(caught.value) is error
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level


def test_the_docs_workplaces_answer() -> None:
    assert read_workplaces_answer(200, WORKPLACES_ANSWER) == [
        Workplace("88314077716581", "Администратор")
    ]


@pytest.mark.parametrize(
    "body",
    ['{"result": {"Total": 0}}', "nope", '{"error": "x"}', '{"result": {"workplacesList": 1}}'],
)
def test_unreadable_workplaces(body: str) -> None:
    with pytest.raises(ProviderError):
        read_workplaces_answer(200, body)


def test_missing_workplaces() -> None:
    workplaces = [Workplace("883140582526566"), Workplace("883140777380595")]
    agents = ("883140582526566", "79161234567", "883140777380595", "1")
    assert missing_workplaces(agents, workplaces) == ["79161234567", "1"]


class FakeTokens:
    """A token source that hands out ``tokens`` in turn and counts refreshes."""

    def __init__(self, *tokens: str, fail: Exception | None = None) -> None:
        self.tokens = list(tokens)
        self.rejected: list[str] = []
        self.fail = fail

    async def access_token(self) -> str:
        return self.tokens[0]

    async def refreshed(self, rejected: str) -> str:
        self.rejected.append(rejected)
        if self.fail is not None:
            raise self.fail
        self.tokens.pop(0)
        return self.tokens[0]


def _run(
    handler: Handler,
    tokens: FakeTokens | StaticTokenSource,
    action: Callable[[MttBusinessClient], object],
) -> object:
    async def main() -> object:
        client = MttBusinessClient(API + "/", tokens, transport=httpx.MockTransport(handler))
        try:
            result = action(client)
            assert asyncio.iscoroutine(result)
            return await result
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_place_callback_sends_the_bearer_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=MAKE_CALL_ANSWER)

    submitted = _run(handler, StaticTokenSource("tok-1"), lambda c: c.place_callback(_request()))
    assert submitted.provider_id == CALL_ID  # type: ignore[attr-defined]
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", f"{API}/makeCall")
    assert request.headers["authorization"] == "Bearer tok-1"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "params": {"calleid": "79219462761", "callerId": WORKPLACE}
    }


def test_a_401_is_refreshed_once_and_the_call_sent_once_more() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer old":
            return httpx.Response(401)
        return httpx.Response(200, text=MAKE_CALL_ANSWER)

    tokens = FakeTokens("old", "new")
    submitted = _run(handler, tokens, lambda c: c.place_callback(_request()))
    assert submitted.provider_id == CALL_ID  # type: ignore[attr-defined]
    assert seen == ["Bearer old", "Bearer new"]
    assert tokens.rejected == ["old"]


def test_a_second_401_is_an_auth_error_after_one_refresh() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        return httpx.Response(401, json={"error": "invalid_token"})

    tokens = FakeTokens("t1", "t2", "t3")
    with pytest.raises(ProviderAuthError, match="refreshed access token"):
        _run(handler, tokens, lambda c: c.place_callback(_request()))
    assert calls == ["Bearer t1", "Bearer t2"]
    assert tokens.rejected == ["t1"]


def test_a_lapsed_refresh_token_is_raised_as_is() -> None:
    tokens = FakeTokens("t1", fail=GrantLapsedError("reconnect MTT Business"))
    with pytest.raises(GrantLapsedError):
        _run(lambda r: httpx.Response(401), tokens, lambda c: c.place_callback(_request()))


def test_a_static_token_cannot_be_refreshed() -> None:
    with pytest.raises(ProviderAuthError):
        _run(
            lambda r: httpx.Response(401),
            StaticTokenSource("t"),
            lambda c: c.place_callback(_request()),
        )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (403, ProviderAuthError),
        (429, TransientProviderError),
        (500, TransientProviderError),
        (503, TransientProviderError),
        (504, UnknownOutcomeError),
    ],
)
def test_transport_statuses(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        _run(
            lambda r: httpx.Response(status),
            StaticTokenSource("t"),
            lambda c: c.place_callback(_request()),
        )


@pytest.mark.parametrize(
    ("failure", "make_call_error", "read_error"),
    [
        (httpx.ConnectError("refused"), TransientProviderError, TransientProviderError),
        (httpx.ReadTimeout("lost"), UnknownOutcomeError, TransientProviderError),
    ],
)
def test_lost_answers(
    failure: Exception, make_call_error: type[Exception], read_error: type[Exception]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(make_call_error):
        _run(handler, StaticTokenSource("t"), lambda c: c.place_callback(_request()))
    with pytest.raises(read_error):
        _run(handler, StaticTokenSource("t"), lambda c: c.workplaces())


def test_workplaces_and_missing_agents() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers["authorization"] == "Bearer old":
            return httpx.Response(401)
        return httpx.Response(200, text=WORKPLACES_ANSWER)

    missing = _run(
        handler,
        FakeTokens("old", "new"),
        lambda c: c.missing_agents(("88314077716581", "79161234567")),
    )
    assert missing == ["79161234567"]
    assert [(r.method, str(r.url)) for r in seen] == [("GET", f"{API}/workplacesInfo")] * 2
    assert seen[-1].content == b""


def test_tokens_stay_out_of_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text="forbidden")

    with pytest.raises(ProviderAuthError) as caught:
        _run(handler, StaticTokenSource("secret-token-1"), lambda c: c.place_callback(_request()))
    assert "secret-token-1" not in f"{caught.value} {caught.value.raw}"
