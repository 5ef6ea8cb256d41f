"""Contacts in: upload a CSV, preview what loading it would do, load it, fetch its rejects.

``POST /campaigns/{name}/contacts`` loads at once (the ``dialer load --json`` summary plus
``rejects_url``); with ``?preview=true`` it only stores the file and counts, and
``POST .../uploads/{id}/load`` loads it later (the console's Upload, then Load contacts).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from dialer.campaign.store import get_campaign
from dialer.db.engine import session_scope
from dialer.errors import NotFoundError, UserError
from dialer.loader.load import LoadSummary, load_contacts
from dialer.web.auth import Caller, engine_of, manager, settings_of
from dialer.web.uploads import Upload, find_upload, receive_upload

router = APIRouter(tags=["contacts"])

PREVIEW_ROWS = 10
PhoneColumn = Annotated[
    str | None, Query(description="Header of the phone column (default: detected).")
]


def check_campaign(engine: Engine, name: str) -> str:
    """The campaign's name; ``NotFoundError`` when there is none (before any upload)."""
    with session_scope(engine) as session:
        return get_campaign(session, name).name


def run_load(
    engine: Engine, upload: Upload, phone_column: str | None, *, dry_run: bool
) -> dict[str, Any]:
    """Load (or with ``dry_run`` only count) a stored upload; the summary as JSON, its
    file names the user's, with ``upload_id`` and the URLs that go on from it."""
    try:
        summary = load_contacts(
            engine,
            upload.campaign,
            upload.path,
            phone_column=phone_column or None,
            rejects_path=upload.rejects_path,
            dry_run=dry_run,
            sample=PREVIEW_ROWS if dry_run else 0,
        )
    except UserError as exc:
        raise type(exc)(upload.user_message(exc)) from None
    return summary_json(upload, summary)


def summary_json(upload: Upload, summary: LoadSummary) -> dict[str, Any]:
    base = f"/api/v1/campaigns/{upload.campaign}/uploads/{upload.id}"
    rejects_name = f"{upload.name.rsplit('.', 1)[0]}.rejects.csv"
    shown = replace(summary, rejects_file=rejects_name if summary.rejects_file else None)
    return {
        **shown.as_dict(),
        "file": upload.name,
        "bytes": upload.size,
        "upload_id": upload.id,
        "rejects_url": f"{base}/rejects" if summary.rejected else None,
        "load_url": f"{base}/load" if summary.dry_run else None,
    }


@router.post("/campaigns/{name}/contacts")
async def upload_contacts(
    name: str,
    request: Request,
    caller: Annotated[Caller, Depends(manager)],
    phone_column: PhoneColumn = None,
    preview: Annotated[
        bool, Query(description="Only store and count: nothing is loaded yet.")
    ] = False,
) -> dict[str, Any]:
    """Upload a CSV (multipart field ``file``, or the raw body as ``text/csv``) and load it:
    the ``dialer load --json`` summary plus ``rejects_url``. 413 past
    ``DIALER_MAX_UPLOAD_BYTES``; 422 with the loader's one line for a file it cannot read."""
    engine, settings = engine_of(request), settings_of(request)
    campaign = await run_in_threadpool(check_campaign, engine, name)
    upload = await receive_upload(request, campaign, settings.upload_dir, settings.max_upload_bytes)
    return await run_in_threadpool(run_load, engine, upload, phone_column, dry_run=preview)


def _stored(request: Request, name: str, upload_id: str) -> Upload:
    engine, settings = engine_of(request), settings_of(request)
    return find_upload(settings.upload_dir, upload_id, check_campaign(engine, name))


@router.get("/campaigns/{name}/uploads/{upload_id}/preview")
def preview_upload(
    name: str,
    upload_id: str,
    request: Request,
    caller: Annotated[Caller, Depends(manager)],
    phone_column: PhoneColumn = None,
) -> dict[str, Any]:
    """Count a stored upload again (say with another phone column); nothing is loaded."""
    upload = _stored(request, name, upload_id)
    return run_load(engine_of(request), upload, phone_column, dry_run=True)


@router.post("/campaigns/{name}/uploads/{upload_id}/load")
def load_upload(
    name: str,
    upload_id: str,
    request: Request,
    caller: Annotated[Caller, Depends(manager)],
    phone_column: PhoneColumn = None,
) -> dict[str, Any]:
    """Load a stored upload (after its preview). Loading it again adds nothing."""
    upload = _stored(request, name, upload_id)
    return run_load(engine_of(request), upload, phone_column, dry_run=False)


@router.get("/campaigns/{name}/uploads/{upload_id}/rejects", response_class=FileResponse)
def rejects(
    name: str, upload_id: str, request: Request, caller: Annotated[Caller, Depends(manager)]
) -> FileResponse:
    """The rejects CSV of an upload: line, value, reason, detail."""
    upload = _stored(request, name, upload_id)
    if not upload.rejects_path.exists():
        raise NotFoundError(f"upload {upload_id}: no rejected lines")
    stem = upload.name.rsplit(".", 1)[0]
    return FileResponse(upload.rejects_path, media_type="text/csv", filename=f"{stem}.rejects.csv")
