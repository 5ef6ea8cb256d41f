from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import dialer.db.models  # noqa: F401  (registers the tables)
from dialer.db.migrate import current_revision, upgrade
from dialer.db.schema import head_revision


def test_migrations_match_the_models(engine: Engine) -> None:
    """Alembic's autogenerate finds nothing to change after `db upgrade`, on both backends."""
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    assert current_revision(engine) == head_revision(engine)


def test_upgrade_is_idempotent(sqlite_engine: Engine) -> None:
    upgrade(sqlite_engine)
    upgrade(sqlite_engine)
    assert current_revision(sqlite_engine) == head_revision(sqlite_engine)
