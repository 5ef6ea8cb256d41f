"""Map provider results (Q.850 causes, msapi statuses) to one vocabulary of outcome classes."""

from __future__ import annotations

from dialer.providers.mtt_callback_answers import CallbackCallInfo
from dialer.states import Outcome

_CALL_CAUSES: dict[int, Outcome] = {
    17: Outcome.BUSY,
    18: Outcome.NO_ANSWER,
    19: Outcome.NO_ANSWER,
    20: Outcome.UNREACHABLE,
    27: Outcome.UNREACHABLE,
    31: Outcome.UNREACHABLE,
    102: Outcome.UNREACHABLE,
    127: Outcome.UNREACHABLE,
    21: Outcome.REJECTED,
    1: Outcome.INVALID_NUMBER,
    3: Outcome.INVALID_NUMBER,
    22: Outcome.INVALID_NUMBER,
    28: Outcome.INVALID_NUMBER,
    34: Outcome.NETWORK,
    38: Outcome.NETWORK,
    41: Outcome.NETWORK,
    42: Outcome.NETWORK,
    44: Outcome.NETWORK,
    47: Outcome.NETWORK,
}

SMS_STATUS_RANK: dict[str, int] = {
    "queued": 1,
    "prebilling": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "rejected": 4,
    "expired": 4,
}
"""msapi statuses in delivery order; a status never replaces one of a higher rank."""

_SMS_FINAL: dict[str, Outcome] = {
    "delivered": Outcome.DELIVERED,
    "undelivered": Outcome.UNDELIVERED,
    "failed": Outcome.UNDELIVERED,
    "rejected": Outcome.UNDELIVERED,
    "expired": Outcome.EXPIRED,
}


def classify_call(cause: int | None, duration: int | None) -> Outcome:
    """The outcome of a finished call from its hangup cause and duration (seconds).

    16 (normal clearing) is ``answered`` when the subscriber listened (duration > 0) and
    ``no_answer`` otherwise; an unknown cause is ``unknown`` (stored raw, never a crash).
    """
    if cause == 16:
        return Outcome.ANSWERED if (duration or 0) > 0 else Outcome.NO_ANSWER
    if cause is None:
        return Outcome.UNKNOWN
    return _CALL_CAUSES.get(cause, Outcome.UNKNOWN)


def classify_sms(status: str) -> Outcome | None:
    """The outcome of an SMS status, or ``None`` while it is still on its way
    (queued, prebilling, sent). An unknown status is ``unknown``."""
    status = status.lower()
    if status in _SMS_FINAL:
        return _SMS_FINAL[status]
    if status in SMS_STATUS_RANK:
        return None
    return Outcome.UNKNOWN


def sms_status_advances(current: str | None, new: str) -> bool:
    """Whether ``new`` moves an SMS forward from ``current`` (statuses only move forward;
    a late ``sent`` after ``delivered`` changes nothing). Unknown statuses rank as final."""
    if current is None:
        return True
    return SMS_STATUS_RANK.get(new.lower(), 4) > SMS_STATUS_RANK.get(current.lower(), 4)


def classify_callback(info: CallbackCallInfo) -> Outcome | None:
    """The outcome of an agent callback from ``getCallBackFollowmeCallInfo``, or ``None``
    when MTT does not know it (yet).

    Failed on side A (the agents: timeout or cancel): ``agent_no_answer``, the contact was
    never rung. Failed on side B: ``no_answer`` on a timeout, ``busy`` when the contact
    cancelled (declined or busy: the doc gives no cause, so the shorter retry). A result
    with talk time: ``connected``; one without: ``no_answer`` (an agent took it, the contact
    never spoke)."""
    if info.failure is not None:
        if info.failed_side == "A":
            return Outcome.AGENT_NO_ANSWER
        if info.failed_side == "B":
            return Outcome.NO_ANSWER if info.ended_by == "timeout" else Outcome.BUSY
        return None
    if info.talked:
        return Outcome.CONNECTED
    if info.status:
        return Outcome.NO_ANSWER
    return None
