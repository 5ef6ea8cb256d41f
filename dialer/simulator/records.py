"""What the simulator remembers about calls and messages (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from dialer.simulator.outcomes import CallPlan, MenuAction

IVR_METHOD = "ivr-api"


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One validated IVR option: ``notify`` posts to ``value`` (a URL), ``transfer`` bridges
    the call to ``value`` (11 digits)."""

    digit: int
    action: MenuAction
    value: str


@dataclass(frozen=True, slots=True)
class CallSpec:
    """A validated sb-api call request. ``menu`` is empty for informer calls."""

    method: str
    mess_id: str
    b_number: str
    a_number: str
    text: str
    menu: tuple[MenuItem, ...] = ()

    @property
    def is_ivr(self) -> bool:
        return self.method == IVR_METHOD

    def menu_actions(self) -> dict[int, MenuAction]:
        return {item.digit: item.action for item in self.menu}

    def option(self, digit: int | None) -> MenuItem | None:
        return next((item for item in self.menu if item.digit == digit), None)


@dataclass(slots=True)
class CallRecord:
    """One accepted call. ``accepted_at`` is timezone-aware; ``ended`` turns true when the
    simulated call hangs up (its final ``h_`` event is due), whether or not it was delivered."""

    call_id: str
    spec: CallSpec
    plan: CallPlan
    accepted_at: datetime
    conf_id: str = ""
    """The ``h323_conf_id`` of the call's CDR."""
    duration: int = 0
    """Seconds reported in the main call's ``h_`` event (TTS plus any transfer talk)."""
    ended: bool = False

    @property
    def connected_at(self) -> datetime:
        """When the subscriber answered, or when the attempt failed."""
        seconds = self.plan.setup_seconds + self.plan.ring_seconds
        return self.accepted_at + timedelta(seconds=seconds)

    def to_json(self) -> dict[str, object]:
        plan = self.plan
        return {
            "CallID": self.call_id,
            "messId": self.spec.mess_id,
            "method": self.spec.method,
            "b_number": self.spec.b_number,
            "a_number": self.spec.a_number,
            "accepted_at": self.accepted_at.isoformat(),
            "outcome": plan.outcome.value,
            "cause": plan.cause,
            "ring_seconds": round(plan.ring_seconds, 3),
            "listen_seconds": plan.listen_seconds,
            "dtmf": plan.dtmf,
            "transfer_seconds": plan.transfer_seconds,
            "duration": self.duration,
            "ended": self.ended,
        }


Direction = Literal["outbound", "inbound"]


@dataclass(slots=True)
class MessageRecord:
    """One msapi message. ``sender``/``recipient`` are msapi's ``from``/``to``; ``created_at``
    is unix seconds; ``status`` moves along as the simulated delivery progresses."""

    message_sid: str
    direction: Direction
    sender: str
    recipient: str
    text: str
    created_at: int
    status: str
    tag: str | None = None

    @property
    def own_number(self) -> str:
        """The account's number: the sender of outbound, the recipient of inbound messages."""
        return self.sender if self.direction == "outbound" else self.recipient

    @property
    def external_number(self) -> str:
        """The subscriber's number."""
        return self.recipient if self.direction == "outbound" else self.sender

    def listing(self, account_sid: str) -> dict[str, object]:
        """The message as ``GET .../messages`` shows it, in the documented key order.

        The docs' field table says ``number`` is the external number and ``external_number``
        ours, but their example shows the reverse; we follow the example (data over prose).
        """
        return {
            "account_sid": account_sid,
            "message_sid": self.message_sid,
            "text": self.text,
            "created_at": self.created_at,
            "direction": self.direction,
            "number": self.own_number,
            "external_number": self.external_number,
            "status": self.status,
            "segment_count": segment_count(self.text),
        }


def segment_count(text: str) -> int:
    """SMS parts: 160/153 characters per part for 7-bit text, 70/67 for UCS-2 (Cyrillic)."""
    single, multi = (160, 153) if text.isascii() else (70, 67)
    if len(text) <= single:
        return 1
    return -(-len(text) // multi)
