"""msapi list answers: pages of numbers and messages.

Fields are optional wherever the documentation's own examples leave them out. ``page`` is kept
but not relied on (the table says pages start at 0, the examples show 1): paginate with
``offset`` and ``total``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class MsapiNumber(_Frozen):
    """One number of the account; ``direction`` is ``OUT`` when it may send SMS."""

    number: str
    direction: str = ""


class MsapiMessage(_Frozen):
    """One message. ``number`` is the external party, ``external_number`` ours (msapi's own
    naming). ``created_at`` is a unix timestamp in seconds (the table says string; the examples
    send an integer; both are accepted)."""

    message_sid: str
    account_sid: str = ""
    text: str = ""
    created_at: int | None = None
    direction: str = ""
    number: str = ""
    external_number: str = ""
    status: str = ""
    segment_count: int | None = None

    @property
    def created(self) -> datetime | None:
        """``created_at`` as an aware UTC datetime."""
        if self.created_at is None:
            return None
        return datetime.fromtimestamp(self.created_at, tz=UTC)


class _Page(_Frozen):
    page: int | None = None
    total: int = 0
    limit: int = 0
    offset: int = 0
    prev: str | None = None
    next: str | None = None


class NumbersPage(_Page):
    """One page of ``GET /v2/accounts/{sid}/numbers``."""

    numbers: tuple[MsapiNumber, ...] = ()


class MessagesPage(_Page):
    """One page of ``GET /v2/accounts/{sid}/messages`` (also the shape of a single message)."""

    messages: tuple[MsapiMessage, ...] = ()
