"""A signed-up dialer behind ``TestClient``: users and tokens of every role, fresh per test.

Migrating and hashing passwords is slow (argon2), so it happens once in a template
database that each test copies.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from starlette.exceptions import StarletteDeprecationWarning

from dialer.accounts.roles import Role
from dialer.accounts.tokens import create_token, revoke_token
from dialer.accounts.users import add_user
from dialer.db.engine import make_engine, session_scope
from dialer.settings import Settings
from dialer.web.app import create_app
from tests.support.services import migrated

with warnings.catch_warnings():
    # Starlette 1.x would rather have httpx2 under its TestClient; httpx works the same and
    # is what the project already depends on.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PASSWORD = "correct horse battery"
USERS = {Role.ADMIN: "alice", Role.MANAGER: "mike", Role.ANALYST: "anna"}
VICTIM = "victor"
"""An analyst the tests disable."""
CAMPAIGNS = Path(__file__).parents[2] / "campaigns"
API = "/api/v1"


@dataclass(frozen=True)
class Template:
    db: Path
    tokens: dict[str, str]
    """Bearer tokens by role value, plus ``revoked``."""


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    db = tmp_path_factory.mktemp("template") / "dialer.db"
    engine = migrated(f"sqlite:///{db}")
    tokens: dict[str, str] = {}
    with session_scope(engine) as session:
        for role, name in USERS.items():
            add_user(session, name, role, PASSWORD)
            tokens[role.value] = create_token(session, f"{name}-token", role)
        add_user(session, VICTIM, Role.ANALYST, PASSWORD)
        tokens["revoked"] = create_token(session, "old", Role.ADMIN)
        revoke_token(session, "old")
    engine.dispose()
    return Template(db, tokens)


@dataclass
class World:
    client: TestClient
    engine: Engine
    settings: Settings
    tokens: dict[str, str]
    upload_dir: Path

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(self, method: str, url: str, who: str | None = "admin", **kw: Any) -> httpx.Response:
        headers = {**self.auth(who), **kw.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kw)

    def create(self, name: str = "payment-reminder", source: str = "payment-reminder") -> str:
        """Register campaign file ``source`` under ``name``; the name."""
        response = self.call("POST", f"{API}/campaigns", content=toml(source, name))
        assert response.status_code == 201, response.text
        return name

    def load(self, name: str, csv: bytes, **params: str) -> dict[str, Any]:
        response = self.call(
            "POST",
            f"{API}/campaigns/{name}/contacts",
            content=csv,
            params=params,
            headers={"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def control(self, name: str, action: str) -> None:
        response = self.call("POST", f"{API}/campaigns/{name}/{action}")
        assert response.status_code == 200, response.text


def toml(source: str, name: str | None = None) -> str:
    text = (CAMPAIGNS / f"{source}.toml").read_text(encoding="utf-8")
    return text if name is None else text.replace(f'name = "{source}"', f'name = "{name}"', 1)


WorldFactory = Callable[..., World]


@pytest.fixture
def make_world(template: Template, tmp_path: Path) -> Iterator[WorldFactory]:
    engines: list[Engine] = []

    def make(**settings: Any) -> World:
        db = tmp_path / "dialer.db"
        shutil.copyfile(template.db, db)
        url = f"sqlite:///{db}"
        config = Settings(
            database_url=url,
            upload_dir=str(tmp_path / "uploads"),
            mtt_login="l",
            mtt_password=SecretStr("p"),
            mtt_sip_id="s",
            mtt_informer_method="informer",
            **settings,
        )
        engine = make_engine(url)
        engines.append(engine)
        client = TestClient(create_app(config, engine, sse_interval=0.01))
        return World(client, engine, config, template.tokens, tmp_path / "uploads")

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def world(make_world: WorldFactory) -> World:
    return make_world()
