"""The do-not-call list: list, search, add numbers, import a file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from dialer.db.engine import session_scope
from dialer.db.models import DncEntry
from dialer.dnc import add_to_dnc
from dialer.dnc_input import normalize_dnc_numbers, read_dnc_file
from dialer.errors import UserError
from dialer.web.auth import Caller, engine_of, manager, settings_of
from dialer.web.uploads import Upload, receive_upload

router = APIRouter(tags=["dnc"])

PAGE = 500


class DncAdd(BaseModel):
    numbers: list[str] = Field(min_length=1, max_length=10_000)
    reason: str | None = Field(default=None, max_length=500)


def search_dnc(engine: Engine, query: str | None, limit: int) -> dict[str, Any]:
    """Numbers on the list, newest first; ``query`` matches digits anywhere in the number."""
    digits = "".join(ch for ch in query or "" if ch.isdigit())
    with Session(engine) as session:
        select_entries = select(DncEntry).order_by(col(DncEntry.created_at).desc())
        if digits:
            select_entries = select_entries.where(col(DncEntry.phone).contains(digits))
        entries = list(session.exec(select_entries.limit(limit)).all())
    return {
        "count": len(entries),
        "numbers": [
            {
                "phone": e.phone,
                "source": e.source,
                "reason": e.reason,
                "created_at": e.created_at.isoformat(),
            }
            for e in entries
        ],
    }


def add_numbers(engine: Engine, numbers: list[str], reason: str | None, who: str) -> dict[str, int]:
    listed = normalize_dnc_numbers(numbers, source="request")
    with session_scope(engine) as session:
        added = add_to_dnc(session, listed, source="web", reason=reason or f"added by {who}")
    return {"added": added, "listed": len(listed)}


@router.get("/dnc")
def dnc_list(
    request: Request,
    caller: Annotated[Caller, Depends(manager)],
    q: Annotated[str | None, Query(description="Digits to search for.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = PAGE,
) -> dict[str, Any]:
    """The DNC list (newest first), or the numbers containing ``q``'s digits."""
    return search_dnc(engine_of(request), q, limit)


@router.post("/dnc")
def dnc_add(
    body: DncAdd, request: Request, caller: Annotated[Caller, Depends(manager)]
) -> dict[str, int]:
    """Add numbers (any common format); their contacts are opted out in every campaign."""
    return add_numbers(engine_of(request), body.numbers, body.reason, caller.principal.name)


@router.post("/dnc/import")
async def dnc_import(
    request: Request,
    caller: Annotated[Caller, Depends(manager)],
    phone_column: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Import numbers from a CSV (multipart field ``file`` or the raw body), as
    ``dialer dnc import`` does."""
    settings = settings_of(request)
    upload = await receive_upload(request, "", settings.upload_dir, settings.max_upload_bytes)
    return await run_in_threadpool(
        import_numbers, engine_of(request), upload, phone_column, caller.principal.name
    )


def import_numbers(
    engine: Engine, upload: Upload, phone_column: str | None, who: str
) -> dict[str, Any]:
    """``dialer dnc import`` of a stored upload; errors name the user's file."""
    try:
        read = read_dnc_file(upload.path, phone_column, upload.rejects_path)
    except UserError as exc:
        raise type(exc)(upload.user_message(exc)) from None
    with session_scope(engine) as session:
        added = add_to_dnc(
            session, read.numbers, source="import", reason=f"import {upload.name} by {who}"
        )
    return {"added": added, "listed": len(read.numbers), "rejected": read.rejected}
