"""Pure planning of a simulated UIS ``start.simple_call``: its fate (drawn by
``callback_plan.choose_callback_plan`` with the one operator) and the notifications of the
set-up in docs/callback-uis.md, in order. No I/O and no clock; times are simulated seconds
after acceptance.

With ``first_call = operator``: the operator's leg rings; if the operator answers (and
presses a key: ``operator_confirmation``) the whisper plays, then the contact's leg rings; an
answer bridges the two. Which leg a notification is about shows in ``called_phone_number``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from dialer.simulator.callback_plan import (
    WHISPER_SECONDS,
    CallbackOutcome,
    CallbackPlan,
    DialItem,
    choose_callback_plan,
)
from dialer.simulator.config import SimulatorConfig

OPERATOR_RING_SECONDS = 30
"""How long UIS rings the operator (no parameter sets it; a simulator invention)."""
MNEMONICS: Mapping[str, str] = {
    "call_started": "outgoing_call",
    "leg_ringing": "waiting_connection",
    "talk_started": "talk_started",
    "talk_finished": "talk_finished",
    "call_finished": "call_finished",
}
"""``notification_mnemonic`` values: inventions (the parser does not depend on them)."""


@dataclass(frozen=True, slots=True)
class UisCallSpec:
    """What ``start.simple_call`` asked for, numbers as digits."""

    call_session_id: int
    operator: str
    contact: str
    virtual_phone_number: str
    external_id: str | None


@dataclass(frozen=True, slots=True)
class UisNotification:
    """One notification: ``event`` is the set-up's literal, ``values`` its parameters."""

    at: float
    event: str
    values: Mapping[str, object]


def choose_uis_plan(
    rng: random.Random, config: SimulatorConfig, spec: UisCallSpec, busy: frozenset[str]
) -> CallbackPlan:
    """The fate of the call; an operator in ``busy`` (on another call) does not pick up."""
    operator = DialItem(spec.operator, OPERATOR_RING_SECONDS, sequential=False)
    return choose_callback_plan(rng, config, spec.contact, [operator], busy)


def uis_notifications(plan: CallbackPlan, spec: UisCallSpec) -> list[UisNotification]:
    """The notifications of ``plan`` in delivery order."""
    notes: list[UisNotification] = []
    start = plan.setup_seconds

    def emit(at: float, event: str, called: str, **durations: int) -> None:
        values: dict[str, object] = {
            "notification_mnemonic": MNEMONICS[event],
            "call_session_id": spec.call_session_id,
            "external_id": spec.external_id,
            "virtual_phone_number": spec.virtual_phone_number,
            "contact_phone_number": spec.contact,
            "called_phone_number": called,
            **durations,
        }
        notes.append(UisNotification(at, event, values))

    now = start
    emit(now, "call_started", spec.operator)
    emit(now + 0.01, "leg_ringing", spec.operator)
    now += plan.agent_ring_seconds
    if plan.agent is None:
        wait = round(now - start)
        emit(now, "call_finished", spec.contact, **_finish(0, wait, wait))
        return notes
    emit(now, "talk_started", spec.operator)
    now += WHISPER_SECONDS
    emit(now, "leg_ringing", spec.contact)
    now += plan.contact_ring_seconds
    wait = round(now - start)
    if plan.outcome is CallbackOutcome.CONNECTED:
        emit(now, "talk_started", spec.contact)
        now += plan.talk_seconds
        emit(now, "talk_finished", spec.contact, talk_time_duration=plan.talk_seconds)
    operator_leg = round(now - start - plan.agent_ring_seconds)
    emit(now + 0.01, "talk_finished", spec.operator, talk_time_duration=operator_leg)
    total = round(now - start)
    emit(now + 0.02, "call_finished", spec.contact, **_finish(plan.talk_seconds, total, wait))
    return notes


def _finish(talk: int, total: int, wait: int) -> dict[str, int]:
    return {"talk_time_duration": talk, "total_time_duration": total, "wait_time_duration": wait}
