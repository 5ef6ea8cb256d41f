"""Pure planning of a simulated MTT Business ``makeCall``: its notifications and their bodies.

No I/O and no clock; times are simulated seconds after acceptance, the wall time of each
notification is passed in when its body is built. The fate of the call is drawn by
``callback_plan.choose_callback_plan`` (one workplace, rung for the account's ring time).

The sequence follows the doc's outgoing examples (10.1.2, 10.1.4-10.1.7, one leg id
throughout, the workplace as ``caller``, the contact as ``callee``) read as our parser
reads them: ``trying`` and ``showing`` while the workplace rings, ``connected`` when it
answers, then (the contact rung, and talked to or not) ``hiding`` and ``finished`` with the
talk as ``duration``, and ``recorded`` after a conversation. A workplace that does not answer
gives ``trying``, ``showing``, ``finished``. Simulator inventions where the doc is silent:
the failure reasons and codes, the leg and tag formats, the record URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dialer.simulator.callback_plan import WHISPER_SECONDS, CallbackOutcome, CallbackPlan

PLATFORM_ZONE = ZoneInfo("Europe/Moscow")
CENTREX_ID = "48212857"
"""The doc's ``centrexId`` of the calling user."""
TRANSPORT_ID = "10.133.51.137:5070"
RECORD_DELAY_SECONDS = 2.0
"""From ``finished`` to ``recorded``, simulated seconds (the mp3 takes a moment)."""
_REASONS: Mapping[CallbackOutcome, tuple[str, int | None]] = {
    CallbackOutcome.CONNECTED: ("Originate leg disconnected", None),  # the doc's
    CallbackOutcome.CONTACT_BUSY: ("Busy Here", 486),
    CallbackOutcome.CONTACT_NO_ANSWER: ("Request Terminated", 487),
    CallbackOutcome.AGENT_NO_ANSWER: ("Request Terminated", 487),
}


@dataclass(frozen=True, slots=True)
class BusinessLeg:
    """What every notification of one call repeats: the leg's id and tag, the workplace
    (``callerId``), the contact as dialled (``calleid``) and the account's number."""

    leg_id: str
    tag: str
    workplace: str
    contact: str
    external_number: str


@dataclass(frozen=True, slots=True)
class NotificationPlan:
    """One notification due ``at`` simulated seconds after ``makeCall`` was accepted."""

    at: float
    state: str
    duration: int | None = None
    reason: str | None = None
    reason_code: int | None = None


def business_notifications(plan: CallbackPlan) -> list[NotificationPlan]:
    """The notifications of ``plan`` in delivery order."""
    now = plan.setup_seconds
    items = [NotificationPlan(now, "trying"), NotificationPlan(now + 0.05, "showing")]
    now += plan.agent_ring_seconds
    reason, code = _REASONS[plan.outcome]
    if plan.agent is None:
        items.append(NotificationPlan(now, "finished", 0, reason, code))
        return items
    items.append(NotificationPlan(now, "connected"))
    now += WHISPER_SECONDS + plan.contact_ring_seconds + plan.talk_seconds
    items.append(NotificationPlan(now, "hiding"))
    items.append(NotificationPlan(now + 0.05, "finished", plan.talk_seconds, reason, code))
    if plan.talk_seconds > 0:
        items.append(NotificationPlan(now + RECORD_DELAY_SECONDS, "recorded"))
    return items


def notification_body(item: NotificationPlan, leg: BusinessLeg, at: datetime) -> dict[str, object]:
    """The JSON body of ``item`` as the doc prints its examples; ``at`` (timezone-aware) is
    its ``startTime``, written in Moscow time without a zone."""
    if item.state == "recorded":
        stamp = at.astimezone(PLATFORM_ZONE)
        return {
            "event": "callNotifications",
            "result": {
                "callInfo": {
                    "accountId": leg.workplace,
                    "call": {"id": leg.leg_id},
                    "state": "recorded",
                    "urlRecord": f"https://openapi-stage.mtt.ru/records/{CENTREX_ID}/"
                    f"{stamp:%Y/%m/%d}/{leg.tag.upper()}.mp3",
                }
            },
        }
    # The doc shows the callee with "+" on trying/showing/hiding and without on the others.
    plus = "+" if item.state in ("trying", "showing", "hiding") else ""
    callee = f"{plus}{leg.contact.lstrip('+')}"
    info: dict[str, object] = {
        "call": {"id": leg.leg_id, "tag": leg.tag},
        "callee": {"displayId": callee, "forwarderList": [], "id": callee},
        "caller": {
            "accountId": leg.workplace,
            "centrexId": CENTREX_ID,
            "displayId": leg.external_number,
            "forwarderList": [],
            "id": leg.external_number,
        },
    }
    if item.state == "finished":
        info.update(duration=item.duration, reason=item.reason, reasonCode=item.reason_code)
    else:
        info["startTime"] = f"{at.astimezone(PLATFORM_ZONE):%Y-%m-%d %H:%M:%S}"
    info.update(state=item.state, transportId=TRANSPORT_ID, type="outgoing")
    return {"event": "callNotifications", "result": {"callInfo": info}}
