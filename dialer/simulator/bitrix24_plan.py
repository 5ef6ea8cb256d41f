"""Pure planning of a simulated Bitrix24 callback: its fate (``callback_plan``'s, one line as
the only "agent") and the ``OnVoximplantCall*`` events the portal's outbound webhook sends.

No I/O and no clock; the RNG and the start time are passed in. Times are simulated seconds
after ``voximplant.callback.start`` was accepted.

The docs give each event's fields but not how a callback's two legs show in them; the
simulator's reading (docs/callback-bitrix24.md): one ``CALL_ID`` (the one the start answer
returned) for the whole callback, ``CALL_TYPE`` 4; ``OnVoximplantCallInit`` when the line is
rung, ``OnVoximplantCallStart`` when its employee answers, nothing for the contact's leg,
``OnVoximplantCallEnd`` when it is all over, its ``CALL_FAILED_CODE`` from the code table
(200 talked, 304 nobody took the line, 486 the contact busy, 304 "Call canceled" - the
event page's example pairing - the contact not answering).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from dialer.simulator.callback_plan import (
    WHISPER_SECONDS,
    CallbackOutcome,
    CallbackPlan,
    DialItem,
    choose_callback_plan,
)
from dialer.simulator.config import Bitrix24Line, Override, SimulatorConfig

LINE_WAIT_SECONDS = 20
"""How long a line's queue rings its employee before the call counts as missed (invented:
the docs leave it to the line's settings)."""
RATE_PER_MINUTE = Decimal("1.49")
"""Invented tariff for ``COST``, roubles per started minute of talk."""
CURRENCY = "RUR"
"""``COST_CURRENCY`` as the older event page lists them (RUR, USD, EUR)."""
CALL_TYPE_CALLBACK = "4"
_ENDINGS: Mapping[CallbackOutcome, tuple[str, str]] = {
    CallbackOutcome.CONNECTED: ("200", "Successful call"),
    CallbackOutcome.AGENT_NO_ANSWER: ("304", "Missed call"),
    CallbackOutcome.CONTACT_BUSY: ("486", "Busy"),
    CallbackOutcome.CONTACT_NO_ANSWER: ("304", "Call canceled"),
}


@dataclass(frozen=True, slots=True)
class Bitrix24EventPlan:
    """One event: its simulated time and its fields as PHP-style keys (``data[CALL_ID]``),
    without ``ts`` and ``auth[...]`` (added when it is sent)."""

    at: float
    fields: Mapping[str, str]


def choose_bitrix24_plan(
    rng: random.Random,
    config: SimulatorConfig,
    contact: str,
    line_id: str,
    line: Bitrix24Line,
    busy_users: frozenset[int] = frozenset(),
) -> CallbackPlan:
    """The fate of a callback through ``line_id``: ``plan.agent`` is the line id when its
    employee picked up. The contact's fate follows ``overrides``/``outcome_weights`` as for
    MTT's callbacks."""
    agents = [DialItem(line_id, LINE_WAIT_SECONDS, sequential=False)]
    if line.agent_answers is False or line.user_id in busy_users:
        return choose_callback_plan(rng, config, contact, agents, busy=frozenset({line_id}))
    if line.agent_answers:
        # callback_plan decides an agent by an override on its "number": the line id here.
        # model_copy skips the overrides' 11-digit key check, which is about contacts.
        overrides = {**config.overrides, line_id: Override(outcome="answered")}
        config = config.model_copy(update={"overrides": overrides})
    return choose_callback_plan(rng, config, contact, agents)


def bitrix24_events(
    plan: CallbackPlan,
    *,
    call_id: str,
    line_id: str,
    line: Bitrix24Line,
    contact: str,
    started_at: datetime,
) -> list[Bitrix24EventPlan]:
    """The events of ``plan`` in delivery order: Init, Start (an employee answered), End."""
    phone = f"+{contact.lstrip('+')}"
    events = [
        Bitrix24EventPlan(
            plan.setup_seconds,
            {
                "event": "ONVOXIMPLANTCALLINIT",
                "event_handler_id": "1057",
                "data[CALL_ID]": call_id,
                "data[CALL_TYPE]": CALL_TYPE_CALLBACK,
                "data[ACCOUNT_SEARCH_ID]": line_id,
                "data[PHONE_NUMBER]": phone,
                "data[CALLER_ID]": line_id,
            },
        )
    ]
    now = plan.setup_seconds + plan.agent_ring_seconds
    if plan.agent is not None:
        events.append(
            Bitrix24EventPlan(
                now,
                {
                    "event": "ONVOXIMPLANTCALLSTART",
                    "event_handler_id": "1059",
                    "data[CALL_ID]": call_id,
                    "data[USER_ID]": str(line.user_id),
                },
            )
        )
        now += WHISPER_SECONDS + plan.contact_ring_seconds + plan.talk_seconds
    code, reason = _ENDINGS[plan.outcome]
    events.append(
        Bitrix24EventPlan(
            now + 0.05,
            {
                "event": "ONVOXIMPLANTCALLEND",
                "event_handler_id": "1061",
                "data[CALL_ID]": call_id,
                "data[CALL_TYPE]": CALL_TYPE_CALLBACK,
                "data[PHONE_NUMBER]": phone,
                "data[PORTAL_NUMBER]": line_id,
                "data[PORTAL_USER_ID]": str(line.user_id) if plan.agent is not None else "0",
                "data[CALL_DURATION]": str(plan.talk_seconds),
                "data[CALL_START_DATE]": (
                    started_at + timedelta(seconds=plan.setup_seconds)
                ).isoformat(timespec="seconds"),
                "data[COST]": str(_cost(plan.talk_seconds)),
                "data[COST_CURRENCY]": CURRENCY,
                "data[CALL_FAILED_CODE]": code,
                "data[CALL_FAILED_REASON]": reason,
                "data[CRM_ACTIVITY_ID]": "0",
            },
        )
    )
    return events


def _cost(talk_seconds: int) -> Decimal:
    minutes = (Decimal(talk_seconds) / 60).to_integral_value(rounding=ROUND_CEILING)
    return (minutes * RATE_PER_MINUTE).quantize(Decimal("0.01"))
