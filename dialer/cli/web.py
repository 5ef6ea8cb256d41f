"""``dialer web``: the console and the HTTP API."""

from __future__ import annotations

import click

from dialer.cli.app import App, check_port, listen_error, pass_app
from dialer.logs import configure_logging


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@pass_app
def web(app: App, host: str, port: int) -> None:
    """Serve the browser console (/) and the HTTP API (/api/v1, OpenAPI at
    /api/v1/openapi.json). Sign in with a user from `dialer user add`; API clients send
    `Authorization: Bearer TOKEN` from `dialer token create`. Keep it on the office network
    (the collector is the part that faces MTT); behind https set DIALER_WEB_SECURE_COOKIES=1.
    Uploads stream to DIALER_UPLOAD_DIR, up to DIALER_MAX_UPLOAD_BYTES each."""
    from dialer.web.server import serve_web

    check_port("--port", port)
    configure_logging(app.settings.log_level, secrets=app.settings.secret_values())
    try:
        serve_web(app.settings, app.engine, host, port)
    except OSError as exc:
        raise listen_error("--port", host, port, exc) from None
    except KeyboardInterrupt:  # uvicorn stops on Ctrl-C, then raises it again
        click.echo("console stopped", err=True)
