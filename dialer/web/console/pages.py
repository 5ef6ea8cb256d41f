"""The console's pages. Each handler is a few lines around the same functions the API uses.

Every page needs a signed-in session (else a redirect to ``/login``); every form carries the
session's CSRF token (``csrf_token``) and is refused 403 without it. Roles are the API's:
an analyst sees campaigns and results, a manager also changes them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from dialer.accounts.roles import Role, allows
from dialer.accounts.sessions import SESSION_HOURS, end_session, purge_expired, start_session
from dialer.accounts.throttle import clear_failures, login_blocked, record_failure
from dialer.accounts.users import authenticate
from dialer.campaign.store import config_of, get_campaign
from dialer.db.engine import session_scope
from dialer.db.types import utcnow
from dialer.errors import UserError
from dialer.report.data import collect_report
from dialer.report.page import cause_chart, funnel_chart, timeline_chart
from dialer.states import CampaignState
from dialer.web.api.campaigns import apply_control, list_campaigns, register, status_of
from dialer.web.api.contacts import run_load
from dialer.web.api.dnc import add_numbers, import_numbers, search_dnc
from dialer.web.auth import SESSION_COOKIE, Caller, csrf_ok, engine_of, identify, settings_of
from dialer.web.console.words import pick_language, translate
from dialer.web.errors import status_for
from dialer.web.uploads import find_upload, receive_upload

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
LOGIN_CSRF_COOKIE = "dialer_login_csrf"
CONTROLS = {
    "start": {CampaignState.DRAFT, CampaignState.COMPLETED},
    "pause": {CampaignState.RUNNING},
    "resume": {CampaignState.PAUSED},
    "cancel": {CampaignState.DRAFT, CampaignState.RUNNING, CampaignState.PAUSED},
}
"""Which buttons a campaign's page shows in each state."""
EXAMPLE = """\
# A TTS reminder; change the name, the message and the window to yours.
name = "my-reminder"
channel = "tts"
purpose = "informational"

[message]
text = "Здравствуйте, {name}! Напоминаем: платёж по договору {contract} нужно внести до {due}."
caller_id = "74950000000"

[schedule]
window = "10:00-20:00"
days = ["mon", "tue", "wed", "thu", "fri"]
timezone = "Europe/Moscow"

[retry]
max_attempts = 3
"""


class SignInRequired(Exception):
    """No console session: the handler answers with a redirect to the login page."""


def page(
    request: Request, template: str, caller: Caller | None, code: int = 200, /, **context: Any
) -> HTMLResponse:
    lang = pick_language(request.cookies.get("lang"), request.headers.get("accept-language", ""))
    response = templates.TemplateResponse(
        request,
        template,
        {
            "caller": caller,
            "lang": lang,
            "t": lambda text: translate(text, lang),
            "can_manage": caller is not None and allows(caller.principal.role, Role.MANAGER),
            **context,
        },
        status_code=code,
    )
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def signed_in(request: Request) -> Caller:
    caller = identify(request)
    if caller is None or caller.csrf_token is None:
        raise SignInRequired
    return caller


async def checked_form(request: Request, caller: Caller, need: Role) -> dict[str, Any]:
    """The posted form, if it carries the session's CSRF token and the role allows ``need``."""
    form = await request.form()
    offered = form.get("csrf_token")
    if not csrf_ok(caller, offered if isinstance(offered, str) else None):
        raise UserError("this form has expired or came from another site; reload the page")
    if not allows(caller.principal.role, need):
        raise PermissionError(f"role {caller.principal.role.value} may not do this")
    return dict(form)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        None,
        status,
        login_csrf=token,
        error=error,
        next=request.query_params.get("next", "/"),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings_of(request).web_secure_cookies,
        max_age=3600,
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    offered = str(form.get("login_csrf", ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(offered, expected):
        return login_page(request, "The sign-in form expired; try again.", 403)
    keys = [f"user:{name.lower()}", f"ip:{client_ip(request)}"]
    result = await run_in_threadpool(_sign_in, engine_of(request), name, password, keys)
    if isinstance(result, str):
        return login_page(request, result, 429 if "Too many" in result else 401)
    cookie, _csrf = result
    target = str(form.get("next", "/"))
    if not local_path(target):
        target = "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=settings_of(request).web_secure_cookies,
        max_age=SESSION_HOURS * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def local_path(target: str) -> bool:
    """Whether ``target`` is a path on this site (never ``//host`` or ``/\\host``, which
    browsers follow to another site): the only places a sign-in may send the browser on to."""
    return target.startswith("/") and not target.startswith(("//", "/\\")) and ("\\" not in target)


def _sign_in(engine: Any, name: str, password: str, keys: list[str]) -> tuple[str, str] | str:
    with session_scope(engine) as session:
        wait = login_blocked(session, keys)
        if wait is not None:
            minutes = max(1, int(wait.total_seconds() // 60) + 1)
            return f"Too many failed sign-ins; try again in {minutes} min."
        user = authenticate(session, name, password)
        if user is None:
            record_failure(session, keys)
            return "Wrong username or password."
        clear_failures(session, keys[:1])
        purge_expired(session, utcnow())
        return start_session(session, user)


@router.post("/logout")
async def logout(request: Request) -> Response:
    caller = signed_in(request)
    await checked_form(request, caller, Role.ANALYST)
    with session_scope(engine_of(request)) as session:
        end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{lang}")
def language(lang: str, request: Request) -> Response:
    back = request.headers.get("referer", "/")
    response = RedirectResponse(back if back.startswith(str(request.base_url)) else "/", 303)
    if lang in ("en", "ru"):
        response.set_cookie("lang", lang, samesite="lax", max_age=365 * 86400)
    return response


@router.get("/")
def campaigns(request: Request) -> HTMLResponse:
    caller = signed_in(request)
    return page(request, "campaigns.html", caller, campaigns=list_campaigns(engine_of(request)))


@router.get("/campaigns/new")
def new_campaign(request: Request) -> HTMLResponse:
    caller = signed_in(request)
    return page(request, "new.html", caller, text=EXAMPLE, error=None)


@router.post("/campaigns/new")
async def create_campaign(request: Request) -> Response:
    caller = signed_in(request)
    form = await checked_form(request, caller, Role.MANAGER)
    text = str(form.get("campaign_file", ""))
    try:
        name, _created = await run_in_threadpool(
            register, engine_of(request), text, "campaign file"
        )
    except UserError as exc:
        return page(request, "new.html", caller, status_for(exc), text=text, error=str(exc))
    return RedirectResponse(f"/campaigns/{quote(name, safe='')}", status_code=303)


def campaign_context(request: Request, name: str) -> dict[str, Any]:
    engine = engine_of(request)
    with session_scope(engine) as session:
        campaign = get_campaign(session, name)
        template = config_of(campaign).message.text
    status = status_of(engine, campaign.name)
    data = collect_report(engine, campaign)
    state = CampaignState(status["state"])
    return {
        "name": campaign.name,
        "status": status,
        "message": template,
        "controls": [action for action, states in CONTROLS.items() if state in states],
        "charts": [funnel_chart(data), cause_chart(data), timeline_chart(data.timeline)],
    }


@router.get("/campaigns/{name}")
def campaign_page(name: str, request: Request) -> HTMLResponse:
    caller = signed_in(request)
    return page(request, "campaign.html", caller, **campaign_context(request, name))


@router.post("/campaigns/{name}/control/{action}")
async def control(name: str, action: str, request: Request) -> Response:
    caller = signed_in(request)
    await checked_form(request, caller, Role.MANAGER)
    if action not in CONTROLS:
        raise UserError(f"unknown action {action!r}")
    try:
        await run_in_threadpool(apply_control, request, caller, name, action)
    except UserError as exc:
        if status_for(exc) == 404:
            raise
        return page(
            request,
            "campaign.html",
            caller,
            status_for(exc),
            error=str(exc),
            **campaign_context(request, name),
        )
    return RedirectResponse(f"/campaigns/{quote(name, safe='')}", status_code=303)


@router.post("/campaigns/{name}/upload")
async def upload(name: str, request: Request) -> Response:
    caller = signed_in(request)
    if not allows(caller.principal.role, Role.MANAGER):
        raise PermissionError(f"role {caller.principal.role.value} may not upload")
    settings = settings_of(request)
    stored = await receive_upload(
        request,
        get_name(request, name),
        settings.upload_dir,
        settings.max_upload_bytes,
        csrf=caller.csrf_token,
    )
    return RedirectResponse(
        f"/campaigns/{quote(stored.campaign, safe='')}/uploads/{stored.id}", status_code=303
    )


def get_name(request: Request, name: str) -> str:
    with session_scope(engine_of(request)) as session:
        return get_campaign(session, name).name


@router.get("/campaigns/{name}/uploads/{upload_id}")
async def preview(
    name: str, upload_id: str, request: Request, phone_column: str | None = None
) -> HTMLResponse:
    caller = signed_in(request)
    settings = settings_of(request)
    stored = find_upload(settings.upload_dir, upload_id, get_name(request, name))
    try:
        summary = await run_in_threadpool(
            run_load, engine_of(request), stored, phone_column, dry_run=True
        )
        error = None
    except UserError as exc:
        summary, error = None, str(exc)
    return page(
        request,
        "preview.html",
        caller,
        200 if error is None else 422,
        name=stored.campaign,
        upload=stored,
        summary=summary,
        error=error,
        chosen=phone_column,
    )


@router.post("/campaigns/{name}/uploads/{upload_id}/load")
async def load(name: str, upload_id: str, request: Request) -> HTMLResponse:
    caller = signed_in(request)
    form = await checked_form(request, caller, Role.MANAGER)
    settings = settings_of(request)
    stored = find_upload(settings.upload_dir, upload_id, get_name(request, name))
    column = str(form.get("phone_column") or "") or None
    try:
        summary = await run_in_threadpool(
            run_load, engine_of(request), stored, column, dry_run=False
        )
    except UserError as exc:
        return page(
            request,
            "preview.html",
            caller,
            status_for(exc),
            name=stored.campaign,
            upload=stored,
            summary=None,
            error=str(exc),
            chosen=column,
        )
    return page(
        request, "loaded.html", caller, name=stored.campaign, upload=stored, summary=summary
    )


@router.get("/dnc")
def dnc_page(request: Request, q: str | None = None) -> HTMLResponse:
    caller = signed_in(request)
    if not allows(caller.principal.role, Role.MANAGER):
        raise PermissionError(f"role {caller.principal.role.value} may not see the DNC list")
    return page(
        request,
        "dnc.html",
        caller,
        q=q or "",
        found=search_dnc(engine_of(request), q, 500),
        result=None,
        error=None,
    )


@router.post("/dnc")
async def dnc_add(request: Request) -> HTMLResponse:
    caller = signed_in(request)
    form = await checked_form(request, caller, Role.MANAGER)
    numbers = [n for n in str(form.get("numbers", "")).replace(",", "\n").splitlines() if n.strip()]
    reason = str(form.get("reason") or "") or None
    return await dnc_changed(
        request, caller, add_numbers, engine_of(request), numbers, reason, caller.principal.name
    )


@router.post("/dnc/upload")
async def dnc_import(request: Request) -> HTMLResponse:
    caller = signed_in(request)
    if not allows(caller.principal.role, Role.MANAGER):
        raise PermissionError(f"role {caller.principal.role.value} may not change the DNC list")
    settings = settings_of(request)
    stored = await receive_upload(
        request, "", settings.upload_dir, settings.max_upload_bytes, csrf=caller.csrf_token
    )
    return await dnc_changed(
        request, caller, import_numbers, engine_of(request), stored, None, caller.principal.name
    )


async def dnc_changed(
    request: Request, caller: Caller, change: Callable[..., dict[str, Any]], *args: Any
) -> HTMLResponse:
    """Run ``change(*args)`` (an add or an import) and show the DNC page with what it did,
    or its one-line error (422)."""
    result: dict[str, Any] | None = None
    error = None
    try:
        result = await run_in_threadpool(change, *args)
    except UserError as exc:
        error = str(exc)
    found = search_dnc(engine_of(request), None, 500)
    code = 200 if error is None else 422
    return page(request, "dnc.html", caller, code, q="", found=found, result=result, error=error)
