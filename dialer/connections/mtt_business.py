"""MTT Business as a stored OAuth connection: its token endpoint as ``Grants``, the
worker's token source, and which campaigns depend on it."""

from __future__ import annotations

from functools import cache

from sqlalchemy.engine import Engine

from dialer.campaign.store import config_of
from dialer.connections.sealing import Sealer
from dialer.connections.store import Grants, TokenPair
from dialer.connections.tokens import StoredTokens
from dialer.db.engine import make_engine
from dialer.db.models import Campaign
from dialer.providers.mtt_business_oauth import OAuthClient, TokenSet
from dialer.settings import Settings

PROVIDER = "mtt_business"


class MttBusinessGrants:
    """``Grants`` over MTT Business's ``/oauth/token``. A refresh answer without a new
    refresh token keeps the one sent, with its stored expiry (``current_refresh_expiry``)."""

    def __init__(self, settings: Settings) -> None:
        self._client = OAuthClient(
            settings.mtt_business_oauth_url,
            settings.mtt_business_client_id,
            settings.mtt_business_client_secret,
            redirect_uri(settings) or "",
            connect_timeout=settings.http_connect_timeout,
            read_timeout=settings.http_read_timeout,
        )

    async def exchange_code(self, code: str) -> TokenPair:
        return _pair(await self._client.exchange_code(code), None)

    async def refresh(self, refresh_token: str) -> TokenPair:
        return _pair(await self._client.refresh(refresh_token), refresh_token)

    async def aclose(self) -> None:
        await self._client.aclose()


def grants(settings: Settings) -> Grants:
    return MttBusinessGrants(settings)


def redirect_uri(settings: Settings) -> str | None:
    """The integration's Redirect URI (where the browser comes back, and where MTT posts
    notifications): the setting, else ``DIALER_PUBLIC_URL/hooks/<token>/mtt-business``."""
    from dialer.providers.mtt_business_oauth import default_redirect_uri

    return settings.mtt_business_redirect_uri or default_redirect_uri(
        settings.public_url, settings.webhook_token.get_secret_value()
    )


def uses_mtt_business(campaign: Campaign) -> bool:
    """The campaigns that stop when the connection lapses."""
    if campaign.channel != "callback":
        return False
    callback = config_of(campaign).callback
    return callback is not None and callback.provider == PROVIDER


def token_source(settings: Settings, engine: Engine | None = None) -> StoredTokens:
    """The stored connection's tokens, for a client in this process."""
    return StoredTokens(
        engine or _engine(settings.database_url),
        PROVIDER,
        lambda: grants(settings),
        Sealer(settings.secret_key),
        uses=uses_mtt_business,
    )


@cache
def _engine(url: str) -> Engine:
    return make_engine(url)


def _pair(tokens: TokenSet, sent_refresh: str | None) -> TokenPair:
    refresh = tokens.refresh_token or sent_refresh or ""
    return TokenPair(
        tokens.access_token, refresh, tokens.access_expires_at, tokens.refresh_expires_at
    )
