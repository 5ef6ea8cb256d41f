"""Campaigns: list, create from a TOML file, status, controls, and the live status stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from dialer.campaign.config import parse_config
from dialer.campaign.store import USER_PAUSE_REASON, create_campaign, get_campaign
from dialer.control import control_campaign
from dialer.db.engine import session_scope
from dialer.db.models import Campaign
from dialer.export.status import campaign_status
from dialer.states import CampaignState
from dialer.web.auth import Caller, engine_of, manager, reader, settings_of

router = APIRouter(tags=["campaigns"])

FINAL_STATES = frozenset({CampaignState.COMPLETED.value, CampaignState.CANCELLED.value})
KEEP_ALIVE_SECONDS = 15.0


def status_of(engine: Engine, name: str) -> dict[str, Any]:
    """The ``dialer status --json`` object of campaign ``name``."""
    with session_scope(engine) as session:
        campaign = get_campaign(session, name)
    return campaign_status(engine, campaign).model_dump(mode="json")


def list_campaigns(engine: Engine) -> list[dict[str, Any]]:
    """Every campaign, newest first, with its state and contact counts."""
    with Session(engine) as session:
        campaigns = list(session.exec(select(Campaign).order_by(col(Campaign.id).desc())).all())
    rows = []
    for campaign in campaigns:
        status = campaign_status(engine, campaign)
        rows.append(
            {
                "name": campaign.name,
                "channel": campaign.channel,
                "state": campaign.state,
                "state_reason": campaign.state_reason,
                "contacts": status.contacts,
                "final": status.final,
                "counts": {k.value: v for k, v in status.counts.items()},
                "rate_per_min": status.rate_per_min,
            }
        )
    return rows


@router.get("/campaigns")
def campaigns(request: Request, caller: Annotated[Caller, Depends(reader)]) -> list[dict[str, Any]]:
    """Every campaign: name, channel, state, contacts, how many are final, counts by status."""
    return list_campaigns(engine_of(request))


def register(engine: Engine, text: str, source: str) -> tuple[str, bool]:
    """Create a campaign from a campaign file's text; ``(name, created)``."""
    config = parse_config(text, source)
    with session_scope(engine) as session:
        row, created = create_campaign(session, config, None)
        return row.name, created


@router.post("/campaigns", status_code=201)
def create(
    request: Request,
    caller: Annotated[Caller, Depends(manager)],
    text: Annotated[str, Body(media_type="application/toml")],
) -> JSONResponse:
    """Register a campaign from its TOML file (the body). 201 when created; the same file
    again is 200 with ``created: false``; a bad file 422 with the CLI's one line."""
    name, created = register(engine_of(request), text, "campaign file")
    return JSONResponse({"name": name, "created": created}, status_code=201 if created else 200)


@router.get("/campaigns/{name}")
def status(
    name: str, request: Request, caller: Annotated[Caller, Depends(reader)]
) -> dict[str, Any]:
    """The ``dialer status --json`` object."""
    return status_of(engine_of(request), name)


def apply_control(request: Request, caller: Caller, name: str, action: str) -> str:
    """``action`` on campaign ``name`` as ``dialer campaign ACTION`` does it; who paused or
    cancelled is kept in the campaign's state reason."""
    who = caller.principal.name
    reason = {"pause": f"{USER_PAUSE_REASON} ({who})", "cancel": f"cancelled by {who}"}.get(action)
    return control_campaign(settings_of(request), engine_of(request), name, action, reason=reason)


def _control_route(action: str, summary: str) -> None:
    def control(
        name: str, request: Request, caller: Annotated[Caller, Depends(manager)]
    ) -> dict[str, str]:
        return {"campaign": name, "state": apply_control(request, caller, name, action)}

    control.__name__ = action
    router.add_api_route(
        f"/campaigns/{{name}}/{action}",
        control,
        methods=["POST"],
        summary=summary,
        description=f"{summary} 409 when the campaign's state forbids it.",
    )


for _action, _summary in (
    ("start", "Start dialling (pre-flight checks first)."),
    ("pause", "Stop handing out new attempts; calls in flight finish."),
    ("resume", "Resume a paused campaign."),
    ("cancel", "Cancel: waiting contacts become 'cancelled'."),
):
    _control_route(_action, _summary)


@router.get("/campaigns/{name}/events", response_class=StreamingResponse)
async def events(
    name: str, request: Request, caller: Annotated[Caller, Depends(reader)]
) -> StreamingResponse:
    """Server-Sent Events: a ``status`` event with the status object now and at each change
    (checked every second), a comment line as a keep-alive; the stream ends when the
    campaign is completed or cancelled (a browser's EventSource reconnects by itself)."""
    engine = engine_of(request)
    first = await run_in_threadpool(status_of, engine, name)  # 404 before the stream starts
    interval: float = request.app.state.sse_interval
    return StreamingResponse(
        _snapshots(request, engine, name, first, interval),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _snapshots(
    request: Request, engine: Engine, name: str, snapshot: dict[str, Any], interval: float
) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    last: str | None = None
    quiet = 0.0
    while True:
        key = json.dumps({k: v for k, v in snapshot.items() if k != "generated_at"})
        if key != last:
            last, quiet = key, 0.0
            yield f"event: status\ndata: {json.dumps(snapshot, ensure_ascii=False)}\n\n"
        elif quiet >= KEEP_ALIVE_SECONDS:
            quiet = 0.0
            yield ": keep-alive\n\n"
        if snapshot["state"] in FINAL_STATES or await request.is_disconnected():
            return
        await asyncio.sleep(interval)
        quiet += interval
        snapshot = await run_in_threadpool(status_of, engine, name)
