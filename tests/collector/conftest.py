"""Fixtures for the collector: migrated databases (SQLite file, and a throwaway PostgreSQL
database for ``integration`` tests) and real collectors served by uvicorn on a free port."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from dialer.collector.server import CollectorServer
from dialer.db.engine import make_engine
from dialer.db.migrate import upgrade
from dialer.db.models import ProviderEvent
from dialer.settings import Settings

TOKEN = "hook-token-9f2c1e7a"
PG_ADMIN_URL = os.environ.get(
    "DIALER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
).replace("postgresql+psycopg://", "postgresql://")


@dataclass
class Collector:
    """A running collector, a client for it and the database behind it."""

    url: str
    engine: Engine
    client: httpx.Client
    server: CollectorServer
    settings: Settings
    internal: httpx.Client | None = None
    """A client for ``/healthz`` and ``/metrics`` (started with ``metrics=True``)."""

    def hook(self, route: str, token: str = TOKEN) -> str:
        return f"/hooks/{token}/mtt/{route}"

    def rows(self) -> list[ProviderEvent]:
        with Session(self.engine) as session:
            return list(session.exec(select(ProviderEvent).order_by(col(ProviderEvent.id))))


StartCollector = Callable[..., Collector]


@dataclass
class _Running:
    collectors: list[Collector] = field(default_factory=list)
    engines: list[Engine] = field(default_factory=list)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied by each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "dialer.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return path


@pytest.fixture
def collector_sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "dialer.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def _postgres_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards. Skips the test when
    PostgreSQL is not reachable on 127.0.0.1, except under ``CI=true`` where that fails it."""
    if not _postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {PG_ADMIN_URL} unreachable")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"dialer_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def collector_pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for one test (see ``throwaway_postgres``)."""
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def collector_db_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on SQLite and (as an integration test) on PostgreSQL."""
    fixture = "collector_sqlite_url" if request.param == "sqlite" else "collector_pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def start_collector(collector_sqlite_url: str) -> Iterator[StartCollector]:
    """``start_collector(url=..., engine=..., **settings)`` -> a running ``Collector``.

    Defaults: the test's SQLite copy, ``TOKEN``, ``apply_inline=True``, no internal
    listener (``metrics=True``: ``/healthz`` and ``/metrics`` on a free port, reached with
    ``collector.internal``). Everything started is stopped and disposed of at the end of the
    test.
    """
    running = _Running()

    def start(
        *,
        url: str | None = None,
        engine: Engine | None = None,
        broker_ping: Callable[[], bool] | None = None,
        apply_inline: bool = True,
        metrics: bool = False,
        **overrides: object,
    ) -> Collector:
        if engine is None:
            engine = make_engine(url or collector_sqlite_url)
            running.engines.append(engine)
        settings = Settings.model_validate({"webhook_token": SecretStr(TOKEN), **overrides})
        server = CollectorServer(
            settings,
            engine,
            broker_ping=broker_ping,
            apply_inline=apply_inline,
            metrics_port=0 if metrics else None,
        )
        base_url = server.start()
        collector = Collector(
            url=base_url,
            engine=engine,
            client=httpx.Client(base_url=base_url, timeout=30),
            server=server,
            settings=settings,
            internal=httpx.Client(base_url=server.metrics_url, timeout=30) if metrics else None,
        )
        running.collectors.append(collector)
        return collector

    yield start
    for collector in running.collectors:
        collector.client.close()
        if collector.internal is not None:
            collector.internal.close()
        collector.server.stop()
    for engine in running.engines:
        engine.dispose()


@pytest.fixture
def collector(start_collector: StartCollector) -> Collector:
    """A collector on the test's own SQLite database."""
    return start_collector()
