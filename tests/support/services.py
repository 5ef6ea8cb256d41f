"""Real PostgreSQL and Redis for integration tests.

Locally a missing service skips its tests; under CI (``CI=true``) it fails them: a missing
service must never pass silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

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
def throwaway_database() -> Iterator[str]:
    """Create an empty PostgreSQL database; yield its URL; drop it afterwards."""
    name = f"dialer_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any connection failure means "no PostgreSQL here"
        admin.dispose()
        service_missing("PostgreSQL at 127.0.0.1:5432", exc)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
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
        admin.dispose()


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
