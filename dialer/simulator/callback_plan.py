"""Pure planning of a simulated MTT CallBack call: its fate, its events and its call info.

No I/O and no clock; the RNG is passed in. Times are simulated seconds after acceptance.
Events follow the Telecom API doc's sequence (mtt-telecom-api.txt lines 1573-1592):
``start_side_A``, ``pickup_side_A`` (with ``phone_A``), ``start_side_B``, ``start_talk``,
``end_side_B``, ``end_side_A``; a leg that fails ends with its ``end_side_*`` events.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from dialer.simulator.config import CallOutcome, SimulatorConfig
from dialer.simulator.outcomes import RING_SECONDS, SETUP_SECONDS, weighted_choice

AGENT_NO_ANSWER_RATE = 0.15
"""Chance that no agent picks up, when no override decides it."""
AGENT_RING_SECONDS = (2.0, 12.0)
"""From ``start_side_A`` to an agent's answer, seconds."""
WHISPER_SECONDS = 3.0
"""The text spoken to the agent before the contact is rung, seconds."""
RATE_PER_MINUTE = Decimal("1.49")
"""Invented tariff (roubles per started minute of each leg) for ``call_back_cost``."""


class CallbackOutcome(StrEnum):
    CONNECTED = "connected"
    AGENT_NO_ANSWER = "agent_no_answer"
    CONTACT_BUSY = "contact_busy"
    CONTACT_NO_ANSWER = "contact_no_answer"


@dataclass(frozen=True, slots=True)
class DialItem:
    """One agent of ``simpleCallBackFollowmeStruct``."""

    number: str
    timeout: int
    sequential: bool


@dataclass(frozen=True, slots=True)
class CallbackPlan:
    """The fate of one callback. ``agent`` is the agent who answered (``None`` when none
    did); ``talk_seconds`` is 0 unless ``CONNECTED``."""

    outcome: CallbackOutcome
    agent: str | None
    setup_seconds: float
    agent_ring_seconds: float
    contact_ring_seconds: float
    talk_seconds: int


@dataclass(frozen=True, slots=True)
class CallbackEventPlan:
    at: float
    fields: Mapping[str, str]


def choose_callback_plan(
    rng: random.Random,
    config: SimulatorConfig,
    b_number: str,
    agents: list[DialItem],
    busy: frozenset[str] = frozenset(),
) -> CallbackPlan:
    """Draw the fate of a callback. An agent in ``busy`` (on another callback) does not pick
    up; overrides keyed by an agent's number decide that agent (``answered`` picks up,
    anything else does not); an override keyed by ``b_number`` decides the contact, else the
    configured outcome weights do."""
    setup = rng.uniform(*SETUP_SECONDS)
    agent = _answering_agent(rng, config, [a for a in agents if a.number not in busy])
    if agent is None:
        wait = (
            sum(a.timeout for a in agents)
            if agents[0].sequential
            else max(a.timeout for a in agents)
        )
        return CallbackPlan(CallbackOutcome.AGENT_NO_ANSWER, None, setup, float(wait), 0.0, 0)
    agent_ring = rng.uniform(*AGENT_RING_SECONDS)
    override = config.overrides.get(b_number)
    contact = (
        override.outcome if override else weighted_choice(rng, config.outcome_weights.as_mapping())
    )
    contact_ring = rng.uniform(*RING_SECONDS[contact])
    if contact is CallOutcome.ANSWERED:
        talk_bounds = config.transfer_seconds
        talk = (
            override.transfer_seconds
            if override is not None and override.transfer_seconds is not None
            else rng.randint(*talk_bounds)
        )
        return CallbackPlan(
            CallbackOutcome.CONNECTED, agent.number, setup, agent_ring, contact_ring, talk
        )
    outcome = (
        CallbackOutcome.CONTACT_BUSY
        if contact is CallOutcome.BUSY
        else CallbackOutcome.CONTACT_NO_ANSWER
    )
    return CallbackPlan(outcome, agent.number, setup, agent_ring, contact_ring, 0)


def callback_events(plan: CallbackPlan, call_id: str) -> list[CallbackEventPlan]:
    """The events of ``plan`` in delivery order."""
    events: list[CallbackEventPlan] = []

    def emit(at: float, event: str, **extra: str) -> None:
        events.append(CallbackEventPlan(at, {"event": event, "id": call_id, **extra}))

    now = plan.setup_seconds
    emit(now, "start_side_A")
    now += plan.agent_ring_seconds
    if plan.agent is None:
        emit(now, "end_side_A")
        return events
    emit(now, "pickup_side_A", phone_A=f"+{plan.agent}")
    now += WHISPER_SECONDS
    emit(now, "start_side_B")
    now += plan.contact_ring_seconds
    if plan.outcome is CallbackOutcome.CONNECTED:
        emit(now, "start_talk")
        now += plan.talk_seconds
    emit(now, "end_side_B")
    emit(now + 0.05, "end_side_A")
    return events


def call_info_failure(plan: CallbackPlan) -> str | None:
    """The ``data`` of the ``-32001`` answer for a failed callback, as the doc words it;
    ``None`` when the callback connected."""
    if plan.outcome is CallbackOutcome.AGENT_NO_ANSWER:
        return "Call ended by timeout on side A"
    if plan.outcome is CallbackOutcome.CONTACT_BUSY:
        return "Call ended by cancel on side B"
    if plan.outcome is CallbackOutcome.CONTACT_NO_ANSWER:
        return "Call ended by timeout on side B"
    return None


def call_info_struct(plan: CallbackPlan, b_number: str, description: str) -> dict[str, object]:
    """``callBackFollowmeCallInfoStruct`` of a connected callback, shaped as the doc's
    example (numbers as strings, one object, record URLs as ``{"downloadURL": ...}``)."""
    agent_seconds = round(WHISPER_SECONDS + plan.contact_ring_seconds) + plan.talk_seconds
    contact_seconds = plan.talk_seconds
    charged_a, charged_b = _charged(agent_seconds), _charged(contact_seconds)
    cost = (Decimal(charged_a + charged_b) / 60 * RATE_PER_MINUTE).quantize(Decimal("0.01"))
    return {
        "destination_A": f"+{plan.agent}",
        "destination_B": f"+{b_number.lstrip('+')}",
        "waiting_period_A": str(round(plan.agent_ring_seconds)),
        "waiting_period_B": str(round(plan.contact_ring_seconds)),
        "call_back_charged_length_A": str(charged_a),
        "call_back_real_length_A": str(agent_seconds),
        "call_back_charged_length_B": str(charged_b),
        "call_back_real_length_B": str(contact_seconds),
        "call_back_cost": float(cost),
        "call_back_currency": "RUB",
        "call_back_status": "ok",
        "call_back_record_URL_A": {},
        "call_back_record_URL_B": {},
        "callDescription": description,
    }


def _answering_agent(
    rng: random.Random, config: SimulatorConfig, agents: list[DialItem]
) -> DialItem | None:
    if not agents:
        return None
    decided = {a.number: config.overrides[a.number] for a in agents if a.number in config.overrides}
    willing = [
        a
        for a in agents
        if a.number in decided and decided[a.number].outcome is CallOutcome.ANSWERED
    ]
    if willing:
        return willing[0] if agents[0].sequential else rng.choice(willing)
    undecided = [a for a in agents if a.number not in decided]
    if not undecided or rng.random() < AGENT_NO_ANSWER_RATE:
        return None
    return undecided[0] if agents[0].sequential else rng.choice(undecided)


def _charged(seconds: int) -> int:
    """Whole started minutes, in seconds (the doc's example charges 60 for 15 and 5)."""
    minutes = (Decimal(seconds) / 60).to_integral_value(rounding=ROUND_CEILING)
    return int(minutes) * 60
