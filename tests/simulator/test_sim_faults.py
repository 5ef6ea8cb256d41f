"""Injected faults: request errors, rate limit, latency, lost answers and webhook faults."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from dialer.simulator import Faults, Override, SimulatorServer

from .harness import (
    MESSAGES,
    MSAPI_AUTH,
    OUT_NUMBER,
    SB_AUTH,
    CollectorThread,
    Harness,
    Receiver,
    events,
    free_port,
    informer,
    ivr,
    make_config,
    poll,
    run_sim,
)

B = "79103880489"
QUICK = Override(ring_seconds=1, listen_seconds=1)


def _faults(**values: Any) -> Faults:
    return Faults.model_validate(values)


def test_5xx_rate_one_refuses_every_request_unprocessed() -> None:
    statuses = {500, 502, 503, 504}

    async def scenario(h: Harness) -> None:
        seen = set()
        for n in range(12):
            seen.add((await h.sb(informer(B, mess_id=str(n)))).status_code)
        sms = await h.sms(**{"from": OUT_NUMBER, "to": B, "text": "x"})
        assert sms.status_code in statuses
        assert seen <= statuses
        assert len(seen) > 1
        stats = await h.stats()
        assert stats["injected_5xx_total"] == 13
        assert (stats["calls_by_number"], stats["sms_by_number"]) == ({}, {})
        assert h.sim.calls == {}

    run_sim(make_config(faults=_faults(error_5xx_rate=1.0)), scenario)


def test_429_rate_one() -> None:
    async def scenario(h: Harness) -> None:
        response = await h.sb(informer(B))
        assert response.status_code == 429
        assert "429 Too Many Requests" in response.text
        assert "retry-after" not in response.headers
        stats = await h.stats()
        assert (stats["injected_429_total"], stats["rate_limited_total"]) == (1, 0)
        assert (stats["calls_accepted"], stats["peak_rps"]) == (0, 0)

    run_sim(make_config(faults=_faults(error_429_rate=1.0)), scenario)


def test_rps_limit_refuses_the_excess_of_a_burst() -> None:
    async def scenario(h: Harness) -> None:
        codes = [(await h.sb(informer(B, mess_id=str(n)))).status_code for n in range(8)]
        assert codes == [200] * 5 + [429] * 3
        stats = await h.stats()
        assert (stats["peak_rps"], stats["rate_limited_total"]) == (5, 3)
        assert stats["calls_by_number"] == {B: 5}
        time.sleep(1.05)  # the window is real time
        assert (await h.sb(informer(B, mess_id="late"))).status_code == 200

    run_sim(make_config(rps_limit=5), scenario)


def test_latency_delays_answers() -> None:
    async def scenario(h: Harness) -> None:
        started = time.monotonic()
        await h.sb(informer(B))
        assert time.monotonic() - started >= 0.15

    run_sim(make_config(faults=_faults(latency_ms=(150, 160))), scenario)


def test_duplicate_rate_one_sends_every_event_twice() -> None:
    async def scenario(h: Harness) -> None:
        await h.sb(informer(B))
        await h.settle()
        assert list(events(h.receiver.hooks)) == [f"o_{B}"] * 2 + [f"h_{B}_16_1"] * 2
        stats = await h.stats()
        assert (stats["webhooks_sent"], stats["webhooks_duplicated"]) == (2, 2)

    config = make_config(overrides={B: QUICK}, faults=_faults(duplicate_rate=1.0))
    run_sim(config, scenario)


def test_drop_rate_one_sends_nothing_but_the_call_still_ends() -> None:
    async def scenario(h: Harness) -> None:
        await h.sb(informer(B))
        await h.sms(**{"from": OUT_NUMBER, "to": B, "text": "x"})
        await h.settle()
        assert h.receiver.hooks == []
        stats = await h.stats()
        assert (stats["webhooks_dropped"], stats["webhooks_sent"]) == (6, 0)
        assert stats["active_calls"] == 0

    config = make_config(overrides={B: QUICK}, faults=_faults(drop_rate=1.0))
    run_sim(config, scenario)


def test_reorder_shuffles_a_calls_events() -> None:
    transfer = Override(ring_seconds=1, listen_seconds=1, dtmf=3, transfer_seconds=5)
    natural = [f"o_{B}", "o_74997090111", "h_74997090111_16_5"]

    async def scenario(h: Harness) -> None:
        orders = []
        for n in range(6):
            h.receiver.hooks.clear()
            await h.sb(ivr(B, mess_id=str(n)))
            await h.settle()
            orders.append(list(events(h.receiver.hooks)))
        for order in orders:
            assert len(order) == 4
            assert set(natural) <= set(order)
        assert any(order[:3] != natural for order in orders)

    config = make_config(overrides={B: transfer}, faults=_faults(reorder_rate=1.0))
    run_sim(config, scenario)


def test_retries_5xx_and_refused_connections_then_delivers() -> None:
    receiver = Receiver(statuses=[503, 0, 500])

    async def scenario(h: Harness) -> None:
        await h.sb(informer(B))
        await h.settle()
        assert list(events(h.receiver.hooks)) == [f"o_{B}", f"h_{B}_16_1"]
        stats = await h.stats()
        assert (stats["webhook_retries"], stats["webhook_attempts"]) == (3, 5)
        assert (stats["webhooks_sent"], stats["webhooks_failed"]) == (2, 0)

    run_sim(make_config(overrides={B: QUICK}), scenario, receiver)


def test_gives_up_after_max_tries_and_never_retries_4xx() -> None:
    receiver = Receiver(statuses=[503, 503, 503, 404])

    async def scenario(h: Harness) -> None:
        await h.sb(informer(B))
        await h.settle()
        assert h.receiver.hooks == []
        stats = await h.stats()
        assert (stats["webhooks_failed"], stats["webhook_attempts"]) == (2, 4)

    faults = _faults(webhook_max_tries=3)
    run_sim(make_config(overrides={B: QUICK}, faults=faults), scenario, receiver)


def test_faults_change_at_runtime_and_reset_restores_them() -> None:
    async def scenario(h: Harness) -> None:
        changed = await h.client.post("/_sim/faults", json={"error_5xx_rate": 1.0})
        assert changed.json()["error_5xx_rate"] == 1.0
        assert (await h.sb(informer(B))).status_code >= 500
        invalid = await h.client.post("/_sim/faults", json={"drop_rate": 2})
        assert invalid.status_code == 422
        await h.client.post("/_sim/reset")
        assert (await h.client.get("/_sim/faults")).json()["error_5xx_rate"] == 0.0
        assert (await h.sb(informer(B))).status_code == 200

    run_sim(make_config(), scenario)


def test_lost_response_is_processed_but_the_client_times_out() -> None:
    with CollectorThread() as collector:
        config = make_config(
            call_webhook_url=collector.url,
            sms_webhook_url=collector.url,
            overrides={B: QUICK},
            faults=_faults(lost_response_rate=1.0, lost_response_hold_s=1.5),
        )
        with SimulatorServer(config) as server, httpx.Client(base_url=server.base_url or "") as c:
            with pytest.raises(httpx.ReadTimeout):
                c.post("/v1/sb", json=informer(B), auth=SB_AUTH, timeout=0.3)
            poll(lambda: len(_call_events(collector)) == 2)
            stats = c.get("/_sim/stats").json()
            assert stats["calls_by_number"] == {B: 1}
            assert stats["lost_responses_total"] == 1
            sms = {"from": OUT_NUMBER, "to": B, "text": "x"}
            with pytest.raises(httpx.ReadTimeout):
                c.post(MESSAGES, json=sms, auth=MSAPI_AUTH, timeout=0.3)
            assert c.get("/_sim/stats").json()["sms_by_number"] == {B: 1}
            poll(lambda: len(collector.received()) == 6)  # and the SMS's four statuses
        assert _call_events(collector) == [f"o_{B}", f"h_{B}_16_1"]


def _call_events(collector: CollectorThread) -> list[str]:
    hooks = collector.received()
    return [json.loads(h.body)["event"] for h in hooks if h.content_type == "application/json"]


def test_retries_while_the_receiver_is_down_then_delivers() -> None:
    port = free_port()
    config = make_config(
        speed=20.0,  # ten tries span about 2.8 s of real time
        call_webhook_url=f"http://127.0.0.1:{port}/hook",
        overrides={B: Override(ring_seconds=0, listen_seconds=1)},
    )
    with SimulatorServer(config) as server, httpx.Client(base_url=server.base_url or "") as c:
        assert c.post("/v1/sb", json=informer(B), auth=SB_AUTH).status_code == 200
        poll(lambda: c.get("/_sim/stats").json()["webhook_retries"] >= 2)
        with CollectorThread(port) as collector:
            poll(lambda: len(collector.received()) == 2)
            assert [json.loads(h.body)["event"] for h in collector.received()] == [
                f"o_{B}",
                f"h_{B}_16_1",
            ]
        stats = c.get("/_sim/stats").json()
        assert (stats["webhooks_sent"], stats["webhooks_failed"]) == (2, 0)
