"""MTT Business OAuth 2.0 against the requests and answers of the Open API doc, sections 7-8
(/work/shared/reference/mtt-business-openapi.txt lines 193-291)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from dialer.errors import (
    GrantLapsedError,
    ProviderAuthError,
    ProviderError,
    TransientProviderError,
)
from dialer.providers.mtt_business_oauth import (
    SCOPE,
    OAuthClient,
    TokenSet,
    authorize_url,
    code_exchange_form,
    default_redirect_uri,
    read_token_answer,
    refresh_form,
)

NOW = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
CLIENT_ID = "ccb350cc-6218-40b0-b134-3d290f00b9e7"  # doc 7.3's "Id клиента"
SECRET = SecretStr("iNmTWpDLeYkyzkUTVuCQwa")  # doc 7.3's "Секретный ключ"
REDIRECT = "http://localhost:9090/callback"  # doc 8.1's example
CODE = "Yzk5ZDczMzRINDEwY"  # doc 8.1's example code
ACCESS = "MMRLZJU5NTETMTNHZIOZNIYLWJHOTGTNJY1M2ZMM2YZNMYX"
REFRESH = "YWFHNGFHMQTMTUYMI01ZTM0LTKZM2QTYZU2YZIWNJQ0MJE0"

# Doc 8.2's answer verbatim: its scope is not the one the table (and the request) name.
EXCHANGE_ANSWER = """{
  "access_token": "MMRLZJU5NTETMTNHZIOZNIYLWJHOTGTNJY1M2ZMM2YZNMYX",
  "expires_in": 7200,
  "refresh_token": "YWFHNGFHMQTMTUYMI01ZTM0LTKZM2QTYZU2YZIWNJQ0MJE0",
  "scope": "https://mtt.ru/auth/openapi.readwrite",
  "token_type": "Bearer"
}"""
# Doc 8.3's answer verbatim: the scope is padded with spaces.
REFRESH_ANSWER = """{
  "access_token": "MMRLZJU5NTETMTNHZIOZNIYLWJHOTGTNJY1M2ZMM2YZNMYX",
  "expires_in": 7200,
  "refresh_token": "YWFHNGFHMQTMTUYMI01ZTM0LTKZM2QTYZU2YZIWNJQ0MJE0",
  "scope": " https://mtt.ru/auth.tokens.readwrite ",
  "token_type": "Bearer"
}"""


def test_authorize_url_has_the_docs_five_parameters() -> None:
    url = authorize_url("https://oauth.mtt.ru/", CLIENT_ID, REDIRECT, "xyz")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "oauth.mtt.ru", "/oauth/authorize")
    assert dict(parse_qsl(parts.query)) == {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "https://mtt.ru/auth.tokens.readwrite",
        "response_type": "code",
        "state": "xyz",
    }


def test_default_redirect_uri() -> None:
    assert (
        default_redirect_uri("https://dialer.example.ru/", "t" * 20)
        == f"https://dialer.example.ru/hooks/{'t' * 20}/mtt-business"
    )
    assert default_redirect_uri(None, "t" * 20) is None
    assert default_redirect_uri("https://dialer.example.ru", "") is None


def test_code_exchange_form_is_the_docs_table() -> None:
    assert code_exchange_form(CLIENT_ID, SECRET, CODE, REDIRECT) == {
        "client_id": CLIENT_ID,
        "client_secret": "iNmTWpDLeYkyzkUTVuCQwa",
        "code": CODE,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "grant_type": "authorization_code",
    }


def test_refresh_form_adds_the_refresh_token_the_table_forgets() -> None:
    assert refresh_form(CLIENT_ID, SECRET, REFRESH) == {
        "client_id": CLIENT_ID,
        "client_secret": "iNmTWpDLeYkyzkUTVuCQwa",
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
    }


@pytest.mark.parametrize(
    ("body", "grant", "scope"),
    [
        (EXCHANGE_ANSWER, "authorization_code", "https://mtt.ru/auth/openapi.readwrite"),
        (REFRESH_ANSWER, "refresh_token", "https://mtt.ru/auth.tokens.readwrite"),
    ],
)
def test_the_docs_answers(body: str, grant: str, scope: str) -> None:
    tokens = read_token_answer(200, body, grant=grant, now=NOW, sent_refresh_token="old")
    assert tokens.access_token == ACCESS
    assert tokens.refresh_token == REFRESH
    assert tokens.access_expires_at == NOW + timedelta(seconds=7200)
    assert tokens.refresh_expires_at == NOW + timedelta(days=3)
    assert tokens.scope == scope  # kept as sent (stripped), never checked
    assert tokens.token_type == "Bearer"


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [
        (3600, timedelta(hours=1)),
        ("600", timedelta(minutes=10)),
        (120.0, timedelta(minutes=2)),
        (None, timedelta(hours=2)),  # absent: the doc's 2 hours
        ("soon", timedelta(hours=2)),
        (0, timedelta(hours=2)),
        (True, timedelta(hours=2)),
    ],
)
def test_expires_in_or_the_docs_lifetime(expires_in: object, lifetime: timedelta) -> None:
    answer: dict[str, object] = {"access_token": "a", "refresh_token": "r"}
    if expires_in is not None:
        answer["expires_in"] = expires_in
    tokens = read_token_answer(200, json.dumps(answer), grant="authorization_code", now=NOW)
    assert tokens.access_expires_at == NOW + lifetime


def test_a_refresh_answer_without_a_refresh_token_keeps_the_one_sent() -> None:
    body = json.dumps({"access_token": "a2", "expires_in": 7200, "token_type": "bearer"})
    tokens = read_token_answer(200, body, grant="refresh_token", now=NOW, sent_refresh_token="r1")
    assert (tokens.access_token, tokens.refresh_token) == ("a2", "r1")
    assert tokens.refresh_expires_at is None  # the stored expiry stands
    assert not tokens.refresh_lapsed(NOW + timedelta(days=30))


def test_token_set_expiry_helpers() -> None:
    tokens = read_token_answer(200, EXCHANGE_ANSWER, grant="authorization_code", now=NOW)
    assert not tokens.access_expired(NOW)
    assert tokens.access_expired(NOW + timedelta(seconds=7200 - 30))  # within the 60 s margin
    assert tokens.access_expired(NOW + timedelta(hours=2), margin=timedelta(0))
    assert not tokens.refresh_lapsed(NOW + timedelta(days=2))
    assert tokens.refresh_lapsed(NOW + timedelta(days=3))


LAPSED = GrantLapsedError
AUTH = ProviderAuthError
TRANSIENT = TransientProviderError


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        # The refresh token has lapsed (expired, used, revoked): reconnect.
        (400, '{"error": "invalid_grant"}', LAPSED),
        (401, '{"error": "invalid_grant", "error_description": "expired"}', LAPSED),
        (400, "", LAPSED),  # MTT documents no error body: a bare refusal of the grant
        (401, "<html>Unauthorized</html>", LAPSED),
        (400, "{}", LAPSED),
        # Our client id/secret or our request: fix the settings, not the connection.
        (401, '{"error": "invalid_client"}', AUTH),
        (400, '{"error": "unauthorized_client"}', AUTH),
        (400, '{"error": "invalid_request"}', AUTH),
        (400, '{"error": "unsupported_grant_type"}', AUTH),
        (400, '{"error": "invalid_scope"}', AUTH),
        (403, "", AUTH),
        (404, "<html>Not Found</html>", AUTH),
        (302, "", AUTH),
        (200, '{"error": "server_said_no"}', AUTH),
        # Not processed: try again later.
        (429, "", TRANSIENT),
        (500, "", TRANSIENT),
        (502, "<html>Bad Gateway</html>", TRANSIENT),
        (503, '{"error": "temporarily_unavailable"}', TRANSIENT),
        (504, "", TRANSIENT),
        # A success that is not one.
        (200, "not json", ProviderError),
        (200, '{"expires_in": 7200}', ProviderError),
        (200, '{"access_token": "a", "refresh_token": "r", "token_type": "mac"}', ProviderError),
        (200, '{"access_token": "a"}', ProviderError),  # a code exchange needs both tokens
    ],
)
def test_error_mapping(status: int, body: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        read_token_answer(status, body, grant="authorization_code", now=NOW)
    assert type(caught.value) is error
    if error is LAPSED:
        assert "reconnect MTT Business" in str(caught.value)


def test_lapsed_is_an_auth_error() -> None:
    """The campaign pauses on it like on any ``ProviderAuthError``."""
    assert issubclass(GrantLapsedError, ProviderAuthError)
    with pytest.raises(GrantLapsedError, match="refresh token refused"):
        read_token_answer(400, '{"error": "invalid_grant"}', grant="refresh_token", now=NOW)


@pytest.mark.parametrize(
    ("code", "error"), [("invalid_grant", GrantLapsedError), (f"bad {REFRESH}", ProviderAuthError)]
)
def test_errors_never_carry_tokens_or_secrets(code: str, error: type[Exception]) -> None:
    echo = json.dumps(
        {
            "error": code,
            "error_description": f"{REFRESH} expired; {SECRET.get_secret_value()}",
            "access_token": ACCESS,
        }
    )
    with pytest.raises(ProviderAuthError) as caught:
        read_token_answer(
            400,
            echo,
            grant="refresh_token",
            now=NOW,
            redact=(SECRET.get_secret_value(), REFRESH),
        )
    assert type(caught.value) is error
    text = f"{caught.value} {caught.value.raw} {caught.value!r}"
    for secret in (REFRESH, ACCESS, SECRET.get_secret_value()):
        assert secret not in text
    # A refused grant whose answer holds tokens keeps none of them.
    with pytest.raises(ProviderAuthError) as refused:
        read_token_answer(200, f'{{"error": "x", "access_token": "{ACCESS}"}}', grant="g", now=NOW)
    assert ACCESS not in refused.value.raw


def test_token_set_repr_hides_the_tokens() -> None:
    tokens = read_token_answer(200, EXCHANGE_ANSWER, grant="authorization_code", now=NOW)
    assert ACCESS not in repr(tokens)
    assert REFRESH not in repr(tokens)
    assert ACCESS not in str(tokens)


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> OAuthClient:
    return OAuthClient(
        "https://oauth.mtt.ru",
        CLIENT_ID,
        SECRET,
        REDIRECT,
        transport=httpx.MockTransport(handler),
        clock=lambda: NOW,
    )


def test_the_client_posts_forms_to_the_token_endpoint(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        form = dict(parse_qsl(request.content.decode()))
        body = EXCHANGE_ANSWER if form["grant_type"] == "authorization_code" else REFRESH_ANSWER
        return httpx.Response(200, text=body, headers={"content-type": "application/json"})

    async def main() -> tuple[TokenSet, TokenSet]:
        client = _client(handler)
        try:
            return await client.exchange_code(CODE), await client.refresh(REFRESH)
        finally:
            await client.aclose()

    caplog.set_level(logging.DEBUG)
    first, second = asyncio.run(main())
    assert first.access_token == second.access_token == ACCESS
    assert [request.method for request in seen] == ["POST", "POST"]
    assert {str(request.url) for request in seen} == {"https://oauth.mtt.ru/oauth/token"}
    for request in seen:
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert "authorization" not in request.headers
        assert request.url.query == b""  # nothing secret in the URL
    assert dict(parse_qsl(seen[0].content.decode())) == code_exchange_form(
        CLIENT_ID, SECRET, CODE, REDIRECT
    )
    assert dict(parse_qsl(seen[1].content.decode())) == refresh_form(CLIENT_ID, SECRET, REFRESH)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (ACCESS, REFRESH, CODE, SECRET.get_secret_value()):
        assert secret not in logged


def test_the_client_authorize_url() -> None:
    client = _client(lambda request: httpx.Response(500))
    try:
        assert client.authorize_url("s1") == authorize_url(
            "https://oauth.mtt.ru", CLIENT_ID, REDIRECT, "s1"
        )
    finally:
        asyncio.run(client.aclose())


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("lost"),
        httpx.RemoteProtocolError("dropped"),
    ],
)
def test_transport_trouble_is_transient(failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    async def main() -> None:
        client = _client(handler)
        try:
            await client.refresh(REFRESH)
        finally:
            await client.aclose()

    with pytest.raises(TransientProviderError) as caught:
        asyncio.run(main())
    assert REFRESH not in str(caught.value)
    assert SECRET.get_secret_value() not in str(caught.value)


def test_a_lapsed_refresh_through_the_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_grant"})

    async def main() -> None:
        client = _client(handler)
        try:
            await client.refresh(REFRESH)
        finally:
            await client.aclose()

    with pytest.raises(GrantLapsedError) as caught:
        asyncio.run(main())
    assert caught.value.status_code == 400


def test_the_client_secret_setting_is_masked_in_logs() -> None:
    from dialer.settings import Settings

    settings = Settings(mtt_business_client_secret=SECRET, _env_file=None)  # type: ignore[call-arg]
    assert SECRET.get_secret_value() in settings.secret_values()
    assert SECRET.get_secret_value() not in repr(settings)
    assert settings.mtt_business_oauth_url == "https://oauth.mtt.ru"
    assert settings.unset("mtt_business_api_url", "mtt_business_client_id") == [
        "DIALER_MTT_BUSINESS_API_URL",
        "DIALER_MTT_BUSINESS_CLIENT_ID",
    ]
