"""``dialer db``: schema management."""

from __future__ import annotations

import click

from dialer.cli.app import App, emit, json_option, pass_app
from dialer.settings import safe_url


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@json_option
@pass_app
def upgrade(app: App, as_json: bool) -> None:
    """Create or migrate the schema to the latest revision (Alembic). Safe to repeat."""
    from dialer.db.engine import make_engine
    from dialer.db.migrate import current_revision
    from dialer.db.migrate import upgrade as run_upgrade

    engine = make_engine(app.settings.database_url)
    run_upgrade(engine)
    revision = current_revision(engine)
    url = safe_url(app.settings.database_url)
    emit(as_json, {"database": url, "revision": revision}, f"{url}: schema at {revision}")
