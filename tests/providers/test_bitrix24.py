"""Bitrix24Client against the requests and answers of ``voximplant.callback.start``
(/work/shared/reference/bitrix24-voximplant-callback-start.txt and the public page
https://apidocs.bitrix24.com/api-reference/telephony/voximplant/voximplant-callback-start.html,
its Russian twin on apidocs.bitrix24.ru, the "system errors" table and voximplant.line.get).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
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
from dialer.logs import add_secrets, discard_secrets, mask_text
from dialer.providers.bitrix24 import (
    Bitrix24Client,
    build_bitrix24_client,
    build_callback_start_params,
    line_for,
)
from dialer.providers.bitrix24_answers import (
    CallbackStarted,
    read_callback_start_answer,
    read_line_get_answer,
)
from dialer.providers.bitrix24_webhook import (
    mask_webhook_url,
    parse_rest_webhook,
    portal_host,
    webhook_code,
)
from dialer.providers.callback_base import CallbackRequest
from dialer.settings import Settings

T = TypeVar("T")
CODE = "abc123xyz0987654"
WEBHOOK = f"https://portal.bitrix24.ru/rest/1/{CODE}/"
Handler = Callable[[httpx.Request], httpx.Response]

# The public page's success answer, verbatim.
SUCCESS = """{
    "result": {
        "RESULT": true,
        "CALL_ID": "callback.72f42b118e019a4cc47629ff60525f43.1773736077"
    },
    "time": {
        "start": 1773736066,
        "finish": 1773736067.708955,
        "duration": 1.7089550495147705,
        "processing": 1,
        "date_start": "2026-03-17T11:27:46+02:00",
        "date_finish": "2026-03-17T11:27:47+02:00",
        "operating_reset_at": 1773736666,
        "operating": 0.9574570655822754
    }
}"""
CALL_ID = "callback.72f42b118e019a4cc47629ff60525f43.1773736077"
# The public page's error example, verbatim ("HTTP Status: 400, 403").
WRONG_LINE = """{
    "error": "ERROR_CORE",
    "error_description": "Could not find line reg000000"
}"""
# voximplant.line.get's documented answer.
LINES = """{
    "result": {
        "reg150907": "SIP line",
        "sip7": "Office PBX 1",
        "reg151083": "Cloud PBX (9)",
        "sip11": "Office PBX (11)",
        "reg151085": "SIP line 2"
    },
    "time": {"start": 1773664148, "finish": 1773664148.538045}
}"""


def error(code: str, description: str) -> str:
    return json.dumps({"error": code, "error_description": description})


def request(**overrides: object) -> CallbackRequest:
    fields: dict[str, object] = {
        "contact": "79991234567",
        "agents": ("reg151083",),
        "whisper": "Вам поступил запрос на обратный звонок",
        "callback_url": "https://hooks.example.com/hooks/tok/mtt/callback",
        "description": "42",
    }
    fields.update(overrides)
    return CallbackRequest(**fields)  # type: ignore[arg-type]


def with_client(
    handler: Handler,
    use: Callable[[Bitrix24Client], Awaitable[T]],
    *,
    url: str = WEBHOOK,
    voice: str = "",
) -> T:
    async def go() -> T:
        client = Bitrix24Client(SecretStr(url), voice=voice, transport=httpx.MockTransport(handler))
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


def answer(body: str, status: int = 200) -> Handler:
    return lambda _request: httpx.Response(status, text=body)


# -- the request ---------------------------------------------------------------------------


def test_the_reference_example() -> None:
    """The reference's BX24.callMethod example, as our builder writes it."""
    params = build_callback_start_params(
        request(
            agents=("reg1332",),
            contact="79110000000",  # "7911xxxxxxx"
            whisper="You have a callback request, connecting with the client now.",
        ),
        voice="ruinternalfemale",
    )
    assert params == {
        "FROM_LINE": "reg1332",
        "TO_NUMBER": "79110000000",
        "TEXT_TO_PRONOUNCE": "You have a callback request, connecting with the client now.",
        "VOICE": "ruinternalfemale",
    }
    assert list(params) == ["FROM_LINE", "TO_NUMBER", "TEXT_TO_PRONOUNCE", "VOICE"]


def test_the_public_curl_example_is_the_body_we_post() -> None:
    """apidocs.bitrix24.ru's cURL (Webhook) example: JSON POST to <webhook>/<method>."""
    seen: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent)
        return httpx.Response(200, text=SUCCESS)

    submitted = with_client(
        handler, lambda client: client.place_callback(request()), voice="ruinternalfemale"
    )
    assert submitted.provider_id == CALL_ID
    (sent,) = seen
    assert sent.method == "POST"
    assert str(sent.url) == f"{WEBHOOK}voximplant.callback.start"
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == {
        "FROM_LINE": "reg151083",
        "TO_NUMBER": "79991234567",
        "TEXT_TO_PRONOUNCE": "Вам поступил запрос на обратный звонок",
        "VOICE": "ruinternalfemale",
    }


def test_voice_is_left_out_unless_configured() -> None:
    assert "VOICE" not in build_callback_start_params(request())


def test_what_the_method_cannot_take_is_not_sent() -> None:
    params = build_callback_start_params(
        request(
            agents=("reg1", "sip7"),
            ring="sequence",
            agent_timeout=40,
            contact_message="Соединяем",
            caller_id="74950000000",
            record=True,
            max_talk=600,
        )
    )
    assert set(params) == {"FROM_LINE", "TO_NUMBER", "TEXT_TO_PRONOUNCE"}
    assert params["FROM_LINE"] == "reg1"  # one line per call: the first agent


@pytest.mark.parametrize("line", ["reg1332", "reg151083", "sip7", "sip11", "74951234567"])
def test_documented_line_ids(line: str) -> None:
    assert line_for(request(agents=(line,))) == line


@pytest.mark.parametrize("line", ["", "reg", "reg 1", "+74951234567", "line/1", "reg1.json"])
def test_values_that_are_no_line_pause_the_campaign(line: str) -> None:
    with pytest.raises(ProviderRefusedError) as caught:
        line_for(request(agents=(line,)))
    assert caught.value.campaign_level


def test_requests_no_campaign_should_make() -> None:
    with pytest.raises(ValueError, match="agent"):
        build_callback_start_params(request(agents=()))
    with pytest.raises(ValueError, match="TEXT_TO_PRONOUNCE"):
        build_callback_start_params(request(whisper="  "))


# -- the webhook URL -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        WEBHOOK,
        WEBHOOK.rstrip("/"),
        f"{WEBHOOK}profile.json",
        f"{WEBHOOK}department.get.json?ID=42",
        f"  {WEBHOOK}  ",
    ],
)
def test_webhook_urls(url: str) -> None:
    webhook = parse_rest_webhook(url)
    assert webhook.base == WEBHOOK
    assert webhook.code == CODE
    assert webhook.masked == "https://portal.bitrix24.ru/rest/1/***/"
    assert webhook.method_url("voximplant.line.get") == f"{WEBHOOK}voximplant.line.get"
    assert portal_host(url) == "portal.bitrix24.ru"  # the rate account: never the code


@pytest.mark.parametrize(
    "url",
    [
        "",
        "portal.bitrix24.ru/rest/1/abc/",
        f"ftp://portal.bitrix24.ru/rest/1/{CODE}/",
        f"https://portal.bitrix24.ru/{CODE}/",
        f"https://portal.bitrix24.ru/rest/admin/{CODE}/",
    ],
)
def test_urls_that_are_no_webhook(url: str) -> None:
    with pytest.raises(ValueError, match="expected https://") as caught:
        parse_rest_webhook(url)
    assert CODE not in str(caught.value)
    assert webhook_code(url) == ""
    assert portal_host(url) == "unconfigured"
    assert CODE not in mask_webhook_url(url)


def test_a_bad_webhook_url_pauses_the_campaign_without_repeating_it() -> None:
    calls: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        calls.append(sent)
        return httpx.Response(200, text=SUCCESS)

    bad = f"https://portal.bitrix24.ru/hooks/{CODE}/"
    with pytest.raises(ProviderRefusedError) as caught:
        with_client(handler, lambda client: client.place_callback(request()), url=bad)
    assert caught.value.campaign_level
    assert "DIALER_BITRIX24_WEBHOOK_URL" in str(caught.value)
    assert CODE not in str(caught.value)
    assert calls == []


# -- the answer ----------------------------------------------------------------------------


def test_the_documented_success() -> None:
    assert read_callback_start_answer(200, SUCCESS) == CallbackStarted(CALL_ID, SUCCESS)


@pytest.mark.parametrize(
    ("status", "body", "error", "campaign_level"),
    [
        # The method's documented errors.
        (400, WRONG_LINE, ProviderRefusedError, True),
        (403, WRONG_LINE, ProviderRefusedError, True),
        (
            400,
            error("ERROR_CORE", "Could not find config for number reg1"),
            ProviderRefusedError,
            True,
        ),
        (400, error("ERROR_CORE", "Phone number is not correct"), InvalidNumberError, None),
        (403, error("ACCESS_DENIED", "Access denied"), ProviderAuthError, None),
        (400, error("ERROR_CORE", "Something else"), ProviderRefusedError, False),
        # "error may arrive empty - then only error_description shows the reason".
        (400, error("", "Phone number is not correct"), InvalidNumberError, None),
        (400, error("", "Could not find line reg1"), ProviderRefusedError, True),
        # The system errors any method may answer.
        (503, error("QUERY_LIMIT_EXCEEDED", "Too many requests"), TransientProviderError, None),
        (429, error("OPERATION_TIME_LIMIT", "Method is blocked"), TransientProviderError, None),
        (401, error("NO_AUTH_FOUND", "Wrong authorization data"), ProviderAuthError, None),
        (401, error("INVALID_CREDENTIALS", "Invalid request credentials"), ProviderAuthError, None),
        (401, error("insufficient_scope", "higher privileges"), ProviderAuthError, None),
        (
            401,
            error("expired_token", "The access token provided has expired"),
            ProviderAuthError,
            None,
        ),
        (401, error("user_access_error", "no access"), ProviderAuthError, None),
        (401, error("OVERLOAD_LIMIT", "REST API is blocked"), ProviderAuthError, None),
        (
            401,
            error("ACCESS_DENIED", "REST is available only by subscription"),
            ProviderAuthError,
            None,
        ),
        (403, error("PORTAL_DELETED", "Portal was deleted"), ProviderAuthError, None),
        (401, error("INVALID_REQUEST", "Https required"), ProviderRefusedError, True),
        (404, error("ERROR_METHOD_NOT_FOUND", "Method not found!"), ProviderRefusedError, True),
        # The portal ran the method and failed: the line may ring.
        (500, error("INTERNAL_SERVER_ERROR", "Internal server error"), UnknownOutcomeError, None),
        (500, error("ERROR_UNEXPECTED_ANSWER", "unexpected"), UnknownOutcomeError, None),
        # Undocumented codes: the status decides.
        (401, error("SOMETHING_NEW", ""), ProviderAuthError, None),
        (400, error("SOMETHING_NEW", ""), ProviderRefusedError, False),
        (503, error("SOMETHING_NEW", ""), TransientProviderError, None),
        # An error in a 200 answer is still an error.
        (200, error("ERROR_CORE", "Phone number is not correct"), InvalidNumberError, None),
    ],
)
def test_error_answers(
    status: int, body: str, error: type[ProviderError], campaign_level: bool | None
) -> None:
    with pytest.raises(error) as caught:
        read_callback_start_answer(status, body)
    assert type(caught.value) is error
    assert caught.value.status_code == status
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        # Accepted, but no id to match events by: the line may be ringing.
        (200, '{"result": {"RESULT": true}}', UnknownOutcomeError),
        (200, '{"result": true}', UnknownOutcomeError),
        (200, "not json", UnknownOutcomeError),
        (200, "", UnknownOutcomeError),
        # "RESULT: true - callback successfully initiated": false is a refusal.
        (200, '{"result": {"RESULT": false, "CALL_ID": "callback.x.1"}}', ProviderRefusedError),
        # A front proxy's pages.
        (502, "<html>Bad Gateway</html>", TransientProviderError),
        (503, "<html>Service Unavailable</html>", TransientProviderError),
        (504, "<html>Gateway Time-out</html>", UnknownOutcomeError),
        (500, "", UnknownOutcomeError),
        (429, "", TransientProviderError),
        (401, "", ProviderAuthError),
        (403, "", ProviderAuthError),
        (404, "<html>Not Found</html>", ProviderRefusedError),
        (301, "", ProviderRefusedError),
        (400, "", ProviderRefusedError),
    ],
)
def test_other_answers(status: int, body: str, error: type[ProviderError]) -> None:
    with pytest.raises(error) as caught:
        read_callback_start_answer(status, body)
    assert type(caught.value) is error


def test_a_numeric_call_id_is_read_as_text() -> None:
    assert read_callback_start_answer(200, '{"result": {"CALL_ID": 17}}').call_id == "17"


def test_line_get_reads_the_documented_answer() -> None:
    lines = read_line_get_answer(200, LINES)
    assert lines["reg151083"] == "Cloud PBX (9)"
    assert list(lines) == ["reg150907", "sip7", "reg151083", "sip11", "reg151085"]
    assert read_line_get_answer(200, '{"result": []}') == {}


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (403, error("ACCESS_DENIED", "Access denied!"), ProviderAuthError),
        # A read is idempotent: a failed run is only transient.
        (500, error("INTERNAL_SERVER_ERROR", "x"), TransientProviderError),
        (504, "", TransientProviderError),
        (200, "not json", ProviderError),
        (200, '{"result": "x"}', ProviderError),
    ],
)
def test_line_get_errors(status: int, body: str, error: type[ProviderError]) -> None:
    with pytest.raises(error) as caught:
        read_line_get_answer(status, body)
    assert type(caught.value) is error


# -- the client ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "start_error", "lines_error"),
    [
        (httpx.ConnectError("refused"), TransientProviderError, TransientProviderError),
        (httpx.ReadTimeout("slow"), UnknownOutcomeError, TransientProviderError),
        (httpx.RemoteProtocolError("dropped"), UnknownOutcomeError, TransientProviderError),
    ],
)
def test_transport_failures(
    failure: Exception, start_error: type[ProviderError], lines_error: type[ProviderError]
) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(start_error):
        with_client(handler, lambda client: client.place_callback(request()))
    with pytest.raises(lines_error):
        with_client(handler, lambda client: client.lines())


def test_line_get_and_missing_lines() -> None:
    seen: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent)
        return httpx.Response(200, text=LINES)

    missing = with_client(handler, lambda client: client.missing_lines(("reg151083", "reg9")))
    assert missing == ["reg9"]
    assert str(seen[0].url) == f"{WEBHOOK}voximplant.line.get"


def test_redirects_are_not_followed() -> None:
    calls: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        calls.append(sent)
        return httpx.Response(302, headers={"Location": "https://other.example/"})

    with pytest.raises(ProviderRefusedError) as caught:
        with_client(handler, lambda client: client.place_callback(request()))
    assert caught.value.campaign_level
    assert len(calls) == 1


def test_the_webhook_code_never_leaves_the_client(caplog: pytest.LogCaptureFixture) -> None:
    """An error page echoing the path, a transport error naming the URL: scrubbed."""
    echo = f"<html>The requested URL /rest/1/{CODE}/voximplant.callback.start was not found</html>"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderRefusedError) as refused:
        with_client(answer(echo, 404), lambda client: client.place_callback(request()))
    assert CODE not in str(refused.value)
    assert CODE not in refused.value.raw
    assert "***" in refused.value.raw

    def leaky(sent: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {sent.url}")

    with pytest.raises(TransientProviderError) as transient:
        with_client(leaky, lambda client: client.place_callback(request()))
    assert CODE not in str(transient.value)
    assert transient.value.__cause__ is None  # the cause named the URL: dropped
    assert transient.value.__suppress_context__

    with pytest.raises(ProviderAuthError) as auth:
        with_client(
            answer(error("INVALID_CREDENTIALS", f"no webhook {CODE}"), 401),
            lambda client: client.lines(),
        )
    assert CODE not in f"{auth.value} {auth.value.raw}"
    with_client(answer(SUCCESS), lambda client: client.place_callback(request()))
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("dialer")]
    assert ours
    assert not [line for line in ours if CODE in line or "79991234567" in line]


def test_httpx_request_lines_are_masked_by_the_settings_secrets() -> None:
    """httpx logs each request URL at INFO (``configure_logging`` raises it to WARNING);
    whatever prints it, the code is one of the process's secrets, even when the portal's
    host is spelled differently from the setting."""
    settings = Settings.model_validate(
        {"bitrix24_webhook_url": f"https://Portal.Bitrix24.RU/rest/1/{CODE}"}
    )
    line = f'HTTP Request: POST https://portal.bitrix24.ru/rest/1/{CODE}/voximplant.line.get "200"'
    secrets = settings.secret_values()
    add_secrets(*secrets)
    try:
        assert CODE not in mask_text(line)
    finally:
        discard_secrets(*secrets)


def test_a_cause_without_the_code_is_kept() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(UnknownOutcomeError) as caught:
        with_client(handler, lambda client: client.place_callback(request()))
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_built_from_settings() -> None:
    seen: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent)
        return httpx.Response(200, text=SUCCESS)

    settings = Settings.model_validate(
        {"bitrix24_webhook_url": WEBHOOK, "bitrix24_voice": "ruinternalmale"}
    )

    async def go() -> None:
        client = build_bitrix24_client(settings, httpx.MockTransport(handler))
        try:
            await client.place_callback(request())
        finally:
            await client.aclose()

    asyncio.run(go())
    assert json.loads(seen[0].content)["VOICE"] == "ruinternalmale"
    assert not Bitrix24Client.reads_results


def test_settings_keep_the_webhook_secret() -> None:
    settings = Settings.model_validate(
        {
            "bitrix24_webhook_url": f"https://Portal.Bitrix24.ru/rest/1/{CODE}/",
            "bitrix24_application_token": "51610fefc120afg4b628cc82d6298cce",
        }
    )
    secrets = settings.secret_values()
    assert CODE in secrets  # the code alone, however a log line spells the host
    assert f"https://Portal.Bitrix24.ru/rest/1/{CODE}/" in secrets
    assert "51610fefc120afg4b628cc82d6298cce" in secrets
    assert CODE not in repr(settings)
    assert settings.unset("bitrix24_webhook_url", "bitrix24_application_token") == []
    assert Settings().unset("bitrix24_webhook_url", "bitrix24_application_token") == [
        "DIALER_BITRIX24_WEBHOOK_URL",
        "DIALER_BITRIX24_APPLICATION_TOKEN",
    ]
