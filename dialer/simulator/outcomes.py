"""Pure choice of what happens to a call or an SMS. The RNG is passed in; no I/O, no clock.

Causes are Q.850 codes as MTT reports them in ``h_<number>_<cause>_<duration>``: answered 16
(duration > 0), busy 17, no answer 19 (sometimes 18, or 16 with duration 0), absent 20,
unallocated 1, network trouble 38/34/41.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from dialer.simulator.config import (
    CallOutcome,
    Override,
    SimulatorConfig,
    SmsFinalStatus,
)

_T = TypeVar("_T")

MenuAction = Literal["notify", "transfer"]

SETUP_SECONDS = (0.2, 1.0)
"""From acceptance of the request to the ``o_`` event, seconds."""
CHOICE_SECONDS = (0.5, 3.0)
"""From the end of the message to the key press, seconds."""

RING_SECONDS: Mapping[CallOutcome, tuple[float, float]] = {
    CallOutcome.ANSWERED: (2.0, 25.0),
    CallOutcome.BUSY: (1.0, 6.0),
    CallOutcome.NO_ANSWER: (30.0, 60.0),
    CallOutcome.ABSENT: (2.0, 20.0),
    CallOutcome.UNALLOCATED: (0.5, 3.0),
    CallOutcome.NETWORK: (0.2, 3.0),
}
"""From the ``o_`` event to answer or failure, seconds."""

CAUSES: Mapping[CallOutcome, Mapping[int, float]] = {
    CallOutcome.ANSWERED: {16: 1.0},
    CallOutcome.BUSY: {17: 1.0},
    CallOutcome.NO_ANSWER: {19: 0.8, 18: 0.1, 16: 0.1},
    CallOutcome.ABSENT: {20: 1.0},
    CallOutcome.UNALLOCATED: {1: 1.0},
    CallOutcome.NETWORK: {38: 0.5, 34: 0.3, 41: 0.2},
}
"""Weighted Q.850 causes per outcome."""


@dataclass(frozen=True, slots=True)
class CallPlan:
    """The fate of one call, in simulated seconds.

    ``dtmf`` is the digit pressed if it is one of the menu's digits, else ``None`` (no choice);
    it is always ``None`` for informer calls and unanswered calls. ``transfer_seconds`` is the
    talk time on the transfer leg, 0 when there is none.
    """

    outcome: CallOutcome
    cause: int
    setup_seconds: float
    ring_seconds: float
    listen_seconds: int
    dtmf: int | None = None
    choice_seconds: float = 0.0
    transfer_seconds: int = 0

    @property
    def answered(self) -> bool:
        return self.outcome is CallOutcome.ANSWERED


def weighted_choice(rng: random.Random, weights: Mapping[_T, float]) -> _T:
    """One key of ``weights`` drawn with probability proportional to its weight."""
    keys = [key for key, weight in weights.items() if weight > 0]
    if not keys:
        raise ValueError("no positive weight to choose from")
    return rng.choices(keys, weights=[weights[key] for key in keys])[0]


def choose_call_plan(
    rng: random.Random,
    config: SimulatorConfig,
    b_number: str,
    menu: Mapping[int, MenuAction],
) -> CallPlan:
    """Draw the fate of a call to ``b_number``; ``menu`` maps IVR digits to actions (empty
    for an informer call). A configured override for the number fixes what it names."""
    override = config.overrides.get(b_number)
    outcome = (
        override.outcome if override else weighted_choice(rng, config.outcome_weights.as_mapping())
    )
    cause = _cause(rng, outcome, override)
    setup = rng.uniform(*SETUP_SECONDS)
    ring = _pick_float(rng, RING_SECONDS[outcome], override.ring_seconds if override else None)
    if outcome is not CallOutcome.ANSWERED:
        return CallPlan(outcome, cause, setup, ring, listen_seconds=0)
    listen = _pick_int(rng, config.listen_seconds, override.listen_seconds if override else None)
    if not menu:
        return CallPlan(outcome, cause, setup, ring, listen)
    digit = _choose_digit(rng, config.dtmf_weights, override)
    if digit not in menu:
        digit = None  # a key outside the menu counts as no choice
    choice = rng.uniform(*CHOICE_SECONDS)
    transfer = 0
    if digit is not None and menu[digit] == "transfer":
        transfer = _pick_int(
            rng, config.transfer_seconds, override.transfer_seconds if override else None
        )
    return CallPlan(outcome, cause, setup, ring, listen, digit, choice, transfer)


def choose_sms_final(rng: random.Random, config: SimulatorConfig, recipient: str) -> SmsFinalStatus:
    """The last status an outbound SMS to ``recipient`` reaches."""
    override = config.overrides.get(recipient)
    if override is not None and override.sms_status is not None:
        return override.sms_status
    return weighted_choice(rng, config.sms_weights.as_mapping())


def sms_status_offsets(rng: random.Random, final: SmsFinalStatus) -> list[tuple[float, str]]:
    """``(seconds after acceptance, status)`` for queued → prebilling → sent → ``final``."""
    queued = rng.uniform(0.05, 0.5)
    prebilling = queued + rng.uniform(0.1, 1.0)
    sent = prebilling + rng.uniform(0.5, 3.0)
    if final == "delivered":
        last = sent + rng.uniform(2.0, 20.0)
    elif final == "undelivered":
        last = sent + rng.uniform(2.0, 30.0)
    else:  # expired: the operator gave up after the validity period
        last = sent + rng.uniform(120.0, 600.0)
    return [(queued, "queued"), (prebilling, "prebilling"), (sent, "sent"), (last, final)]


def _cause(rng: random.Random, outcome: CallOutcome, override: Override | None) -> int:
    if override is not None and override.cause is not None:
        return override.cause
    return weighted_choice(rng, CAUSES[outcome])


def _choose_digit(
    rng: random.Random, weights: Mapping[str, float], override: Override | None
) -> int | None:
    if override is not None:
        return override.dtmf
    key = weighted_choice(rng, weights)
    return None if key == "none" else int(key)


def _pick_float(rng: random.Random, bounds: tuple[float, float], fixed: float | None) -> float:
    return fixed if fixed is not None else rng.uniform(*bounds)


def _pick_int(rng: random.Random, bounds: tuple[int, int], fixed: int | None) -> int:
    return fixed if fixed is not None else rng.randint(*bounds)
