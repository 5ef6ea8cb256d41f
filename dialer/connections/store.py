"""OAuth connections in the database: start an authorisation, complete it with the code,
read the current access token, and refresh it — one process at a time.

The refresh takes the connection's row lock (``FOR UPDATE`` on PostgreSQL; SQLite's single
writer) for the whole exchange, and first looks whether the token it was asked to replace is
still the stored one: when another process refreshed meanwhile, its new token is used and the
refresh token is never sent twice. A refresh the provider refuses (the refresh token lapsed or
was revoked) marks the connection ``lapsed`` and pauses the campaigns that use it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.connections.sealing import Sealer
from dialer.db.engine import session_scope
from dialer.db.models import Campaign, OAuthConnection
from dialer.errors import ProviderAuthError, UserError
from dialer.states import CampaignState

log = logging.getLogger(__name__)

_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
STATE_LIFETIME = timedelta(minutes=15)
"""How long an authorisation link may take to come back."""
REFRESH_AHEAD = timedelta(minutes=15)
"""Access tokens are refreshed this long before they expire."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    """``None``: the provider kept the refresh token sent; its stored expiry stands."""


class Grants(Protocol):
    """The provider's token endpoint (``authorization_code`` and ``refresh_token`` grants).
    Both raise ``ProviderAuthError`` when the provider refuses the grant."""

    async def exchange_code(self, code: str) -> TokenPair: ...

    async def refresh(self, refresh_token: str) -> TokenPair: ...

    async def aclose(self) -> None: ...


GrantsFactory = Callable[[], Grants]
"""A fresh token-endpoint client (each exchange runs on its own event loop)."""
CampaignsOf = Callable[[Campaign], bool]
"""Whether a campaign uses the connection (those are paused when it lapses)."""


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    provider: str
    status: str
    reason: str | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    refreshed_at: datetime | None


def begin(engine: Engine, provider: str, now: datetime) -> str:
    """Start an authorisation: a fresh ``state`` (returned, for the authorize URL; only its
    hash is stored), valid for ``STATE_LIFETIME``. Tokens already stored are kept."""
    state = secrets.token_urlsafe(24)
    with session_scope(engine) as session:
        row = session.get(OAuthConnection, provider, with_for_update=True)
        if row is None:
            row = OAuthConnection(provider=provider, status="pending")
        row.state_hash = _hash(state)
        row.state_expires_at = now + STATE_LIFETIME
        row.updated_at = now
        session.add(row)
    return state


def complete(
    engine: Engine,
    provider: str,
    code: str,
    grants: GrantsFactory,
    sealer: Sealer,
    now: datetime,
    *,
    state: str | None,
) -> TokenPair:
    """Exchange ``code`` for tokens and store them. ``state`` must be the one ``begin``
    gave and not expired (``None``: a code pasted by hand with ``dialer connect --code``).
    Raises ``UserError`` for a wrong or stale state, ``ProviderAuthError`` when the provider
    refuses the code."""
    if state is not None:
        with Session(engine) as session:
            row = session.get(OAuthConnection, provider)
        if (
            row is None
            or row.state_hash is None
            or not secrets.compare_digest(row.state_hash, _hash(state))
            or row.state_expires_at is None
            or row.state_expires_at < now
        ):
            raise UserError(
                f"{provider}: this authorisation link is unknown or expired; start again "
                f"(dialer connect {provider.replace('_', '-')})"
            )
    pair = asyncio.run(_call(grants, lambda g: g.exchange_code(code)))
    with session_scope(engine) as session:
        row = session.get(OAuthConnection, provider, with_for_update=True)
        row = row or OAuthConnection(provider=provider)
        _store(row, pair, sealer, now)
        row.state_hash = row.state_expires_at = None
        row.connected_at = now
        session.add(row)
    return pair


def current(engine: Engine, provider: str, sealer: Sealer) -> TokenPair | None:
    """The stored tokens, or ``None`` when the provider is not connected."""
    with Session(engine) as session:
        row = session.get(OAuthConnection, provider)
    if row is None or row.status != "connected" or not row.access_token or not row.refresh_token:
        return None
    return _pair(row, sealer)


def refresh_locked(
    engine: Engine,
    provider: str,
    grants: GrantsFactory,
    sealer: Sealer,
    now: datetime,
    *,
    rejected: str | None = None,
    uses: CampaignsOf | None = None,
) -> TokenPair:
    """Refresh the access token under the connection's row lock, unless another process
    already did: with ``rejected`` (a token the provider refused), when the stored token is
    another one it is returned as it is; without it (refreshing ahead of expiry), when the
    stored token is no longer due. A refused refresh marks the connection ``lapsed``, pauses
    the campaigns ``uses`` picks, and raises ``ProviderAuthError``."""
    lapsed: str | None = None
    with session_scope(engine) as session:
        # The first write takes SQLite's lock; FOR UPDATE takes the row on PostgreSQL.
        session.execute(
            update(OAuthConnection)
            .where(col(OAuthConnection.provider) == provider)
            .values(updated_at=now)
        )
        row = session.get(OAuthConnection, provider, with_for_update=True)
        if row is None or row.status != "connected" or not row.refresh_token:
            raise ProviderAuthError(_reconnect(provider, "not connected"))
        stored = sealer.open(row.access_token or "")
        fresh = row.access_expires_at is not None and row.access_expires_at > now + REFRESH_AHEAD
        if (rejected is not None and stored != rejected) or (rejected is None and fresh):
            return _pair(row, sealer)
        refresh_token = sealer.open(row.refresh_token)
        try:
            pair = asyncio.run(_call(grants, lambda g: g.refresh(refresh_token)))
        except ProviderAuthError as exc:
            # Kept (committed) before raising: the lapse and the pauses must stick.
            lapsed = _reconnect(provider, str(exc))
            row.status, row.reason = "lapsed", lapsed[:500]
            session.add(row)
            paused = _pause_campaigns(session, uses, lapsed, now) if uses else 0
            log.error("%s connection lapsed (%d campaigns paused): %s", provider, paused, exc)
        else:
            _store(row, pair, sealer, now)
            row.refreshed_at = now
            session.add(row)
            return pair
    raise ProviderAuthError(lapsed)


def statuses(engine: Engine) -> list[ConnectionStatus]:
    with Session(engine) as session:
        rows = session.exec(select(OAuthConnection).order_by(col(OAuthConnection.provider))).all()
    return [
        ConnectionStatus(
            r.provider,
            r.status,
            r.reason,
            r.access_expires_at,
            r.refresh_expires_at,
            r.refreshed_at,
        )
        for r in rows
    ]


def due_for_refresh(engine: Engine, now: datetime) -> list[str]:
    """Connected providers whose access token expires within ``REFRESH_AHEAD``."""
    with Session(engine) as session:
        rows = session.exec(
            select(OAuthConnection.provider).where(
                OAuthConnection.status == "connected",
                col(OAuthConnection.access_expires_at) <= now + REFRESH_AHEAD,
            )
        ).all()
    return list(rows)


def _store(row: OAuthConnection, pair: TokenPair, sealer: Sealer, now: datetime) -> None:
    row.access_token = sealer.seal(pair.access_token)
    row.refresh_token = sealer.seal(pair.refresh_token)
    row.access_expires_at = pair.access_expires_at
    row.refresh_expires_at = pair.refresh_expires_at or row.refresh_expires_at
    row.status, row.reason = "connected", None
    row.updated_at = now


def _pair(row: OAuthConnection, sealer: Sealer) -> TokenPair:
    return TokenPair(
        sealer.open(row.access_token or ""),
        sealer.open(row.refresh_token or ""),
        row.access_expires_at or _LONG_AGO,
        row.refresh_expires_at or _LONG_AGO,
    )


def _pause_campaigns(session: Session, uses: CampaignsOf, reason: str, now: datetime) -> int:
    running = session.exec(select(Campaign).where(Campaign.state == CampaignState.RUNNING)).all()
    paused = 0
    for campaign in running:
        if uses(campaign):
            campaign.state = CampaignState.PAUSED.value
            campaign.state_reason = reason[:500]
            campaign.updated_at = now
            session.add(campaign)
            paused += 1
    return paused


def _reconnect(provider: str, why: str) -> str:
    name = provider.replace("_", "-")
    label = "MTT Business" if provider == "mtt_business" else provider
    return f"reconnect {label} (dialer connect {name}): {why}"


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


async def _call(grants: GrantsFactory, call: Callable[[Grants], Awaitable[TokenPair]]) -> TokenPair:
    client = grants()
    try:
        return await call(client)
    finally:
        await client.aclose()
