"""Call events delivered to the webhooks: formats, causes and order, through the app."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

import pytest

from dialer.simulator import CallOutcome, Override

from .harness import (
    CALL_HOOK,
    NOTIFY_URL,
    Harness,
    Hook,
    Receiver,
    events,
    informer,
    ivr,
    make_config,
    run_sim,
)

B = "79103880489"
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d")


def _call(body: Any, **config: Any) -> tuple[str, list[Hook]]:
    """Place one call, wait for all its events; returns the CallID and the hooks."""
    found: list[str] = []

    async def scenario(h: Harness) -> None:
        response = await h.sb(body)
        found.append(response.json()["CallID"])
        await h.settle()
        assert (await h.stats())["active_calls"] == 0

    receiver = Receiver()
    run_sim(make_config(**config), scenario, receiver)
    return found[0], receiver.hooks


@pytest.mark.parametrize(
    ("override", "cause", "answered"),
    [
        (Override(outcome=CallOutcome.ANSWERED, listen_seconds=4), 16, True),
        (Override(outcome=CallOutcome.BUSY), 17, False),
        (Override(outcome=CallOutcome.NO_ANSWER), None, False),
        (Override(outcome=CallOutcome.NO_ANSWER, cause=16), 16, False),
        (Override(outcome=CallOutcome.ABSENT), 20, False),
        (Override(outcome=CallOutcome.UNALLOCATED), 1, False),
        (Override(outcome=CallOutcome.NETWORK, cause=41), 41, False),
    ],
    ids=["answered", "busy", "no-answer", "no-answer-16", "absent", "unallocated", "network"],
)
def test_informer_sends_o_then_h_with_the_outcome_cause(
    override: Override, cause: int | None, answered: bool
) -> None:
    call_id, hooks = _call(informer(B), overrides={B: override})
    assert [hook.url for hook in hooks] == [CALL_HOOK, CALL_HOOK]
    first, last = (json.loads(hook.body) for hook in hooks)
    assert list(first) == ["date_time", "id", "CallID", "event"]
    assert first["event"] == f"o_{B}"
    assert first["id"] == "1255490"
    assert first["CallID"] == call_id
    assert DATE_TIME.fullmatch(first["date_time"])
    _, number, got_cause, duration = last["event"].split("_")
    assert number == B
    if cause is None:
        assert got_cause in {"18", "19", "16"}
    else:
        assert int(got_cause) == cause
    assert (duration == "4") if answered else (duration == "0")
    assert last["date_time"] >= first["date_time"]


@pytest.mark.parametrize("shape", ["kv", "data"])
def test_informer_event_shapes(shape: str) -> None:
    _, hooks = _call(informer(B), event_shape=shape, overrides={B: Override(outcome="busy")})
    if shape == "kv":
        assert hooks[0].content_type == "application/x-www-form-urlencoded"
        fields = [dict(parse_qsl(hook.body)) for hook in hooks]
        assert hooks[0].body.startswith("date_time=")
    else:
        assert hooks[0].content_type == "application/json"
        fields = [dict(parse_qsl(json.loads(hook.body)["data"])) for hook in hooks]
    assert [list(f) for f in fields] == [["date_time", "id", "CallID", "event"]] * 2
    assert [f["event"] for f in fields] == [f"o_{B}", f"h_{B}_17_0"]


def test_mixed_shapes_use_every_documented_shape() -> None:
    seen: set[str] = set()

    async def scenario(h: Harness) -> None:
        for n in range(30):
            await h.sb(informer(f"7910388{n:04d}", mess_id=str(n)))
        await h.settle()
        for hook in h.receiver.hooks:
            if hook.content_type.startswith("application/x-www"):
                seen.add("kv")
            else:
                seen.add("data" if "data" in json.loads(hook.body) else "json")

    run_sim(make_config(event_shape="mixed"), scenario)
    assert seen == {"json", "kv", "data"}


def test_ivr_notify_choice_posts_n_event_to_the_option_url() -> None:
    override = Override(listen_seconds=6, dtmf=2)
    call_id, hooks = _call(ivr(B), overrides={B: override})
    assert list(events(hooks)) == [f"o_{B}", f"n_{B}", f"h_{B}_16_{hooks_total(hooks)}"]
    notify = json.loads(hooks[1].body)
    assert hooks[1].url == NOTIFY_URL + "/2"
    assert hooks[1].content_type == "application/json"
    assert list(notify) == ["date_time", "id", "CallID", "dtmf", "type", "event"]
    assert notify["dtmf"] == "2"
    assert notify["type"] == "notify"
    assert notify["CallID"] == call_id
    assert notify["id"] == "12345678"
    assert [hooks[0].url, hooks[2].url] == [CALL_HOOK, CALL_HOOK]


def hooks_total(hooks: list[Hook]) -> str:
    return str(json.loads(hooks[-1].body)["event"].split("_")[-1])


@pytest.mark.parametrize("digit", [None, 7], ids=["no-key", "key-outside-menu"])
def test_ivr_no_choice_posts_null_dtmf_to_the_first_notify_url(digit: int | None) -> None:
    _, hooks = _call(ivr(B), overrides={B: Override(listen_seconds=5, dtmf=digit)})
    assert list(events(hooks))[:2] == [f"o_{B}", f"n_{B}"]
    notify = json.loads(hooks[1].body)
    assert hooks[1].url == NOTIFY_URL
    assert (notify["dtmf"], notify["type"]) == ("null", "notify")
    assert int(hooks_total(hooks)) >= 5


def test_ivr_no_choice_without_notify_option_goes_to_the_call_webhook() -> None:
    menu = [{"dtmf_id": "3", "type": "transfer", "value": "74997090111"}]
    _, hooks = _call(ivr(B, menu=menu), overrides={B: Override(dtmf=None)})
    assert hooks[1].url == CALL_HOOK
    assert json.loads(hooks[1].body)["dtmf"] == "null"


def test_ivr_transfer_legs_precede_the_main_hangup() -> None:
    override = Override(listen_seconds=10, dtmf=3, transfer_seconds=30)
    _, hooks = _call(ivr(B), overrides={B: override})
    assert list(events(hooks)) == [
        f"o_{B}",
        "o_74997090111",
        "h_74997090111_16_30",
        f"h_{B}_16_{hooks_total(hooks)}",
    ]
    assert int(hooks_total(hooks)) > 40  # TTS plus the talk with the operator
    legs = [json.loads(hook.body) for hook in hooks[1:3]]
    for leg in legs:
        assert list(leg) == ["date_time", "id", "CallID", "dtmf", "type", "event"]
        assert (leg["dtmf"], leg["type"]) == ("3", "transfer")
    assert {hook.url for hook in hooks} == {CALL_HOOK}


def test_ivr_unanswered_call_has_no_menu_events() -> None:
    _, hooks = _call(ivr(B), overrides={B: Override(outcome="busy")})
    assert list(events(hooks)) == [f"o_{B}", f"h_{B}_17_0"]


def test_calls_endpoint_shows_the_chosen_outcome() -> None:
    async def scenario(h: Harness) -> None:
        await h.sb(informer(B))
        await h.settle()
        calls = (await h.client.get("/_sim/calls")).json()["calls"]
        assert calls[0]["b_number"] == B
        assert calls[0]["outcome"] == "absent"
        assert calls[0]["cause"] == 20
        assert calls[0]["ended"] is True

    run_sim(make_config(overrides={B: Override(outcome="absent")}), scenario)


def test_no_webhook_configured_still_ends_calls() -> None:
    async def scenario(h: Harness) -> None:
        await h.sb(informer(B))
        await h.settle()
        stats = await h.stats()
        assert stats["active_calls"] == 0
        assert stats["webhooks_sent"] == 0
        assert h.receiver.hooks == []

    run_sim(make_config(call_webhook_url=None), scenario)
