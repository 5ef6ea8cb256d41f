"""Pure parts: outcome choice, event timelines, shapes and request validation."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.simulator import CallOutcome, Override, SimulatorConfig
from dialer.simulator.encoding import encode_call_event, sb_forbidden
from dialer.simulator.outcomes import (
    CallPlan,
    MenuAction,
    choose_call_plan,
    choose_sms_final,
    sms_status_offsets,
)
from dialer.simulator.records import CallRecord, CallSpec, MenuItem, segment_count
from dialer.simulator.sbvalidate import Refusal, validate_call_request
from dialer.simulator.timeline import build_call_timeline, format_date_time, shuffle_events

B = "79103880489"
MENU: dict[int, MenuAction] = {1: "notify", 3: "transfer"}


def _config(**overrides: Override) -> SimulatorConfig:
    return SimulatorConfig(overrides=overrides)


@pytest.mark.parametrize(
    ("outcome", "causes"),
    [
        (CallOutcome.ANSWERED, {16}),
        (CallOutcome.BUSY, {17}),
        (CallOutcome.NO_ANSWER, {16, 18, 19}),
        (CallOutcome.ABSENT, {20}),
        (CallOutcome.UNALLOCATED, {1}),
        (CallOutcome.NETWORK, {34, 38, 41}),
    ],
)
def test_outcome_causes(outcome: CallOutcome, causes: set[int]) -> None:
    rng = random.Random(1)
    config = _config(**{B: Override(outcome=outcome)})
    plans = [choose_call_plan(rng, config, B, {}) for _ in range(200)]
    assert {plan.cause for plan in plans} == causes
    for plan in plans:
        assert (plan.listen_seconds > 0) == (outcome is CallOutcome.ANSWERED)


def test_weights_drive_the_distribution() -> None:
    config = SimulatorConfig.model_validate(
        {"outcome_weights": {"answered": 3, "busy": 1, "no_answer": 0, "absent": 0,
                             "unallocated": 0, "network": 0}}
    )  # fmt: skip
    rng = random.Random(2)
    counts = Counter(choose_call_plan(rng, config, B, {}).outcome for _ in range(4000))
    assert set(counts) == {CallOutcome.ANSWERED, CallOutcome.BUSY}
    assert 2.6 < counts[CallOutcome.ANSWERED] / counts[CallOutcome.BUSY] < 3.4


def test_same_seed_same_plans() -> None:
    config = SimulatorConfig()
    first = [choose_call_plan(random.Random(5), config, B, MENU) for _ in range(3)]
    again = [choose_call_plan(random.Random(5), config, B, MENU) for _ in range(3)]
    assert first == again


@pytest.mark.parametrize(
    ("override", "digit", "transfer"),
    [
        (Override(dtmf=1), 1, 0),
        (Override(dtmf=3, transfer_seconds=30), 3, 30),
        (Override(dtmf=5), None, 0),  # not in the menu: no choice
        (Override(dtmf=None), None, 0),
    ],
)
def test_dtmf_resolution(override: Override, digit: int | None, transfer: int) -> None:
    plan = choose_call_plan(random.Random(0), _config(**{B: override}), B, MENU)
    assert (plan.dtmf, plan.transfer_seconds) == (digit, transfer)


def test_informer_calls_never_press_keys() -> None:
    plan = choose_call_plan(random.Random(0), _config(**{B: Override(dtmf=1)}), B, {})
    assert plan.dtmf is None


def test_sms_final_and_offsets() -> None:
    rng = random.Random(3)
    assert choose_sms_final(rng, _config(**{B: Override(sms_status="expired")}), B) == "expired"
    offsets = sms_status_offsets(rng, "undelivered")
    assert [status for _, status in offsets] == ["queued", "prebilling", "sent", "undelivered"]
    times = [at for at, _ in offsets]
    assert times == sorted(times)


def _record(plan: CallPlan, menu: tuple[MenuItem, ...] = ()) -> CallRecord:
    method = "ivr-api" if menu else "informer"
    spec = CallSpec(method, "77", B, "74996480000", "text", menu)
    accepted = datetime(2019, 3, 29, 8, 37, 13, tzinfo=UTC)
    return CallRecord("00035c7d92bb0971", spec, plan, accepted)


def test_informer_timeline_matches_the_docs_example() -> None:
    plan = CallPlan(CallOutcome.ANSWERED, 16, 0.0, 10.0, 4)
    timeline = build_call_timeline(_record(plan))
    assert [e.payload for e in timeline.events] == [
        {"date_time": "2019-03-29-11-37-13", "id": "77", "CallID": "00035c7d92bb0971",
         "event": f"o_{B}"},
        {"date_time": "2019-03-29-11-37-27", "id": "77", "CallID": "00035c7d92bb0971",
         "event": f"h_{B}_16_4"},
    ]  # fmt: skip
    assert timeline.duration == 4


def test_transfer_timeline_order_and_total() -> None:
    menu = (MenuItem(3, "transfer", "74997090111"),)
    plan = CallPlan(CallOutcome.ANSWERED, 16, 0.5, 5.0, 12, dtmf=3, choice_seconds=2.0,
                    transfer_seconds=30)  # fmt: skip
    timeline = build_call_timeline(_record(plan, menu))
    assert [e.payload["event"] for e in timeline.events] == [
        f"o_{B}",
        "o_74997090111",
        "h_74997090111_16_30",
        f"h_{B}_16_{timeline.duration}",
    ]
    assert timeline.duration == round(12 + 2 + 3 + 30 + 0.1)
    assert [e.at for e in timeline.events] == sorted(e.at for e in timeline.events)


def test_shuffle_keeps_the_delivery_times() -> None:
    menu = (MenuItem(3, "transfer", "74997090111"),)
    plan = CallPlan(CallOutcome.ANSWERED, 16, 0.5, 5.0, 12, 3, 2.0, 30)
    events = build_call_timeline(_record(plan, menu)).events
    shuffled = shuffle_events(random.Random(4), events)
    assert [e.at for e in shuffled] == [e.at for e in events]
    assert sorted(json.dumps(e.payload) for e in shuffled) == sorted(
        json.dumps(e.payload) for e in events
    )


def test_date_time_is_moscow() -> None:
    assert format_date_time(datetime(2019, 3, 29, 8, 37, 13, tzinfo=UTC)) == "2019-03-29-11-37-13"


def test_encodings() -> None:
    payload = {"date_time": "2019-03-29-11-37-13", "id": "1", "CallID": "c", "event": "o_7"}
    kv = "date_time=2019-03-29-11-37-13&id=1&CallID=c&event=o_7"
    assert encode_call_event(payload, "kv").content.decode() == kv
    assert json.loads(encode_call_event(payload, "data").content) == {"data": kv}
    assert json.loads(encode_call_event(payload, "json").content) == payload
    assert sb_forbidden("5", "0a").decode().splitlines()[1] == "  {"


def test_segment_count() -> None:
    assert [segment_count("a" * n) for n in (1, 160, 161, 306, 307)] == [1, 1, 2, 2, 3]
    assert [segment_count("я" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]


def _body(**data: Any) -> Any:
    base = {"messId": "1", "sip_id": "74996480000", "b_number": B, "messText": "t"}
    return {"method": "informer", "data": {**base, **data}}


@given(st.text(max_size=14).filter(lambda s: not re.fullmatch(r"[0-9]{11}", s)))
def test_any_b_number_that_is_not_11_digits_is_refused(number: str) -> None:
    result = validate_call_request(_body(b_number=number), SimulatorConfig(), "00035c7d92bb0971")
    assert isinstance(result, Refusal)
    assert result.reason == "b_number"


@given(st.from_regex(r"\A[0-9]{11}\Z"))
def test_any_11_digit_b_number_is_accepted(number: str) -> None:
    result = validate_call_request(_body(b_number=number), SimulatorConfig(), "00035c7d92bb0971")
    assert isinstance(result, CallSpec)
    assert (result.b_number, result.a_number) == (number, "74996480000")


def test_non_ascii_digits_are_not_e164() -> None:
    arabic_indic = "\u0667" * 11
    result = validate_call_request(_body(b_number=arabic_indic), SimulatorConfig(), "0")
    assert isinstance(result, Refusal)


def test_integer_mess_id_is_echoed_as_text() -> None:
    result = validate_call_request(_body(messId=42), SimulatorConfig(), "0")
    assert isinstance(result, CallSpec)
    assert result.mess_id == "42"
