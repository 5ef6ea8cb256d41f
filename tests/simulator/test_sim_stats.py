"""``/_sim/stats`` tells the truth: per-number counts, reused ids, peak rps, concurrency."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dialer.simulator import Faults, Override

from .harness import OUT_NUMBER, Harness, informer, make_config, run_sim

B1, B2 = "79103880489", "79103880490"


def test_per_number_counts_and_reused_mess_ids_include_lost_answers() -> None:
    faults = Faults(lost_response_rate=1.0, lost_response_hold_s=0.0)

    async def scenario(h: Harness) -> None:
        for _ in range(3):
            await h.sb(informer(B1, mess_id="A"))
        await h.sb(informer(B2, mess_id="B"))
        await h.sb(informer("bad", mess_id="C"))  # refused: not counted
        for tag in ("t1", "t1", "t2"):
            await h.sms(**{"from": OUT_NUMBER, "to": B2, "text": "x", "tag": tag})
        stats = await h.stats()
        assert stats["calls_by_number"] == {B1: 3, B2: 1}
        assert stats["reused_mess_ids"] == {"A": 3}
        assert stats["sms_by_number"] == {B2: 3}
        assert stats["reused_sms_tags"] == {"t1": 2}
        assert stats["lost_responses_total"] == 8
        assert stats["requests_total"] == 8
        assert stats["requests_by_api"] == {"sb": 5, "msapi": 3}

    run_sim(make_config(faults=faults), scenario)


def test_peak_rps_counts_a_known_burst() -> None:
    async def scenario(h: Harness) -> None:
        for n in range(7):
            await h.sb(informer(B1, mess_id=str(n)))
        for _ in range(3):
            await h.sms(**{"from": OUT_NUMBER, "to": B1, "text": "x"})
        await h.client.get("/_sim/stats")  # control endpoints are not counted
        stats = await h.stats()
        assert stats["peak_rps"] == 10
        assert stats["peak_rps_by_api"] == {"sb": 7, "msapi": 3}
        time.sleep(1.05)
        for n in range(2):
            await h.sb(informer(B1, mess_id=f"later{n}"))
        assert (await h.stats())["peak_rps"] == 10

    run_sim(make_config(sms_webhook_url=None, call_webhook_url=None), scenario)


def test_peak_rps_counts_concurrent_requests() -> None:
    async def scenario(h: Harness) -> None:
        bodies = [informer(B1, mess_id=str(n)) for n in range(12)]
        answers = await asyncio.gather(*(h.sb(body) for body in bodies))
        assert {answer.status_code for answer in answers} == {200}
        assert (await h.stats())["peak_rps"] == 12

    run_sim(make_config(call_webhook_url=None), scenario)


def test_active_and_peak_concurrent_calls() -> None:
    long_ring = Override(outcome="no_answer", ring_seconds=300)  # 0.3 s at speed 1000

    async def scenario(h: Harness) -> None:
        for n in range(5):
            await h.sb(informer(B1, mess_id=str(n)))
        first: Any = await h.stats()
        assert (first["active_calls"], first["peak_concurrent_calls"]) == (5, 5)
        await h.settle()
        last = await h.stats()
        assert (last["active_calls"], last["peak_concurrent_calls"]) == (0, 5)

    run_sim(make_config(overrides={B1: long_ring}), scenario)


def test_reset_forgets_everything_and_cancels_pending_events() -> None:
    long_ring = Override(outcome="no_answer", ring_seconds=60_000)

    async def scenario(h: Harness) -> None:
        await h.sb(informer(B1))
        assert h.sim.pending_tasks == 1
        await h.client.post("/_sim/reset")
        stats = await h.stats()
        assert stats["calls_by_number"] == {}
        assert (stats["active_calls"], stats["pending_tasks"]) == (0, 0)
        assert (await h.client.get("/_sim/calls")).json() == {"calls": []}

    run_sim(make_config(overrides={B1: long_ring}), scenario)
