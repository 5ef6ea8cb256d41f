"""Small request/response helpers shared by the simulator's endpoints."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import cast

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from dialer.simulator.encoding import JSON_TYPE, json_bytes
from dialer.simulator.state import Simulator


def simulator_of(request: Request) -> Simulator:
    """The ``Simulator`` the app was built with."""
    return cast(Simulator, request.app.state.simulator)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic`` header, else ``None``."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def credentials_match(request: Request, user: str, password: SecretStr) -> bool:
    """Whether the request's Basic credentials are exactly ``user``/``password``."""
    given = basic_credentials(request)
    if given is None:
        return False
    user_ok = hmac.compare_digest(given[0].encode(), user.encode())
    password_ok = hmac.compare_digest(given[1].encode(), password.get_secret_value().encode())
    return user_ok and password_ok


def unauthorized(document: object) -> Response:
    """401 with a Basic challenge; the docs do not show MTT's body, so ``document`` is ours."""
    return Response(
        json_bytes(document),
        status_code=401,
        media_type=JSON_TYPE,
        headers={"WWW-Authenticate": 'Basic realm="mtt"'},
    )


def json_response(document: object, status_code: int = 200) -> Response:
    """``document`` rendered like the docs print JSON."""
    return Response(json_bytes(document), status_code=status_code, media_type=JSON_TYPE)


async def read_json(request: Request) -> tuple[bool, object]:
    """``(True, document)`` when the body is JSON, else ``(False, None)``."""
    try:
        return True, json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return False, None
