"""Cursors for incremental exports (``dialer export --since CURSOR``).

A cursor is a UTC time written in ISO 8601 (``2026-11-23T21:10:00.123456Z``). An export
with ``--since C`` holds the rows whose last change (``updated_at``) is after ``C`` and no
later than the export's own cursor, which it prints for the next run. That cursor is the
export's start time less ``SETTLE``: a change is stamped with its time a moment before its
transaction commits, so a row stamped just before an export began may not be visible to it
yet. Holding the last ``SETTLE`` back to the next export means consecutive incremental exports
cover time without gaps or overlaps. A full export (no ``--since``) holds every row and
prints a cursor too, so the first incremental export after it may repeat rows changed in its
last ``SETTLE``: key rows on ``attempt_id`` (or ``phone``). Any ISO 8601 time or date also
works as a cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dialer.errors import UserError

SETTLE = timedelta(seconds=10)
"""Longer than any transaction that stamps ``updated_at`` (they take milliseconds)."""


@dataclass(frozen=True)
class Window:
    """Rows changed in ``(since, until]``; ``since`` None means from the beginning."""

    since: datetime | None
    until: datetime

    @property
    def cursor(self) -> str:
        """What to pass as ``--since`` next time."""
        return format_cursor(self.until)


def format_cursor(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_cursor(text: str) -> datetime:
    """An ISO 8601 time (UTC when it names no zone) or date. Raises ``UserError``."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"--since: {text!r} is not a cursor (an ISO 8601 time such as "
            "2026-11-23T21:10:00Z, as printed by the previous export)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def export_window(since: datetime | None, now: datetime) -> Window:
    """The window an export started at ``now`` covers. A cursor never moves backwards, so a
    second export within ``SETTLE`` of the first is empty and returns the same cursor."""
    until = now - SETTLE
    if since is not None and until < since:
        until = since
    return Window(since, until)
