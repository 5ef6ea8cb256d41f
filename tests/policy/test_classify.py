from __future__ import annotations

import pytest

from dialer.policy.classify import (
    classify_call,
    classify_callback,
    classify_sms,
    sms_status_advances,
)
from dialer.providers.mtt_callback_answers import CallbackCallInfo
from dialer.states import Outcome


@pytest.mark.parametrize(
    ("cause", "duration", "outcome"),
    [
        (16, 4, Outcome.ANSWERED),
        (16, 0, Outcome.NO_ANSWER),
        (17, 0, Outcome.BUSY),
        (18, 0, Outcome.NO_ANSWER),
        (19, 0, Outcome.NO_ANSWER),
        *[(c, 0, Outcome.UNREACHABLE) for c in (20, 27, 31, 102, 127)],
        (21, 0, Outcome.REJECTED),
        *[(c, 0, Outcome.INVALID_NUMBER) for c in (1, 3, 22, 28)],
        *[(c, 0, Outcome.NETWORK) for c in (34, 38, 41, 42, 44, 47)],
        (99, 0, Outcome.UNKNOWN),
        (None, None, Outcome.UNKNOWN),
    ],
)
def test_call_causes(cause: int | None, duration: int | None, outcome: Outcome) -> None:
    assert classify_call(cause, duration) == outcome


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("queued", None),
        ("prebilling", None),
        ("sent", None),
        ("delivered", Outcome.DELIVERED),
        ("DELIVERED", Outcome.DELIVERED),
        ("undelivered", Outcome.UNDELIVERED),
        ("failed", Outcome.UNDELIVERED),
        ("rejected", Outcome.UNDELIVERED),
        ("expired", Outcome.EXPIRED),
        ("teleported", Outcome.UNKNOWN),
    ],
)
def test_sms_statuses(status: str, outcome: Outcome | None) -> None:
    assert classify_sms(status) == outcome


@pytest.mark.parametrize(
    ("current", "new", "advances"),
    [
        (None, "queued", True),
        ("queued", "sent", True),
        ("sent", "delivered", True),
        ("delivered", "sent", False),
        ("delivered", "queued", False),
        ("sent", "sent", False),
        ("delivered", "undelivered", False),
    ],
)
def test_sms_status_only_moves_forward(current: str | None, new: str, advances: bool) -> None:
    assert sms_status_advances(current, new) is advances


@pytest.mark.parametrize(
    ("info", "outcome"),
    [
        (
            CallbackCallInfo(
                failure="Call ended by timeout on side A", ended_by="timeout", failed_side="A"
            ),
            Outcome.AGENT_NO_ANSWER,
        ),
        (
            CallbackCallInfo(
                failure="Call ended by cancel on side A", ended_by="cancel", failed_side="A"
            ),
            Outcome.AGENT_NO_ANSWER,
        ),
        (
            CallbackCallInfo(
                failure="Call ended by timeout on side B", ended_by="timeout", failed_side="B"
            ),
            Outcome.NO_ANSWER,
        ),
        (
            CallbackCallInfo(
                failure="Call ended by cancel on side B", ended_by="cancel", failed_side="B"
            ),
            Outcome.BUSY,
        ),
        (CallbackCallInfo(failure="Data not found"), None),  # unknown id or not over yet
        (CallbackCallInfo(status="ok", contact_seconds=42), Outcome.CONNECTED),
        (CallbackCallInfo(status="ok", contact_seconds=0), Outcome.NO_ANSWER),
        (CallbackCallInfo(), None),
    ],
)
def test_callback_call_info_classes(info: CallbackCallInfo, outcome: Outcome | None) -> None:
    assert classify_callback(info) == outcome
