"""Results out: the export files and the HTML report."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.background import BackgroundTask

from dialer.export.cursor import parse_cursor
from dialer.export.run import export_campaign
from dialer.report import report_html
from dialer.web.api.contacts import check_campaign
from dialer.web.auth import Caller, engine_of, reader, settings_of
from dialer.web.uploads import upload_folder

router = APIRouter(tags=["results"])

MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
CURSOR_HEADER = "X-Dialer-Cursor"


@router.get("/campaigns/{name}/export", response_class=FileResponse)
def export(
    name: str,
    request: Request,
    caller: Annotated[Caller, Depends(reader)],
    format: Literal["csv", "xlsx", "parquet"] = "csv",
    level: Literal["contacts", "attempts"] = "contacts",
    since: Annotated[str | None, Query(description="Only rows changed after this cursor.")] = None,
    excel: Annotated[bool, Query(description="CSV with ';' for Excel in RU locales.")] = False,
) -> FileResponse:
    """The ``dialer export`` file. Its cursor (pass it as ``since`` next time) is in the
    ``X-Dialer-Cursor`` header."""
    engine, settings = engine_of(request), settings_of(request)
    campaign = check_campaign(engine, name)
    cursor = parse_cursor(since) if since is not None else None
    folder = upload_folder(settings.upload_dir) / "exports"
    folder.mkdir(exist_ok=True)
    output = folder / f"{secrets.token_hex(8)}.{format}"
    try:
        result = export_campaign(
            engine, campaign, output, fmt=format, level=level, excel=excel, since=cursor
        )
    except BaseException:
        output.unlink(missing_ok=True)
        raise
    return FileResponse(
        output,
        media_type=MEDIA_TYPES[format],
        filename=f"{campaign}-{level}.{format}",
        headers={CURSOR_HEADER: result.cursor, "X-Dialer-Rows": str(result.rows)},
        background=BackgroundTask(output.unlink, missing_ok=True),
    )


@router.get("/campaigns/{name}/report", response_class=HTMLResponse)
def report(name: str, request: Request, caller: Annotated[Caller, Depends(reader)]) -> HTMLResponse:
    """The ``dialer report`` page (self-contained HTML: charts are inline SVG)."""
    return HTMLResponse(report_html(engine_of(request), name))
