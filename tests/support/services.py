"""Real PostgreSQL and Redis for integration tests.

Locally a missing service skips its tests; under CI (``CI=true``) it fails them: a missing
service must never pass silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

PG_ADMIN_URL = os.environ.get(
    "DIALER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("DIALER_TEST_REDIS", "redis://127.0.0.1:6379/13")


def service_missing(what: str, error: Exception) -> None:
    message = f"{what} unavailable: {error}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (required under CI=true)", pytrace=False)
    pytest.skip(message)


@contextmanager
def fresh_database(admin_url: str, prefix: str = "dialer_test") -> Iterator[str]:
    """Create an empty database on the PostgreSQL server of ``admin_url``; yield its
    SQLAlchemy URL (psycopg 3); drop it afterwards, closing whatever still uses it. Shared by
    the tests and the benchmarks."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server = make_url(admin_url).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


@contextmanager
def throwaway_database() -> Iterator[str]:
    """``fresh_database`` on the test server; its absence skips (fails under CI=true)."""
    stack = ExitStack()
    try:
        url = stack.enter_context(fresh_database(PG_ADMIN_URL))
    except Exception as exc:  # any connection failure means "no PostgreSQL here"
        service_missing("PostgreSQL at 127.0.0.1:5432", exc)
    with stack:
        yield url


def redis_url_or_skip() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
        client.ping()
        client.flushdb()
        client.close()
    except Exception as exc:
        service_missing("Redis at 127.0.0.1:6379", exc)
    return REDIS_TEST_URL


def migrated(url: str) -> Engine:
    from dialer.db.engine import make_engine
    from dialer.db.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    return engine
