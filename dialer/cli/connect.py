"""``dialer connect``: authorise the dialer with a provider that uses OAuth 2.0 (MTT
Business), and see where each connection stands."""

from __future__ import annotations

import click

from dialer.cli.app import App, emit, json_option, pass_app


@click.group()
def connect() -> None:
    """Connect a provider account that authorises with OAuth 2.0 (MTT Business)."""


@connect.command("mtt-business")
@click.option("--code", help="The authorisation code from the Redirect URI, pasted by hand.")
@json_option
@pass_app
def mtt_business(app: App, code: str | None, as_json: bool) -> None:
    """Connect MTT Business. Without --code: prints the link to open in a browser; log in to
    MTT Business there and the browser comes back to the collector's Redirect URI, which
    stores the tokens (sealed with DIALER_SECRET_KEY). With --code: exchanges a code copied
    from the Redirect URI's address (?code=...)."""
    from dialer.connections import store
    from dialer.connections.mtt_business import PROVIDER, grants, redirect_uri
    from dialer.connections.sealing import Sealer
    from dialer.db.types import utcnow
    from dialer.errors import ConfigError, ProviderError, UserError
    from dialer.providers.mtt_business_oauth import authorize_url

    settings = app.settings
    missing = settings.unset("mtt_business_client_id", "mtt_business_client_secret", "secret_key")
    if missing:
        raise ConfigError(f"cannot connect MTT Business: set {', '.join(missing)}")
    redirect = redirect_uri(settings)
    if redirect is None:
        raise ConfigError(
            "cannot connect MTT Business: set DIALER_PUBLIC_URL and DIALER_WEBHOOK_TOKEN (the "
            "Redirect URI is PUBLIC_URL/hooks/<token>/mtt-business) or "
            "DIALER_MTT_BUSINESS_REDIRECT_URI"
        )
    sealer = Sealer(settings.secret_key)
    now = utcnow()
    if code is not None:
        try:
            pair = store.complete(
                app.engine, PROVIDER, code, lambda: grants(settings), sealer, now, state=None
            )
        except ProviderError as exc:
            raise UserError(f"MTT Business refused the code: {exc}") from None
        emit(
            as_json,
            {
                "provider": PROVIDER,
                "status": "connected",
                "access_expires_at": pair.access_expires_at.isoformat(),
            },
            f"MTT Business connected; the access token expires "
            f"{pair.access_expires_at:%Y-%m-%d %H:%M} UTC and is refreshed ahead of time by "
            "the scheduler",
        )
        return
    state = store.begin(app.engine, PROVIDER, now)
    link = authorize_url(
        settings.mtt_business_oauth_url, settings.mtt_business_client_id, redirect, state
    )
    emit(
        as_json,
        {
            "provider": PROVIDER,
            "authorize_url": link,
            "expires_in_s": int(store.STATE_LIFETIME.total_seconds()),
        },
        "Open this link in a browser and log in to MTT Business (valid for "
        f"{int(store.STATE_LIFETIME.total_seconds() // 60)} minutes):\n{link}\n"
        "The browser comes back to the collector, which stores the tokens; or copy the "
        "code=... from that address and run: dialer connect mtt-business --code CODE",
    )


@connect.command("status")
@json_option
@pass_app
def connect_status(app: App, as_json: bool) -> None:
    """Each connection: connected, pending or lapsed, and when its tokens expire."""
    from dialer.connections.store import statuses

    rows = statuses(app.engine)
    payload = {
        "connections": [
            {
                "provider": row.provider,
                "status": row.status,
                "reason": row.reason,
                "access_expires_at": _iso(row.access_expires_at),
                "refresh_expires_at": _iso(row.refresh_expires_at),
                "refreshed_at": _iso(row.refreshed_at),
            }
            for row in rows
        ]
    }
    lines = [
        f"{row.provider}: {row.status}"
        + (f"; access token until {_iso(row.access_expires_at)}" if row.access_expires_at else "")
        + (
            f", refresh token until {_iso(row.refresh_expires_at)}"
            if row.refresh_expires_at
            else ""
        )
        + (f" ({row.reason})" if row.reason else "")
        for row in rows
    ]
    emit(as_json, payload, "\n".join(lines) or "no connections (dialer connect mtt-business)")


def _iso(moment: object) -> str | None:
    from datetime import datetime

    return moment.isoformat(timespec="seconds") if isinstance(moment, datetime) else None
