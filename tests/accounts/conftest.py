from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def session(sqlite_engine: Engine) -> Iterator[Session]:
    """A session on a migrated SQLite file; what a test did is committed at the end."""
    with Session(sqlite_engine, expire_on_commit=False) as session:
        yield session
        session.commit()
