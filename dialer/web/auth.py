"""Who is asking, and may they: the ``require(role)`` dependency of every route.

A caller proves who they are with ``Authorization: Bearer TOKEN`` (``dialer token create``)
or the console's session cookie (``dialer user add``, then Sign in). No proof: 401. A role
below the route's: 403. A cookie-authenticated request that changes something must also carry
the session's CSRF token (``X-CSRF-Token`` header, or the ``csrf_token`` form field on console
pages): a page on another site can make the browser send the cookie, never the token.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy.engine import Engine

from dialer.accounts.principal import Principal
from dialer.accounts.roles import Role, allows
from dialer.accounts.sessions import session_principal
from dialer.accounts.tokens import principal_for_token
from dialer.db.engine import session_scope
from dialer.settings import Settings

SESSION_COOKIE = "dialer_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    principal: Principal
    csrf_token: str | None = None
    """The console session's CSRF token; ``None`` for a Bearer token (no cookie, no CSRF)."""


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def identify(request: Request) -> Caller | None:
    """The caller, from a Bearer token or else the session cookie; ``None`` when neither
    proves anyone (no header, an unknown or revoked token, an expired session)."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    with session_scope(engine_of(request)) as session:
        if scheme.lower() == "bearer" and credentials.strip():
            principal = principal_for_token(session, credentials.strip())
            return Caller(principal) if principal is not None else None
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            found = session_principal(session, cookie)
            if found is not None:
                return Caller(found[0], found[1])
    return None


def csrf_ok(caller: Caller, offered: str | None) -> bool:
    """A Bearer caller needs no CSRF token; a session caller must offer its own."""
    if caller.csrf_token is None:
        return True
    return offered is not None and hmac.compare_digest(caller.csrf_token, offered)


def require(need: Role) -> Callable[[Request], Caller]:
    """A dependency: the caller, if their role allows ``need``; else 401 or 403."""

    def dependency(request: Request) -> Caller:
        caller = identify(request)
        if caller is None:
            raise HTTPException(
                401,
                "not signed in: send Authorization: Bearer TOKEN (dialer token create)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not allows(caller.principal.role, need):
            raise HTTPException(
                403, f"role {caller.principal.role.value} may not do this (needs {need.value})"
            )
        if request.method not in SAFE_METHODS and not csrf_ok(
            caller, request.headers.get(CSRF_HEADER)
        ):
            raise HTTPException(403, f"missing or wrong CSRF token (send {CSRF_HEADER})")
        return caller

    return dependency


reader = require(Role.ANALYST)
"""Anyone signed in: read campaigns, exports, reports."""
manager = require(Role.MANAGER)
"""Campaigns, uploads, controls, DNC."""
admin = require(Role.ADMIN)
