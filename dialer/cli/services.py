"""Long-running services: scheduler, worker, collector, simulator, and the all-in-one run."""

from __future__ import annotations

from pathlib import Path

import click

from dialer.cli.app import App, configure_logging, ensure_can_listen, pass_app, port_option
from dialer.errors import UserError
from dialer.settings import MAKE_TOKEN


@click.command()
@pass_app
def scheduler(app: App) -> None:
    """Turn due contacts into queued attempts, within the limits, until SIGTERM.

    Also sweeps: expired dial leases become 'unknown', attempts with no final event after
    event_timeout are finished as 'unknown', lost queue messages are sent again. Needs
    DIALER_REDIS_URL (the distributed topology); two schedulers may run safely.
    """
    import signal
    import threading

    from dialer.dispatch.broker import build_broker, make_enqueue
    from dialer.outcomes.reconcile import build_reconciler
    from dialer.scheduler.loop import run_scheduler
    from dialer.scheduler.tick import tick_options

    configure_logging(app.settings.log_level)
    if not app.settings.redis_url:
        raise click.UsageError("set DIALER_REDIS_URL (or use `dialer run` for the embedded mode)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    broker = build_broker(app.settings)
    run_scheduler(
        app.engine,
        make_enqueue(broker),
        stop,
        options=tick_options(app.settings),
        reconcile=build_reconciler(app.settings),
    )


@click.command()
@click.option("--processes", "-p", default=1, show_default=True, help="Worker processes.")
@click.option(
    "--threads", "-t", default=16, show_default=True, help="Concurrent dials per process."
)
@pass_app
def worker(app: App, processes: int, threads: int) -> None:
    """Run Dramatiq workers that place calls and send SMS (DIALER_REDIS_URL broker).

    Rate limits hold across every worker process and host (Redis GCRA). SIGTERM finishes the
    dials in progress and exits.
    """
    from dialer.dispatch.worker import run_workers

    configure_logging(app.settings.log_level)
    if not app.settings.redis_url:
        raise click.UsageError("set DIALER_REDIS_URL (or use `dialer run` for the embedded mode)")
    app.engine  # noqa: B018 - check the schema before starting processes
    run_workers(app.settings, processes, threads)


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Webhook listener address.")
@port_option("--port", default=8080, help="Webhook listener port (the public one).")
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address of the internal listener for /healthz and /metrics.",
)
@port_option("--metrics-port", default=9108, help="Port of the internal listener; 0 turns it off.")
@pass_app
def collector(app: App, host: str, port: int, metrics_host: str, metrics_port: int) -> None:
    """Serve the webhook routes MTT posts events to (/hooks/{token}/mtt/call|ivr|sms) on
    --host/--port, and /healthz and /metrics on a separate internal listener
    (--metrics-host/--metrics-port; the public port answers 404 for them). Requires
    DIALER_WEBHOOK_TOKEN. SIGTERM finishes the requests in flight and applies what they
    stored before exiting."""
    from dialer.collector.server import run_collector

    configure_logging(app.settings.log_level, secrets=app.settings.log_secrets())
    if not app.settings.webhook_token.get_secret_value():
        raise UserError(
            f"set DIALER_WEBHOOK_TOKEN: webhook routes need a secret token (make one with: "
            f"{MAKE_TOKEN})"
        )
    ensure_can_listen("--port", host, port)
    if metrics_port:
        if (metrics_host, metrics_port) == (host, port) or (
            metrics_port == port and "0.0.0.0" in (host, metrics_host)
        ):
            raise UserError(f"--metrics-port {metrics_port}: the same port as --port")
        ensure_can_listen("--metrics-port", metrics_host, metrics_port)
    broker_ping = None
    if app.settings.redis_url:
        import redis

        client = redis.Redis.from_url(app.settings.redis_url, socket_timeout=2)

        def broker_ping() -> bool:
            return bool(client.ping())

    run_collector(
        app.settings,
        app.engine,
        host,
        port,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        broker_ping=broker_ping,
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@port_option("--port", default=8090, help="Port to listen on.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Simulator settings as JSON (outcome weights, overrides, faults, webhook URLs).",
)
@click.option("--speed", type=float, default=None, help="Time scale: 60 = a minute per second.")
@click.option("--call-webhook", default=None, help="URL the sb-api call events are posted to.")
@click.option("--sms-webhook", default=None, help="URL the msapi events are posted to.")
@pass_app
def simulator(
    app: App,
    host: str,
    port: int,
    config_path: Path | None,
    speed: float | None,
    call_webhook: str | None,
    sms_webhook: str | None,
) -> None:
    """Run the built-in MTT simulator: sb-api, msapi and the Telecom JSON-RPC, with the
    documented validation and error bodies, events posted back, faults on demand, and
    /_sim/stats for "no double dial, no burst" checks."""
    from dialer.sandbox import serve_simulator, simulator_config

    configure_logging(app.settings.log_level, secrets=app.settings.log_secrets())
    config = simulator_config(
        app.settings,
        config_path=config_path,
        speed=speed,
        call_webhook=call_webhook,
        sms_webhook=sms_webhook,
    )
    ensure_can_listen("--port", host, port)
    serve_simulator(config, host, port)


@click.command()
@click.argument("config_path", metavar="CONFIG.toml", type=click.Path(path_type=Path))
@click.argument("csv_path", metavar="FILE.csv", type=click.Path(path_type=Path))
@click.option("--sandbox", is_flag=True, help="Dial the built-in MTT simulator, not MTT.")
@click.option(
    "--speed",
    type=float,
    default=600.0,
    show_default=True,
    help="Sandbox only: time scale for simulated calls and retry delays.",
)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Export path.")
@click.option("--phone-column", default=None, help="Header of the phone column.")
@pass_app
def run(
    app: App,
    config_path: Path,
    csv_path: Path,
    sandbox: bool,
    speed: float,
    output: Path | None,
    phone_column: str | None,
) -> None:
    """Run a whole campaign in one process: SQLite, an in-process broker and worker, the
    scheduler and the collector (and with --sandbox the MTT simulator, with time compressed
    and the calling window always open). Shows progress; exits 0 when every contact is final,
    then prints a summary and writes the contacts export (default NAME-results.csv) and the
    HTML report beside it (NAME-results-report.html). Ctrl-C pauses; running again resumes."""
    from dialer.embedded import run_embedded

    code = run_embedded(
        app.settings,
        config_path,
        csv_path,
        sandbox=sandbox,
        speed=speed,
        output=output,
        phone_column=phone_column,
    )
    raise SystemExit(code)
