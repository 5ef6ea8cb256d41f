"""The compact text of a request kept in the inbox's ``raw`` column for inspection."""

from __future__ import annotations

RAW_LIMIT_CHARS = 16 * 1024
"""Longest ``raw`` text kept, in characters; the rest is cut with a marker."""


def raw_request_text(method: str, content_type: str | None, query: bytes, body: bytes) -> str:
    """``"<METHOD> <content-type>\\n?<query>\\n<body>"``, bytes decoded as UTF-8 with
    replacement characters, NUL replaced too (PostgreSQL text cannot hold it), and cut to
    ``RAW_LIMIT_CHARS``. Never raises."""
    text = "{} {}\n?{}\n{}".format(
        method,
        content_type or "-",
        query.decode("utf-8", "replace"),
        body.decode("utf-8", "replace"),
    )
    text = text.replace("\x00", "\ufffd")
    if len(text) > RAW_LIMIT_CHARS:
        cut = len(text) - RAW_LIMIT_CHARS
        text = f"{text[:RAW_LIMIT_CHARS]}\n[... {cut} more characters cut]"
    return text


def clean_text(text: str, limit: int = 500) -> str:
    """A short, storable version of an error message: no NUL, at most ``limit`` characters."""
    return text.replace("\x00", "\ufffd")[:limit]
