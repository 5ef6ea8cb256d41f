"""Running the simulator over real HTTP: ``SimulatorServer`` and ``serve``."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from dialer.simulator import Override, SimulatorServer, serve

from .harness import SB_AUTH, CollectorThread, free_port, informer, make_config, poll

B = "79103880489"


def test_server_places_calls_and_delivers_events_over_http() -> None:
    with CollectorThread() as collector:
        config = make_config(
            call_webhook_url=collector.url,
            allow_http_notify=True,
            overrides={B: Override(ring_seconds=1, listen_seconds=3)},
        )
        server = SimulatorServer(config)
        base_url = server.start()
        try:
            assert base_url.startswith("http://127.0.0.1:")
            answer = httpx.post(f"{base_url}/v1/sb", json=informer(B), auth=SB_AUTH)
            assert answer.json()["result"] == {"success": 1}
            poll(lambda: len(collector.received()) == 2)
        finally:
            server.stop()
        bodies = [json.loads(hook.body) for hook in collector.received()]
        assert [body["event"] for body in bodies] == [f"o_{B}", f"h_{B}_16_3"]
        assert {body["CallID"] for body in bodies} == {answer.json()["CallID"]}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/_sim/stats")


def test_start_twice_is_an_error_and_stop_is_idempotent() -> None:
    with SimulatorServer(make_config()) as server, pytest.raises(RuntimeError):
        server.start()
    server.stop()


def test_serve_in_the_running_loop() -> None:
    port = free_port()

    async def main() -> None:
        ready = asyncio.Event()
        task = asyncio.create_task(serve(make_config(), port=port, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
        async with httpx.AsyncClient() as client:
            stats = await client.get(f"http://127.0.0.1:{port}/_sim/stats")
            assert stats.json()["requests_total"] == 0
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
