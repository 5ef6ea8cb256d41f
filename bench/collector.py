"""Collector throughput: durable webhook intake vs a bare endpoint on the same server.

Run by hand: ``python bench/collector.py [--requests 5000] [--concurrency 32]
[--database-url postgresql://...]``. A child process serves the real collector app (uvicorn,
the collector's own settings, ``apply_inline=True``) plus a bench-only ``/bare`` route that
reads the body and answers 200; this process drives both with ``httpx.AsyncClient`` at fixed
concurrency, every event unique (nothing is a duplicate). Each measurement is repeated and the
medians are printed: events/s, p50/p99 latency (ms), and the ratio durable/bare (goal >= 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

TOKEN = "bench-token-0123456789"
EVENT = (
    '{{"date_time": "2019-03-29-11-37-20", "id": "{id}", "CallID": "{call_id}", '
    '"event": "h_79103880489_16_4"}}'
)


def serve(database_url: str, apply_inline: bool, port_out: Connection) -> None:
    """Child process: the collector app plus ``/bare``, on a free port sent to the parent."""
    import uvicorn
    from pydantic import SecretStr
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from dialer.collector.app import create_app
    from dialer.collector.server import uvicorn_config
    from dialer.db.engine import make_engine
    from dialer.db.migrate import upgrade
    from dialer.settings import Settings

    async def bare(request: Request) -> Response:
        await request.body()
        return Response(b'{"ok": true}', media_type="application/json")

    settings = Settings(webhook_token=SecretStr(TOKEN), database_url=database_url)
    engine = make_engine(database_url)
    upgrade(engine)
    app = create_app(settings, engine, apply_inline=apply_inline)
    app.router.routes.append(Route("/bare", bare, methods=["POST"]))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port_out.send(sock.getsockname()[1])
    uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=0)).run(sockets=[sock])


@dataclass(frozen=True)
class Run:
    events_per_second: float
    p50_ms: float
    p99_ms: float


async def drive(base_url: str, path: str, bodies: list[str], concurrency: int) -> Run:
    """Send every body to ``path`` from ``concurrency`` workers; fail on any non-200.

    One ``AsyncClient`` with one keep-alive connection per worker: a single client shared by
    32 concurrent requests spends more CPU in its own pool bookkeeping than the server does.
    """
    latencies: list[float] = []
    pending = iter(bodies)

    async def worker() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
            for body in pending:
                started = time.perf_counter()
                response = await client.post(path, content=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Run(len(bodies) / elapsed, cuts[49] * 1000, cuts[98] * 1000)


def _bodies(prefix: str, count: int) -> list[str]:
    return [EVENT.format(id=index + 1, call_id=f"{prefix}-{index}") for index in range(count)]


async def bench(base_url: str, requests: int, concurrency: int, repeats: int) -> None:
    hook = f"/hooks/{TOKEN}/mtt/call"
    run_id = secrets.token_hex(4)
    results: dict[str, list[Run]] = {"bare": [], "durable": []}
    for path in ("/bare", hook):  # warm-up: imports, thread pool, SQLite file
        await drive(base_url, path, _bodies(f"{run_id}-warm", 200), concurrency)
    for repeat in range(repeats):
        bodies = _bodies(f"{run_id}-{repeat}", requests)
        results["bare"].append(await drive(base_url, "/bare", bodies, concurrency))
        results["durable"].append(await drive(base_url, hook, bodies, concurrency))
        print(
            f"run {repeat + 1}: bare {results['bare'][-1].events_per_second:,.0f}/s, "
            f"durable {results['durable'][-1].events_per_second:,.0f}/s"
        )
    medians: dict[str, Run] = {}
    for name, runs in results.items():
        medians[name] = Run(
            statistics.median(r.events_per_second for r in runs),
            statistics.median(r.p50_ms for r in runs),
            statistics.median(r.p99_ms for r in runs),
        )
        run = medians[name]
        print(
            f"{name:8} {run.events_per_second:8,.0f} events/s   "
            f"p50 {run.p50_ms:6.2f} ms   p99 {run.p99_ms:6.2f} ms   (median of {repeats})"
        )
    ratio = medians["durable"].events_per_second / medians["bare"].events_per_second
    verdict = "ok" if ratio >= 0.5 else "BELOW GOAL"
    print(f"ratio durable/bare: {ratio:.2f} (goal >= 0.50: {verdict})")


def count_rows(database_url: str) -> int:
    from sqlalchemy import text

    from dialer.db.engine import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per run and path")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--store-only",
        action="store_true",
        help="apply_inline=False: measure storing alone (the scheduler's sweep applies later)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        context = multiprocessing.get_context("spawn")
        port_in, port_out = context.Pipe(duplex=False)
        server = context.Process(
            target=serve, args=(database_url, not args.store_only, port_out), daemon=True
        )
        server.start()
        try:
            if not port_in.poll(60):
                raise SystemExit("collector did not start")
            base_url = f"http://127.0.0.1:{port_in.recv()}"
            backend = database_url.split(":", 1)[0]
            print(
                f"collector at {base_url} ({backend}), {args.requests} requests x "
                f"{args.repeats} runs per path, concurrency {args.concurrency}, "
                f"apply_inline={not args.store_only}"
            )
            before = count_rows(database_url)
            asyncio.run(bench(base_url, args.requests, args.concurrency, args.repeats))
            stored = count_rows(database_url) - before
            print(
                f"inbox rows stored: {stored:,} (expected {args.requests * args.repeats + 200:,})"
            )
        finally:
            server.terminate()
            server.join(15)


if __name__ == "__main__":
    main()
