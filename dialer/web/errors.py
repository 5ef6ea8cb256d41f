"""How the dialer's errors become HTTP answers: the same one line the CLI prints.

``NotFoundError`` 404; ``StateError`` and ``PreflightError`` 409 (the campaign's state forbids
it); any other ``UserError`` (a bad campaign file, CSV or value) 422; an upload over
``DIALER_MAX_UPLOAD_BYTES`` 413. The body is ``{"detail": "<one line>"}``.
"""

from __future__ import annotations

from dialer.errors import NotFoundError, PreflightError, StateError, UserError


class UploadTooLargeError(UserError):
    """An upload is larger than ``DIALER_MAX_UPLOAD_BYTES``."""


def status_for(error: UserError) -> int:
    """The HTTP status that answers ``error``."""
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, StateError | PreflightError):
        return 409
    if isinstance(error, UploadTooLargeError):
        return 413
    return 422
