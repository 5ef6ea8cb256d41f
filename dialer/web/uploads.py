"""Uploaded files: streamed to ``DIALER_UPLOAD_DIR`` as they arrive, never held in memory.

A file arrives as the multipart field ``file`` or as the raw body (``text/csv``). Past
``DIALER_MAX_UPLOAD_BYTES`` the upload stops at once (413) and what was written is removed.
Each upload gets an id: ``<id>.csv`` is the file, ``<id>.json`` what it is (its name and
campaign), ``<id>.rejects.csv`` the lines a load did not take.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message, Receive

from dialer.errors import InputFileError, NotFoundError, UserError
from dialer.web.errors import UploadTooLargeError

CHUNK = 1024 * 1024
KEEP_SECONDS = 7 * 24 * 3600
"""Uploads, their rejects and exports older than this are removed when the next one comes."""
_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Upload:
    id: str
    name: str
    """The file's name as the user's browser or client gave it."""
    campaign: str
    size: int
    folder: str

    @property
    def path(self) -> Path:
        return Path(self.folder) / f"{self.id}.csv"

    @property
    def rejects_path(self) -> Path:
        return Path(self.folder) / f"{self.id}.rejects.csv"

    def user_message(self, error: UserError) -> str:
        """``error``'s line with the stored file's path replaced by the user's file name."""
        text = str(error).replace(str(self.rejects_path), "the rejects file")
        return text.replace(str(self.path), self.name)


class CsrfError(PermissionError):
    """A console form without the session's CSRF token (403)."""


def upload_folder(upload_dir: str) -> Path:
    folder = Path(upload_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"DIALER_UPLOAD_DIR {upload_dir}: cannot create ({exc.strerror or exc})"
        ) from None
    return folder


def too_large(limit: int) -> UploadTooLargeError:
    return UploadTooLargeError(
        f"upload larger than {limit} bytes (DIALER_MAX_UPLOAD_BYTES); split the file"
    )


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises ``UploadTooLargeError`` once the body passes ``limit`` bytes."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large(limit)
        return message

    return limited


async def receive_upload(
    request: Request, campaign: str, upload_dir: str, limit: int, *, csrf: str | None = None
) -> Upload:
    """Store the request's file; ``UploadTooLargeError`` past ``limit`` bytes,
    ``InputFileError`` when a multipart request has no ``file`` field. With ``csrf`` (a
    console form) the form's ``csrf_token`` field must match it, else ``CsrfError``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:  # the multipart framing
        raise too_large(limit)
    folder = upload_folder(upload_dir)
    remove_old(folder, time.time() - KEEP_SECONDS)
    upload_id = secrets.token_hex(8)
    target = folder / f"{upload_id}.csv"
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            name, size = await _save_multipart(request, target, limit, csrf)
        elif csrf is not None:
            raise CsrfError("this form has expired or came from another site; reload the page")
        else:
            given = Path(request.query_params.get("filename") or "upload.csv").name
            name, size = given or "upload.csv", await _save_body(request, target, limit)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    upload = Upload(upload_id, name, campaign, size, str(folder))
    (folder / f"{upload_id}.json").write_text(json.dumps(asdict(upload)), encoding="utf-8")
    return upload


async def _save_body(request: Request, target: Path, limit: int) -> int:
    size = 0
    with target.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            out.write(chunk)
    return size


async def _save_multipart(
    request: Request, target: Path, limit: int, csrf: str | None
) -> tuple[str, int]:
    # Starlette spools each file part to a temporary file past 1 MiB; the body is counted as
    # it arrives, so an upload over the limit stops there.
    limited = Request(request.scope, _limited(request.receive, limit))
    async with limited.form(max_files=1, max_fields=20) as form:
        offered = form.get("csrf_token")
        if csrf is not None and not (
            isinstance(offered, str) and secrets.compare_digest(offered, csrf)
        ):
            raise CsrfError("this form has expired or came from another site; reload the page")
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise InputFileError("upload: no file (send it as the multipart field 'file')")
        name = Path(part.filename or "upload.csv").name
        await part.seek(0)
        with target.open("wb") as out:
            _copy(part.file, out)
        return name, target.stat().st_size


def remove_old(folder: Path, before: float) -> int:
    """Remove the files in ``folder`` (and its ``exports``) last changed before ``before``
    (a Unix time); how many went. A file another request is using stays readable (POSIX)."""
    removed = 0
    for place in (folder, folder / "exports"):
        try:
            entries = list(os.scandir(place))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_file() and entry.stat().st_mtime < before:
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue
    return removed


def _copy(source: IO[bytes], out: IO[bytes]) -> None:
    shutil.copyfileobj(source, out, CHUNK)


def find_upload(upload_dir: str, upload_id: str, campaign: str) -> Upload:
    """A stored upload of ``campaign``; ``NotFoundError`` otherwise (ids are checked, so no
    path outside the folder can be named)."""
    if not _ID.match(upload_id):
        raise NotFoundError(f"unknown upload {upload_id!r}")
    meta = Path(upload_dir) / f"{upload_id}.json"
    try:
        upload = Upload(**json.loads(meta.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        raise NotFoundError(f"unknown upload {upload_id!r}") from None
    if upload.campaign != campaign:
        raise NotFoundError(f"unknown upload {upload_id!r}")
    return upload
