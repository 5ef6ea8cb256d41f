"""UisClient against UIS's ``start.simple_call`` page (/work/shared/reference/
uis-start-simple-call.txt) and the Call API's common sections (login.user, the error list):
requests built as the doc says, answers and every listed error read, the session key."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from dialer.errors import (
    ContactBlockedError,
    InvalidNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRefusedError,
    TransientProviderError,
    UnknownOutcomeError,
)
from dialer.providers.callback_base import CallbackRequest
from dialer.providers.uis import (
    CONTENT_TYPE,
    UisClient,
    build_simple_call_params,
    build_uis_client,
    choose_operator,
    e164_digits,
    missing_uis_credentials,
    uis_account_key,
)
from dialer.providers.uis_answers import (
    SESSION_LIFETIME_SECONDS,
    UisTokenError,
    read_login_answer,
    read_simple_call_answer,
)
from dialer.settings import Settings

URL = "https://callapi.uiscom.ru/v4.0"
TOKEN = "2fRN4g217ca0b4224a67988aff3e584f91964a692045415f36fa66146f5a3c1ae1f6093d"

# Every row of the "Параметры запроса" table (lines 19-117), nothing else.
DOC_PARAMETERS = {
    "access_token",
    "first_call",
    "switch_at_once",
    "early_switching",
    "media_file_id",
    "virtual_phone_number",
    "virtual_phone_usage_rule",
    "show_virtual_phone_number",
    "contact",
    "external_id",
    "dtmf_string",
    "direction",
    "operator",
    "operator_confirmation",
    "contact_message",
    "operator_message",
}
DOC_REQUEST = {
    "jsonrpc": "2.0",
    "method": "start.simple_call",
    "id": "req1",
    "params": {
        "access_token": TOKEN,
        "first_call": "operator",
        "switch_at_once": True,
        "media_file_id": 2701,
        "show_virtual_phone_number": False,
        "virtual_phone_number": "74993720692",
        "external_id": "334otr01",
        "dtmf_string": ".1.2.3",
        "direction": "in",
        "contact": "79260000000",
        "operator": "79262444491",
        "contact_message": {"type": "tts", "value": "Привет"},
        "operator_message": {"type": "media", "value": "2561"},
    },
}
DOC_ANSWER = """{
 "jsonrpc": "2.0",
 "id": "req1",
 "result": {
  "data": {
   "call_session_id": 237859081
  }
 }
}"""
LOGIN_ANSWER = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": "req1",
        "result": {"data": {"access_token": TOKEN, "expire_at": 1475853742}},
    }
)


def _request(**changes: Any) -> CallbackRequest:
    fields: dict[str, Any] = {
        "contact": "79260000000",
        "agents": ("79262444491",),
        "whisper": "Клиент Иван, заявка 7",
        "callback_url": "",
        "caller_id": "74993720692",
        "contact_message": "Привет",
        "description": "334",
    }
    fields.update(changes)
    return CallbackRequest(**fields)


def _error(code: int, message: str, mnemonic: str, **data: Any) -> str:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": "1",
            "error": {"code": code, "message": message, "data": {"mnemonic": mnemonic, **data}},
        }
    )


# --- requests -------------------------------------------------------------------------------


def test_the_doc_example_uses_only_table_parameters() -> None:
    assert set(DOC_REQUEST["params"]) <= DOC_PARAMETERS  # type: ignore[arg-type]


def test_params_hold_exactly_what_we_mean_and_only_table_parameters() -> None:
    params = build_simple_call_params(_request(), access_token=TOKEN)
    assert set(params) <= DOC_PARAMETERS
    assert params == {
        "access_token": TOKEN,
        "first_call": "operator",
        "virtual_phone_number": "74993720692",
        "direction": "out",
        "contact": "79260000000",
        "operator": "79262444491",
        "operator_confirmation": "any",
        "external_id": "334",
        "operator_message": {"type": "tts", "value": "Клиент Иван, заявка 7"},
        "contact_message": {"type": "tts", "value": "Привет"},
    }


def test_params_match_the_doc_example_where_they_share_a_key() -> None:
    """Numbers as digit strings (E.164 without ``+``), messages as ``{type, value}``."""
    example: dict[str, Any] = DOC_REQUEST["params"]  # type: ignore[assignment]
    params = build_simple_call_params(
        _request(contact="+79260000000", agents=("+7 926 244-44-91",), description="334otr01"),
        access_token=TOKEN,
    )
    for key in ("access_token", "first_call", "virtual_phone_number", "contact", "operator"):
        assert params[key] == example[key], key
    assert params["external_id"] == example["external_id"]
    assert params["contact_message"] == example["contact_message"]
    assert set(params["operator_message"]) == set(example["operator_message"])  # type: ignore[arg-type]


def test_optional_parts_are_left_out() -> None:
    params = build_simple_call_params(
        _request(contact_message=None, description=None), access_token=TOKEN
    )
    assert "contact_message" not in params
    assert "external_id" not in params
    assert set(params) <= DOC_PARAMETERS


@pytest.mark.parametrize(
    ("changes", "error", "campaign_level"),
    [
        ({"contact": "12"}, InvalidNumberError, None),
        ({"contact": "+7 (926) 000-00-00x"}, InvalidNumberError, None),
        ({"agents": ("101",)}, ProviderRefusedError, True),
        ({"caller_id": None}, ProviderRefusedError, True),
        ({"caller_id": "sender"}, ProviderRefusedError, True),
    ],
)
def test_local_refusals(
    changes: dict[str, Any], error: type[ProviderError], campaign_level: bool | None
) -> None:
    with pytest.raises(error) as caught:
        build_simple_call_params(_request(**changes), access_token=TOKEN)
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level


@pytest.mark.parametrize(
    ("description", "expected"),
    [("0", "74990000001"), ("1", "74990000002"), ("5", "74990000003"), (None, "74990000001")],
)
def test_one_operator_per_call_taking_turns_by_attempt(
    description: str | None, expected: str
) -> None:
    agents = ("74990000001", "74990000002", "74990000003")
    assert choose_operator(_request(agents=agents, description=description)) == expected


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("79091234567", "79091234567"),
        ("+79091234567", "79091234567"),
        ("+7 (909) 123-45-67", "79091234567"),
        ("101", None),
        ("7909123456789012", None),
    ],
)
def test_e164(raw: str, digits: str | None) -> None:
    assert e164_digits(raw) == digits


# --- answers and errors ---------------------------------------------------------------------


def test_the_doc_answer() -> None:
    started = read_simple_call_answer(200, DOC_ANSWER)
    assert started.call_session_id == "237859081"  # a number in the doc, text for us


def test_the_login_answer() -> None:
    session = read_login_answer(200, LOGIN_ANSWER, now=0.0)
    assert (session.access_token, session.expire_at) == (TOKEN, 1475853742.0)


def test_a_login_answer_without_expire_at_lives_the_documented_hour() -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"data": {"access_token": "k"}}})
    assert read_login_answer(200, body, now=100.0).expire_at == 100.0 + SESSION_LIFETIME_SECONDS


# The method's own list (lines 170-175), then the common list and code groups.
ERRORS: list[tuple[str, type[ProviderError], bool | None]] = [
    (
        _error(
            -32602,
            "The maximum length of Text-to-Speech message is 500. "
            "The length of your message is 900",
            "tts_text_exceeded",
        ),
        ProviderRefusedError,
        True,
    ),
    (
        _error(-32602, "The media file with id 2561 not found", "media_file_not_found"),
        ProviderRefusedError,
        True,
    ),
    (
        _error(
            -32007,
            "Virtual phone number 74993720692 not found. It is not your virtual phone number.",
            "virtual_phone_number_not_found",
        ),
        ProviderRefusedError,
        True,
    ),
    (
        _error(
            -32602,
            "Parameter contact can not contain own virtual phone number",
            "own_virtual_phone_number_not_allowed",
        ),
        InvalidNumberError,
        None,
    ),
    (
        _error(
            -32002,
            "The contact 79260000000 has been found in the blacklist",
            "contact_in_blacklist",
        ),
        ContactBlockedError,
        None,
    ),
    (
        _error(-32602, "The character encoding must be UTF-8", "character_encoding_not_allowed"),
        ProviderRefusedError,
        True,
    ),
    (
        _error(
            -32602,
            "The combination of parameters is not permitted",
            "invalid_parameters_combination",
        ),
        ProviderRefusedError,
        True,
    ),
    (
        _error(
            -32029,
            "Limit per minute has been exceeded. Value of current limit per minute is 250",
            "limit_exceeded",
        ),
        TransientProviderError,
        None,
    ),
    (_error(-32001, "Access token has been expired", "access_token_expired"), UisTokenError, None),
    (_error(-32001, "Access token is invalid", "access_token_invalid"), UisTokenError, None),
    (
        _error(-32001, "Access token has been blocked", "access_token_blocked"),
        ProviderAuthError,
        None,
    ),
    (_error(-32001, "Login or password is wrong", "auth_error"), ProviderAuthError, None),
    (
        _error(-32003, "Your IP 10.0.0.1 is not whitelisted", "ip_not_whitelisted"),
        ProviderAuthError,
        None,
    ),
    (_error(-32003, "Permission denied", "forbidden"), ProviderAuthError, None),
    (
        _error(-32008, "Component Call API has been disabled", "component_disabled"),
        ProviderRefusedError,
        True,
    ),
    (
        _error(
            -32009,
            "Your account has been disabled, contact the support service",
            "account_inactive",
        ),
        ProviderRefusedError,
        True,
    ),
    (
        _error(
            -32602, "Unexpected method parameter(s)", "unexpected_parameters", field="callback_url"
        ),
        ProviderRefusedError,
        True,
    ),
    (
        _error(
            -32602,
            "The required parameter has been missed",
            "required_parameter_missed",
            field="operator",
        ),
        ProviderRefusedError,
        True,
    ),
    (
        _error(
            -32602,
            "Invalid parameter value",
            "invalid_parameter_value",
            field="contact",
            value="номер",
        ),
        InvalidNumberError,
        None,
    ),
    (
        _error(-32602, "Data supplied is of wrong type", "data_type_error", field="contact"),
        InvalidNumberError,
        None,
    ),
    (
        _error(-32602, "Invalid parameter value", "invalid_parameter_value", field="operator"),
        ProviderRefusedError,
        True,
    ),
    (
        _error(-32601, "The method does not exist / is not available", "method_not_found"),
        ProviderRefusedError,
        True,
    ),
    (
        _error(-32700, "Invalid JSON was received by the server.", "parse_error"),
        ProviderRefusedError,
        True,
    ),
    (
        _error(-32603, "Internal error, contact the support service", "internal_error"),
        UnknownOutcomeError,
        None,
    ),
    # Unknown mnemonics fall back on the code groups.
    (_error(-32001, "Something about keys", "new_key_error"), ProviderAuthError, None),
    (_error(-32029, "Limit per day has been exceeded", "new_limit"), TransientProviderError, None),
    (
        _error(-32002, "Calls to this direction are forbidden", "new_rule"),
        ProviderRefusedError,
        False,
    ),
    (_error(-32007, "Virtual number trouble", "new_vnumber"), ProviderRefusedError, True),
]


@pytest.mark.parametrize(("body", "error", "campaign_level"), ERRORS)
def test_error_mapping(body: str, error: type[ProviderError], campaign_level: bool | None) -> None:
    with pytest.raises(ProviderError) as caught:
        read_simple_call_answer(200, body)
    assert type(caught.value) is error
    if campaign_level is not None:
        assert isinstance(caught.value, ProviderRefusedError)
        assert caught.value.campaign_level is campaign_level


def test_the_doc_error_example_about_the_contact() -> None:
    """The "Сообщения об ошибках" example: a wrong type for ``contact``."""
    body = """{"jsonrpc": "2.0", "id": null, "error": {"code": -32602,
      "message": "Data supplied is of wrong type",
      "data": {"mnemonic": "data_type_error", "field": "contact", "value": "номер",
               "params": {"object": null}, "extended_helper": null}}}"""
    with pytest.raises(InvalidNumberError, match="data_type_error"):
        read_simple_call_answer(200, body)


def test_an_internal_error_during_login_is_transient() -> None:
    body = _error(-32603, "Internal error, contact the support service", "internal_error")
    with pytest.raises(TransientProviderError):
        read_login_answer(200, body, now=0.0)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, "<html>oops</html>", UnknownOutcomeError),
        (200, '{"jsonrpc": "2.0", "id": "1", "result": {"data": {}}}', UnknownOutcomeError),
        (
            200,
            '{"jsonrpc": "2.0", "id": "1", "result": {"data": {"call_session_id": true}}}',
            UnknownOutcomeError,
        ),
        (404, "<html>Not Found</html>", ProviderRefusedError),
    ],
)
def test_unreadable_answers(status: int, body: str, error: type[ProviderError]) -> None:
    with pytest.raises(error):
        read_simple_call_answer(status, body)


def test_a_session_key_never_lands_in_an_error() -> None:
    body = _error(
        -32001,
        "Access token is invalid",
        "access_token_invalid",
        field="access_token",
        value="secret-key",
    )
    with pytest.raises(UisTokenError) as caught:
        read_simple_call_answer(200, body)
    assert "secret-key" not in caught.value.raw


# --- the client -----------------------------------------------------------------------------


class Uis:
    """A scripted Call API: ``answers[method]`` is a list of bodies served in turn."""

    def __init__(self, **answers: list[str]) -> None:
        self.answers = {
            method.replace("_", ".", 1): list(bodies) for method, bodies in answers.items()
        }
        self.requests: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        self.headers.append(request.headers)
        return httpx.Response(200, text=self.answers[body["method"]].pop(0))

    def methods(self) -> list[str]:
        return [request["method"] for request in self.requests]


def _client(uis: Uis, clock: Callable[[], float] = lambda: 1000.0, **auth: Any) -> UisClient:
    if not auth:
        auth = {"login": "user", "password": SecretStr("pass")}
    return UisClient(URL, transport=httpx.MockTransport(uis.handler), clock=clock, **auth)


def _login(token: str, expire_at: int = 1000 + 3600) -> str:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": "1",
            "result": {"data": {"access_token": token, "expire_at": expire_at}},
        }
    )


TOKEN_INVALID = _error(-32001, "Access token is invalid", "access_token_invalid")


def test_permanent_key_is_sent_as_is_and_no_login_happens() -> None:
    uis = Uis(start_simple_call=[DOC_ANSWER])

    async def main() -> str:
        client = _client(uis, access_token=SecretStr("permanent"))
        try:
            return (await client.place_callback(_request())).provider_id
        finally:
            await client.aclose()

    assert asyncio.run(main()) == "237859081"
    assert uis.methods() == ["start.simple_call"]
    (sent,) = uis.requests
    assert sent["jsonrpc"] == "2.0"
    assert isinstance(sent["id"], str)
    assert sent["params"]["access_token"] == "permanent"
    assert set(sent["params"]) <= DOC_PARAMETERS
    assert uis.headers[0]["content-type"] == CONTENT_TYPE


def test_a_refused_permanent_key_is_auth_at_once() -> None:
    uis = Uis(start_simple_call=[TOKEN_INVALID])

    async def main() -> None:
        client = _client(uis, access_token=SecretStr("permanent"))
        try:
            await client.place_callback(_request())
        finally:
            await client.aclose()

    with pytest.raises(ProviderAuthError):
        asyncio.run(main())
    assert uis.methods() == ["start.simple_call"]


def test_login_then_the_session_key_is_reused_until_it_nears_expiry() -> None:
    now = [1000.0]
    uis = Uis(
        login_user=[_login("k1", expire_at=1000 + 3600), _login("k2", expire_at=5000 + 3600)],
        start_simple_call=[DOC_ANSWER, DOC_ANSWER, DOC_ANSWER],
    )

    async def main() -> None:
        client = _client(uis, clock=lambda: now[0])
        try:
            await client.place_callback(_request())
            now[0] = 1000 + 3600 - 61  # still outside the renewal margin
            await client.place_callback(_request())
            now[0] = 1000 + 3600 - 59  # inside it: renewed before UIS refuses it
            await client.place_callback(_request())
        finally:
            await client.aclose()

    asyncio.run(main())
    assert uis.methods() == [
        "login.user",
        "start.simple_call",
        "start.simple_call",
        "login.user",
        "start.simple_call",
    ]
    assert uis.requests[0]["params"] == {"login": "user", "password": "pass"}
    keys = [r["params"]["access_token"] for r in uis.requests if r["method"] == "start.simple_call"]
    assert keys == ["k1", "k1", "k2"]


def test_a_refused_session_key_is_renewed_once_and_the_call_sent_again() -> None:
    uis = Uis(
        login_user=[_login("k1"), _login("k2")], start_simple_call=[TOKEN_INVALID, DOC_ANSWER]
    )

    async def main() -> str:
        client = _client(uis)
        try:
            return (await client.place_callback(_request())).provider_id
        finally:
            await client.aclose()

    assert asyncio.run(main()) == "237859081"
    assert uis.methods() == ["login.user", "start.simple_call", "login.user", "start.simple_call"]


def test_a_key_refused_twice_is_auth() -> None:
    uis = Uis(
        login_user=[_login("k1"), _login("k2")], start_simple_call=[TOKEN_INVALID, TOKEN_INVALID]
    )

    async def main() -> None:
        client = _client(uis)
        try:
            await client.place_callback(_request())
        finally:
            await client.aclose()

    with pytest.raises(ProviderAuthError, match=r"after a fresh login\.user"):
        asyncio.run(main())
    assert uis.methods().count("start.simple_call") == 2


def test_concurrent_calls_log_in_once() -> None:
    logins = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal logins
        body = json.loads(request.content)
        if body["method"] == "login.user":
            logins += 1
            await asyncio.sleep(0.05)  # both calls wait on the same login
            return httpx.Response(200, text=_login("k1"))
        assert body["params"]["access_token"] == "k1"
        return httpx.Response(200, text=DOC_ANSWER)

    async def main() -> None:
        client = UisClient(
            URL,
            login="user",
            password=SecretStr("pass"),
            transport=httpx.MockTransport(handler),
            clock=lambda: 1000.0,
        )
        try:
            await asyncio.gather(*(client.place_callback(_request()) for _ in range(5)))
        finally:
            await client.aclose()

    asyncio.run(main())
    assert logins == 1


def test_concurrent_refusals_renew_once() -> None:
    """Two calls refused with the same stale key: one login, both sent again with the new key."""
    logins = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal logins
        body = json.loads(request.content)
        if body["method"] == "login.user":
            logins += 1
            await asyncio.sleep(0.02)
            return httpx.Response(200, text=_login(f"k{logins}"))
        if body["params"]["access_token"] == "k1":
            await asyncio.sleep(0.01)
            return httpx.Response(200, text=TOKEN_INVALID)
        return httpx.Response(200, text=DOC_ANSWER)

    async def main() -> None:
        client = UisClient(
            URL,
            login="user",
            password=SecretStr("pass"),
            transport=httpx.MockTransport(handler),
            clock=lambda: 1000.0,
        )
        try:
            await asyncio.gather(
                client.place_callback(_request()), client.place_callback(_request())
            )
        finally:
            await client.aclose()

    asyncio.run(main())
    assert logins == 2  # the first login, and one renewal shared by both


def test_wrong_login_is_auth_and_no_call_is_sent() -> None:
    uis = Uis(login_user=[_error(-32001, "Login or password is wrong", "auth_error")])

    async def main() -> None:
        client = _client(uis)
        try:
            await client.place_callback(_request())
        finally:
            await client.aclose()

    with pytest.raises(ProviderAuthError):
        asyncio.run(main())
    assert uis.methods() == ["login.user"]


def test_a_bad_contact_is_refused_before_any_request() -> None:
    uis = Uis()

    async def main() -> None:
        client = _client(uis)
        try:
            await client.place_callback(_request(contact="12"))
        finally:
            await client.aclose()

    with pytest.raises(InvalidNumberError):
        asyncio.run(main())
    assert uis.requests == []


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ConnectError("refused"), TransientProviderError),
        (httpx.ReadTimeout("slow"), UnknownOutcomeError),
    ],
)
def test_transport_failures_of_the_call(failure: Exception, error: type[ProviderError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        failure.__init__(str(failure), request=request)  # type: ignore[misc]
        raise failure

    async def main() -> None:
        client = UisClient(URL, access_token=SecretStr("k"), transport=httpx.MockTransport(handler))
        try:
            await client.place_callback(_request())
        finally:
            await client.aclose()

    with pytest.raises(error):
        asyncio.run(main())


def test_a_lost_login_answer_is_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async def main() -> None:
        client = UisClient(
            URL, login="u", password=SecretStr("p"), transport=httpx.MockTransport(handler)
        )
        try:
            await client.place_callback(_request())
        finally:
            await client.aclose()

    with pytest.raises(TransientProviderError):
        asyncio.run(main())


def test_credentials_are_required() -> None:
    with pytest.raises(ValueError, match="access token"):
        UisClient(URL, login="user")


# --- settings -------------------------------------------------------------------------------


def test_settings_build_and_account() -> None:
    by_login = Settings(uis_login="user", uis_password=SecretStr("pw"))
    assert isinstance(build_uis_client(by_login), UisClient)
    assert uis_account_key(by_login) == "uis:user"
    assert missing_uis_credentials(by_login) == []
    by_key = Settings(uis_access_token=SecretStr("permanent-key"))
    assert uis_account_key(by_key).startswith("uis:key-")
    assert "permanent-key" not in uis_account_key(by_key)
    assert missing_uis_credentials(Settings()) != []
    assert missing_uis_credentials(Settings(uis_login="user")) != []


def test_secrets_are_masked_in_logs() -> None:
    settings = Settings(uis_access_token=SecretStr("tok-123"), uis_password=SecretStr("pw-456"))
    assert {"tok-123", "pw-456"} <= set(settings.secret_values())
    assert "tok-123" not in repr(settings)
    assert settings.uis_api_url == URL


def test_a_token_refusal_sent_with_http_401_still_renews_the_key() -> None:
    """The docs show no HTTP statuses; a 401 that carries the JSON-RPC error is read."""
    answers = [(200, _login("k1")), (401, TOKEN_INVALID), (200, _login("k2")), (200, DOC_ANSWER)]

    def handler(request: httpx.Request) -> httpx.Response:
        status, text = answers.pop(0)
        return httpx.Response(status, text=text)

    async def main() -> str:
        client = UisClient(
            URL, login="u", password=SecretStr("p"), transport=httpx.MockTransport(handler)
        )
        try:
            return (await client.place_callback(_request())).provider_id
        finally:
            await client.aclose()

    assert asyncio.run(main()) == "237859081"


def test_a_bare_http_401_is_auth() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text="<html>Unauthorized</html>")

    async def main() -> None:
        client = UisClient(URL, access_token=SecretStr("k"), transport=httpx.MockTransport(handler))
        try:
            await client.place_callback(_request())
        finally:
            await client.aclose()

    with pytest.raises(ProviderAuthError):
        asyncio.run(main())
