"""The provider interface the dispatch actors talk to.

A provider turns one attempt into one HTTP request and returns the provider's id for it, or
raises one of the ``dialer.errors.ProviderError`` subclasses that says whether the request may
be sent again (transient), may have happened (unknown), or was refused (invalid number,
refused, auth).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal


@dataclass(frozen=True, slots=True)
class MenuOption:
    """One IVR menu entry as MTT sees it: ``notify`` posts to ``value`` (an https URL),
    ``transfer`` bridges the call to ``value`` (an 11-digit number)."""

    digit: int
    type: Literal["notify", "transfer"]
    value: str


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One call to place. ``attempt_id`` becomes MTT's ``messId``; numbers are 11 digits."""

    attempt_id: int
    to: str
    caller_id: str
    text: str
    voice: str | None = None
    language: str | None = None
    emotion: str | None = None
    speed: float | None = None
    menu: tuple[MenuOption, ...] = ()
    """Empty for a TTS informer call; non-empty makes it an ``ivr-api`` call."""


@dataclass(frozen=True, slots=True)
class SmsRequest:
    """One SMS to send. ``attempt_id`` becomes msapi's ``tag``."""

    attempt_id: int
    to: str
    sender: str
    text: str


@dataclass(frozen=True, slots=True)
class Submitted:
    """The provider accepted the request; ``provider_id`` is MTT's CallID or msapi message_sid."""

    provider_id: str
    raw: str = ""


class CallProvider(abc.ABC):
    @abc.abstractmethod
    async def place_call(self, request: CallRequest) -> Submitted:
        """Send the call request once. Raises a ``ProviderError`` subclass on failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections."""


class SmsProvider(abc.ABC):
    @abc.abstractmethod
    async def send_sms(self, request: SmsRequest) -> Submitted:
        """Send the message once. Raises a ``ProviderError`` subclass on failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections."""


class EventKind(StrEnum):
    """What a normalised provider event says happened."""

    CALL_STARTED = "call_started"  # sb-api o_<b_number>
    CALL_ENDED = "call_ended"  # sb-api h_<b_number>_<cause>_<duration>
    DTMF = "dtmf"  # ivr n_<b_number> with dtmf digit or "null"
    TRANSFER_STARTED = "transfer_started"  # ivr o_<redirect_number>, type=transfer
    TRANSFER_ENDED = "transfer_ended"  # ivr h_<redirect_number>_<cause>_<duration>
    SMS_STATUS = "sms_status"  # msapi outbound status
    SMS_INBOUND = "sms_inbound"  # msapi inbound message (direction=inbound)
    CALLBACK = "callback"  # CallBack event.php; ``status`` is the event name


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    """One provider event in one vocabulary, whatever shape it arrived in.

    ``attempt_id`` is our ``messId`` (sb-api ``id``) or the SMS ``tag`` when known;
    ``provider_id`` is the CallID or message_sid. ``duration`` is in seconds. ``dtmf`` is the
    pressed digit, or ``None`` when the subscriber chose nothing (``"dtmf": "null"``).
    ``occurred_at`` is timezone-aware (MTT's ``date_time`` is Moscow time).
    """

    kind: EventKind
    attempt_id: int | None = None
    provider_id: str | None = None
    number: str | None = None
    cause: int | None = None
    duration: int | None = None
    dtmf: int | None = None
    status: str | None = None
    text: str | None = None
    sender: str | None = None
    occurred_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
