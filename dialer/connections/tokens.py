"""The access token a worker sends, from the stored connection: read once and kept until it
is close to expiry, refreshed (under the lock, see ``store.refresh_locked``) when it is due
or when the provider refused it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from dialer.connections.sealing import Sealer
from dialer.connections.store import CampaignsOf, GrantsFactory, TokenPair, current, refresh_locked
from dialer.db.types import utcnow
from dialer.errors import ProviderAuthError

EXPIRY_MARGIN = timedelta(seconds=60)


class StoredTokens:
    """A token source over one stored connection (``provider``), for a provider client."""

    def __init__(
        self,
        engine: Engine,
        provider: str,
        grants: GrantsFactory,
        sealer: Sealer,
        *,
        uses: CampaignsOf | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._provider = provider
        self._grants = grants
        self._sealer = sealer
        self._uses = uses
        self._clock = clock
        self._pair: TokenPair | None = None
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """A token not about to expire: kept, read, or refreshed (once per process)."""
        async with self._lock:
            now = self._clock()
            if self._pair is None or self._pair.access_expires_at <= now + EXPIRY_MARGIN:
                pair = await asyncio.to_thread(current, self._engine, self._provider, self._sealer)
                if pair is None:
                    raise ProviderAuthError(
                        f"{self._provider} is not connected: run dialer connect "
                        f"{self._provider.replace('_', '-')}"
                    )
                if pair.access_expires_at <= now + EXPIRY_MARGIN:
                    pair = await self._refresh(pair.access_token)
                self._pair = pair
            return self._pair.access_token

    async def refreshed(self, rejected: str) -> str:
        """After the provider refused ``rejected``: a newer token (another process's, or a
        refresh of our own). Raises ``ProviderAuthError`` when the connection lapsed."""
        async with self._lock:
            if self._pair is not None and self._pair.access_token != rejected:
                return self._pair.access_token
            self._pair = await self._refresh(rejected)
            return self._pair.access_token

    async def _refresh(self, rejected: str) -> TokenPair:
        return await asyncio.to_thread(
            refresh_locked,
            self._engine,
            self._provider,
            self._grants,
            self._sealer,
            self._clock(),
            rejected=rejected,
            uses=self._uses,
        )
