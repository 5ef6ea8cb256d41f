"""OAuth connections: tokens stored sealed, the state checked, and one refresh at a time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from dialer.campaign.config import parse_config
from dialer.connections import store
from dialer.connections.sealing import Sealer
from dialer.connections.store import TokenPair
from dialer.db.models import Campaign, OAuthConnection
from dialer.errors import ConfigError, ProviderAuthError, UserError
from tests.support.factories import campaign_toml, make_campaign

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SEALER = Sealer(SecretStr("k" * 40))


class FakeGrants:
    """A token endpoint: each refresh token works once (as MTT's simulator and a careful
    provider do); ``lapsed`` refuses every refresh."""

    def __init__(self, *, delay: float = 0.0, lapsed: bool = False) -> None:
        self.exchanges: list[str] = []
        self.refreshes: list[str] = []
        self.delay = delay
        self.lapsed = lapsed
        self.issued = 0
        self._lock = threading.Lock()

    def pair(self) -> TokenPair:
        with self._lock:
            self.issued += 1
            n = self.issued
        return TokenPair(
            f"access-{n}", f"refresh-{n}", NOW + timedelta(hours=2), NOW + timedelta(days=3)
        )

    def __call__(self) -> FakeGrants:
        return self

    async def exchange_code(self, code: str) -> TokenPair:
        self.exchanges.append(code)
        return self.pair()

    async def refresh(self, refresh_token: str) -> TokenPair:
        time.sleep(self.delay)
        if self.lapsed or refresh_token in self.refreshes:
            raise ProviderAuthError("invalid_grant")
        self.refreshes.append(refresh_token)
        return self.pair()

    async def aclose(self) -> None:
        return None


def connect(engine: Engine, grants: FakeGrants) -> TokenPair:
    state = store.begin(engine, "mtt_business", NOW)
    return store.complete(engine, "mtt_business", "code-1", grants, SEALER, NOW, state=state)


def test_tokens_are_stored_sealed_and_read_back(engine: Engine) -> None:
    connect(engine, FakeGrants())
    with Session(engine) as session:
        raw = session.exec(text("SELECT access_token, refresh_token FROM oauth_connections")).one()  # type: ignore[call-overload]
    assert "access-1" not in raw[0]
    assert "refresh-1" not in raw[1]
    assert store.current(engine, "mtt_business", SEALER) == TokenPair(
        "access-1", "refresh-1", NOW + timedelta(hours=2), NOW + timedelta(days=3)
    )
    with pytest.raises(ConfigError, match="cannot be opened with this DIALER_SECRET_KEY"):
        store.current(engine, "mtt_business", Sealer(SecretStr("x" * 40)))


def test_a_wrong_or_stale_state_is_refused(engine: Engine) -> None:
    grants = FakeGrants()
    state = store.begin(engine, "mtt_business", NOW)
    with pytest.raises(UserError, match="unknown or expired"):
        store.complete(engine, "mtt_business", "c", grants, SEALER, NOW, state="forged")
    later = NOW + store.STATE_LIFETIME + timedelta(seconds=1)
    with pytest.raises(UserError, match="unknown or expired"):
        store.complete(engine, "mtt_business", "c", grants, SEALER, later, state=state)
    assert grants.exchanges == []
    # a code pasted by hand needs no state
    store.complete(engine, "mtt_business", "c", grants, SEALER, NOW, state=None)
    assert grants.exchanges == ["c"]


def test_racing_refreshes_send_the_refresh_token_once(engine: Engine) -> None:
    grants = FakeGrants(delay=0.3)
    connect(engine, grants)
    results: list[str] = []
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            pair = store.refresh_locked(
                engine, "mtt_business", grants, SEALER, NOW, rejected="access-1"
            )
            results.append(pair.access_token)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert grants.refreshes == ["refresh-1"]
    assert results == ["access-2"] * 4


def test_a_token_not_due_is_not_refreshed_ahead(engine: Engine) -> None:
    grants = FakeGrants()
    connect(engine, grants)
    assert store.due_for_refresh(engine, NOW) == []
    pair = store.refresh_locked(engine, "mtt_business", grants, SEALER, NOW)
    assert (pair.access_token, grants.refreshes) == ("access-1", [])
    later = NOW + timedelta(hours=2) - store.REFRESH_AHEAD
    assert store.due_for_refresh(engine, later) == ["mtt_business"]
    pair = store.refresh_locked(engine, "mtt_business", grants, SEALER, later)
    assert (pair.access_token, grants.refreshes) == ("access-2", ["refresh-1"])


def test_a_lapsed_refresh_token_pauses_the_campaigns_that_use_it(engine: Engine) -> None:
    grants = FakeGrants()
    connect(engine, grants)
    users = make_campaign(engine, parse_config(campaign_toml("users")))
    others = make_campaign(engine, parse_config(campaign_toml("others")))
    with Session(engine) as session:
        for campaign_id in (users, others):
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            campaign.state = "running"
            session.add(campaign)
        session.commit()
    grants.lapsed = True
    with pytest.raises(
        ProviderAuthError, match=r"reconnect MTT Business \(dialer connect mtt-business\)"
    ):
        store.refresh_locked(
            engine,
            "mtt_business",
            grants,
            SEALER,
            NOW,
            rejected="access-1",
            uses=lambda campaign: campaign.name == "users",
        )
    with Session(engine) as session:
        row = session.get(OAuthConnection, "mtt_business")
        paused = session.get(Campaign, users)
        running = session.get(Campaign, others)
    assert row is not None
    assert paused is not None
    assert running is not None
    assert row.status == "lapsed"
    assert (paused.state, running.state) == ("paused", "running")
    assert (paused.state_reason or "").startswith("reconnect MTT Business")
    assert store.current(engine, "mtt_business", SEALER) is None
    # connecting again repairs it
    grants.lapsed = False
    connect(engine, grants)
    assert store.statuses(engine)[0].status == "connected"


def test_no_secret_key_is_a_one_line_config_error() -> None:
    with pytest.raises(ConfigError, match="set DIALER_SECRET_KEY"):
        Sealer(SecretStr(""))
