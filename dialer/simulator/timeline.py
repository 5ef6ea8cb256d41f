"""Pure construction of a call's event sequence, in the docs' formats and order.

Order follows the docs' general IVR example: ``o_<b>``, then (if the subscriber chose a
transfer) ``o_<redirect>`` and ``h_<redirect>_16_<talk>``, and the main ``h_<b>_..`` last.
A ``notify`` choice posts ``n_<b>`` to the option's URL; no choice posts ``n_<b>`` with
``"dtmf": "null"`` to the first notify option's URL (or the call webhook when there is none).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from dialer.simulator.records import CallRecord

THANKS_SECONDS = 3.0
""""Спасибо за Ваш выбор, до свидания!" after a notify choice, seconds."""
NO_CHOICE_WAIT_SECONDS = 5.0
"""How long the IVR waits for a key after the message, seconds."""
TRANSFER_RING_SECONDS = 3.0
"""Ringing on the transfer leg before the operator answers, seconds."""


@cache
def moscow() -> ZoneInfo:
    """MTT stamps ``date_time`` in Moscow time."""
    return ZoneInfo("Europe/Moscow")


def format_date_time(moment: datetime) -> str:
    """``YYYY-MM-DD-HH-MM-SS`` in Moscow time, as in ``"2019-03-29-11-37-13"``."""
    return moment.astimezone(moscow()).strftime("%Y-%m-%d-%H-%M-%S")


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One event to deliver ``at`` simulated seconds after the call was accepted.

    ``url`` is ``None`` for the account's call webhook. ``shaped`` events (informer calls) are
    encoded per ``event_shape``; IVR events are always JSON, as the docs specify.
    """

    at: float
    url: str | None
    payload: dict[str, str]
    shaped: bool


@dataclass(frozen=True, slots=True)
class Timeline:
    """A call's events in delivery order (the main call's ``h_`` last) and that event's
    duration in seconds."""

    events: list[TimelineEvent]
    duration: int


def build_call_timeline(call: CallRecord) -> Timeline:
    """Every event of ``call``, at simulated seconds after its acceptance."""
    spec, plan = call.spec, call.plan
    b = spec.b_number
    events: list[TimelineEvent] = []

    def emit(at: float, url: str | None, event: str, **ivr: str) -> None:
        payload = {
            "date_time": format_date_time(call.accepted_at + timedelta(seconds=at)),
            "id": spec.mess_id,
            "CallID": call.call_id,
            **ivr,
            "event": event,
        }
        events.append(TimelineEvent(at, url, payload, shaped=not spec.is_ivr))

    now = plan.setup_seconds
    emit(now, None, f"o_{b}")
    now += plan.ring_seconds
    if not plan.answered:
        emit(now, None, f"h_{b}_{plan.cause}_0")
        return Timeline(events, 0)
    answered_at = now
    now += plan.listen_seconds
    if not spec.is_ivr:
        emit(now, None, f"h_{b}_{plan.cause}_{plan.listen_seconds}")
        return Timeline(events, plan.listen_seconds)
    option = spec.option(plan.dtmf)
    if option is None:
        now += NO_CHOICE_WAIT_SECONDS
        first_notify = next((item for item in spec.menu if item.action == "notify"), None)
        url = first_notify.value if first_notify else None
        emit(now, url, f"n_{b}", dtmf="null", type="notify")
    elif option.action == "notify":
        now += plan.choice_seconds
        emit(now, option.value, f"n_{b}", dtmf=str(option.digit), type="notify")
        now += THANKS_SECONDS
    else:
        digit = str(option.digit)
        now += plan.choice_seconds
        emit(now, None, f"o_{option.value}", dtmf=digit, type="transfer")
        now += TRANSFER_RING_SECONDS + plan.transfer_seconds
        talk = plan.transfer_seconds
        emit(now, None, f"h_{option.value}_16_{talk}", dtmf=digit, type="transfer")
        now += 0.1
    total = round(now - answered_at)  # the docs: TTS plus talk with the operator
    emit(now, None, f"h_{b}_{plan.cause}_{total}")
    return Timeline(events, total)


def shuffle_events(rng: random.Random, events: list[TimelineEvent]) -> list[TimelineEvent]:
    """The same delivery times with the events permuted among them (payloads, including
    their ``date_time``, are unchanged)."""
    slots = [event.at for event in events]
    shuffled = events[:]
    rng.shuffle(shuffled)
    return [replace(event, at=slot) for event, slot in zip(shuffled, slots, strict=True)]
