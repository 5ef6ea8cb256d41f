"""Make sure the schema is current before a command uses the database."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from dialer.db.engine import is_sqlite
from dialer.db.migrate import alembic_config, current_revision, upgrade
from dialer.errors import UserError


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def ensure_schema(engine: Engine) -> None:
    """SQLite (the embedded, single-user default) is migrated on first use; PostgreSQL is
    migrated only by ``dialer db upgrade`` (an operations step, run before workers start)."""
    if current_revision(engine) == head_revision(engine):
        return
    if is_sqlite(engine):
        upgrade(engine)
        return
    raise UserError("the database schema is not current; run `dialer db upgrade` first")
