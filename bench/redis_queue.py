"""Redis memory per queued attempt: what an operator needs to size Redis.

Run from the repository root (starts its own throwaway ``redis-server`` on a free port, so the
numbers are not mixed with anything else's keys)::

    python bench/redis_queue.py [--messages 20000]

It declares the dial actors on a Dramatiq ``RedisBroker`` exactly as the workers do, sends
``--messages`` dial messages (as the scheduler does: one per queued attempt, its id the only
argument), and reads ``INFO memory`` ``used_memory`` before and after. The same for delayed
messages (a transient provider failure is re-sent with a delay: those wait in the delay queue).
Three runs; medians of bytes per message are printed, with the raw message size for scale.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

import redis

from dialer.dispatch.broker import build_broker
from dialer.settings import Settings

REPEATS = 3
FIRST_ATTEMPT_ID = 10_000_000
"""Attempt ids of a busy database: a realistic width for the one argument."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return server, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def bytes_per_message(url: str, count: int, *, delay_ms: int | None) -> tuple[float, int]:
    """Send ``count`` dial messages; return (bytes of Redis memory per message, the size of
    one message's payload in bytes)."""
    client = redis.Redis.from_url(url)
    client.flushall()
    broker = build_broker(Settings(redis_url=url))
    actor = broker.get_actor("place_call")
    before = used_memory(client)
    for attempt_id in range(FIRST_ATTEMPT_ID, FIRST_ATTEMPT_ID + count):
        actor.send_with_options(args=(attempt_id,), delay=delay_ms)
    after = used_memory(client)
    sample = next(key for key in client.keys("dramatiq:*.msgs"))
    field = client.hkeys(sample)[0]
    payload = len(client.hget(sample, field) or b"")
    broker.close()
    client.close()
    return (after - before) / count, payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server not found")
    with tempfile.TemporaryDirectory() as directory:
        server, url = start_redis(directory)
        try:
            for label, delay in (("ready", None), ("delayed", 60_000)):
                runs = [
                    bytes_per_message(url, args.messages, delay_ms=delay) for _ in range(REPEATS)
                ]
                per_message = statistics.median(run[0] for run in runs)
                print(
                    f"{label:8} {args.messages} messages: {per_message:.0f} bytes each "
                    f"(runs {', '.join(f'{run[0]:.0f}' for run in runs)}; "
                    f"payload {runs[0][1]} bytes)"
                )
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
