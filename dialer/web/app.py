"""The console and HTTP API as one FastAPI application (``dialer web``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from dialer import __version__
from dialer.errors import UserError
from dialer.settings import Settings
from dialer.web.api import api_router
from dialer.web.console.pages import SignInRequired, page
from dialer.web.console.pages import router as console_router
from dialer.web.errors import status_for
from dialer.web.limits import BodyLimits

API = "/api/v1"
STATIC = Path(__file__).with_name("console") / "static"


def create_app(settings: Settings, engine: Engine, *, sse_interval: float = 1.0) -> FastAPI:
    """The application; ``engine`` must have the current schema (``dialer db upgrade``)."""
    app = FastAPI(
        title="dialer",
        version=__version__,
        description="Outbound TTS, IVR, SMS and agent-callback campaigns on MTT. "
        "Authenticate with `Authorization: Bearer TOKEN` (`dialer token create`).",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sse_interval = sse_interval
    app.include_router(api_router(), prefix=API)
    app.include_router(console_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimits, upload_bytes=settings.max_upload_bytes)

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        return _answer(request, status_for(exc), str(exc))

    @app.exception_handler(PermissionError)
    async def forbidden(request: Request, exc: PermissionError) -> Response:
        return _answer(request, 403, str(exc))

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    return app


def _answer(request: Request, status: int, detail: str) -> Response:
    """JSON for the API; a console page with the one line for the console."""
    if request.url.path.startswith(API):
        return JSONResponse({"detail": detail}, status_code=status)
    return page(request, "error.html", None, status, error=detail)
